import CleanRoomCrypto
import Testing
import _CleanRoomTestSupport

@testable import CleanRoomProtocol

/// A session reading its rows in batches learns exactly what it learns from the whole table,
/// including which rows (by their references) matched.
@Suite struct RowSourceTests {
    /// A table served in batches of `size` rows, with references offset by 1,000 so that they are
    /// clearly not positions.
    struct Batches: RowSource {
        let table: PartyTable
        let size: Int
        var next = 0
        var columns: [String] { table.columns }
        var expectedRows: Int? { nil }
        func expectedBytes(column c: Int) -> Int? { nil }

        mutating func nextBatch() throws -> PartyTable? {
            guard next < table.rows.count else { return nil }
            let end = min(next + size, table.rows.count)
            defer { next = end }
            return PartyTable(columns: table.columns, rows: Array(table.rows[next..<end]), rowNumbers: (next..<end).map { 1000 + $0 })
        }
    }

    @Test(arguments: ["overlap", "shared-customers", "spend-by-campaign"])
    func batchedSourceLearnsWhatTheWholeTableLearns(analysis: String) throws {
        let d = Dataset.make(advertiserOnly: 7, publisherOnly: 5, shared: 23)
        let c = try Fixtures.collaboration()
        let whole = try InMemorySession.run(
            try PartySession(collaboration: c, analysis: analysis, party: "advertiser", input: d.advertiser),
            try PartySession(collaboration: c, analysis: analysis, party: "publisher", input: d.publisher))
        var ad = Batches(table: d.advertiser, size: 4)
        var pub = Batches(table: d.publisher, size: 9)
        let batched = try InMemorySession.run(
            try PartySession(collaboration: c, analysis: analysis, party: "advertiser", source: &ad),
            try PartySession(collaboration: c, analysis: analysis, party: "publisher", source: &pub))
        for (w, b) in [(whole.0, batched.0), (whole.1, batched.1)] {
            #expect(b.intersectionSize == w.intersectionSize)
            #expect(b.inputRows == w.inputRows && b.uniqueIdentifiers == w.uniqueIdentifiers)
            #expect(b.groups == w.groups)
            // Matched rows are reported by the source's references.
            #expect(b.matchedRows == w.matchedRows?.map { 1000 + $0 - 1 })
        }
        #expect(analysis != "shared-customers" || (batched.0.matchedRows?.count ?? 0) > 0)
    }
}
