import CleanRoomCSV
import CleanRoomCrypto
import CleanRoomProtocol
import Foundation
import Testing

@testable import CleanRoomRunner

/// `kind: enrichment` between two real `cleanroom run` processes over loopback TLS: the receiver's
/// CSV comes back with the sender's allowed columns appended, row for row as the plaintext answer
/// says, and the sender learns only the receiver's set size.
@Suite(.serialized) struct EnrichmentTwoProcessTests {
    /// The receiver's file: duplicates (another case, spaces), UTF-8, fields that need quoting, a
    /// CRLF line ending, and rows the sender does not have.
    static let advertiserCSV = """
        email,name,note\r
        alice@example.com,Alice,"likes ""quotes"", commas"\r
        bob@example.com,Bob,\r
        "  ALICE@example.com ",Alice again,"two
        lines"\r
        zoë@exämple.de,Zoë,ünïcödé\r
        carol@example.com,Carol,max length\r
        dave@example.com,Dave,empty cells\r
        erin@example.com,Erin,not at the sender\r
        nobody@example.com,No one,not at the sender\r

        """
    /// The sender's file: a duplicate (the first row wins), UTF-8, an empty cell, cells at the
    /// maximum width (14 and 8 bytes), a cell with a comma, rows the receiver does not have, and a
    /// column the receiver may not learn.
    static let publisherCSV = """
        email,segment,tier,internal_score
        alice@example.com,autos,gold,91
        bob@example.com,,silver,12
        alice@example.com,travel,bronze,50
        zoë@exämple.de,möbel·küche,✓,77
        carol@example.com,12345678901234,"1,345678",3
        dave@example.com,,,0
        frank@example.com,secret-seg,platinum,99
        grace@example.com,other,gold,98

        """

    @Test func receiverGetsItsCSVWithTheAllowedColumnsAppended() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cleanroom-enrich-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }
        try Self.advertiserCSV.write(toFile: path("advertiser.csv"), atomically: true, encoding: .utf8)
        try Self.publisherCSV.write(toFile: path("publisher.csv"), atomically: true, encoding: .utf8)
        let ad = try Identity.generate(party: "advertiser", directory: path("keys"))
        let pub = try Identity.generate(party: "publisher", directory: path("keys"))
        let yaml = CollaborationTemplate(
            name: "enrichment-it",
            parties: [
                .init(name: "advertiser", certificateSHA256: ad, listen: "127.0.0.1:\(try freeLoopbackPort())"),
                .init(name: "publisher", certificateSHA256: pub),
            ],
            analyses: [
                .enrichment(
                    "segment-for-matches", receiver: "advertiser",
                    columns: [.init(name: "segment", maxBytes: 14), .init(name: "tier", maxBytes: 8)], minIntersection: 1,
                    setSize: 1...100)
            ]
        ).yaml
        try yaml.write(toFile: path("c.yaml"), atomically: true, encoding: .utf8)
        func run(_ party: String, _ extra: [String]) throws -> TwoProcessTests.Party {
            try TwoProcessTests.Party(
                [
                    "run", path("c.yaml"), "--as", party, "--data", path("\(party).csv"), "--analysis", "segment-for-matches",
                    "--out", path("\(party).json"), "--identity", path("keys"), "--audit", path("audit.jsonl"),
                    "--ledger", path("\(party).ledger.sqlite"), "--connect-timeout", "30", "--idle-timeout", "30",
                ] + extra)
        }
        let receiver = try run("advertiser", ["--enriched-out", path("enriched.csv")])
        let sender = try run("publisher", [])
        let (receiverStatus, senderStatus) = (receiver.wait(), sender.wait())
        #expect(receiverStatus == 0, "advertiser: \(receiver.text)")
        #expect(senderStatus == 0, "publisher: \(sender.text)")
        guard receiverStatus == 0, senderStatus == 0 else { return }

        // Every row and cell of the receiver's file, in order, with the two columns appended exactly
        // where the plaintext answer says (empty elsewhere).
        let original = try CSVReader.readAll(path: path("advertiser.csv"))
        let enriched = try CSVReader.readAll(path: path("enriched.csv"))
        let expected = try ReferenceAnswer.compute(
            try Collaboration(yaml: yaml), analysis: "segment-for-matches",
            tables: [
                "advertiser": try CSVReader.read(path: path("advertiser.csv"), columns: ["email"]),
                "publisher": try CSVReader.read(path: path("publisher.csv"), columns: ["email", "segment", "tier"]),
            ])
        let answer = try #require(expected.enrichedRows)
        #expect(answer.count == 6)
        #expect(enriched.columns == original.columns + ["segment", "tier"])
        #expect(enriched.rows.count == original.rows.count)
        for (r, row) in original.rows.enumerated() {
            #expect(Array(enriched.rows[r].prefix(row.count)) == row)
            #expect(Array(enriched.rows[r].suffix(2)) == (answer[original.rowNumber(r)] ?? ["", ""]), "row \(original.rowNumber(r))")
        }
        #expect(enriched.rows[4].suffix(2) == ["12345678901234", "1,345678"])  // maximum widths, a comma
        #expect(enriched.rows[3].suffix(2) == ["möbel·küche", "✓"])
        #expect(enriched.rows[6].suffix(2) == ["", ""] && enriched.rows[7].suffix(2) == ["", ""])
        #expect(!String(decoding: try Data(contentsOf: URL(fileURLWithPath: path("enriched.csv"))), as: UTF8.self).contains("secret-seg"))

        // The sender's result: the receiver's set size and nothing else.
        let senderResult = try JSONDecoder().decode(
            ResultDocument.self, from: Data(contentsOf: URL(fileURLWithPath: path("publisher.json"))))
        #expect(senderResult.result.peerUniqueIdentifiers == 7)
        #expect(senderResult.result.intersectionSize == nil && senderResult.result.enrichment == nil)
        let receiverResult = try JSONDecoder().decode(
            ResultDocument.self, from: Data(contentsOf: URL(fileURLWithPath: path("advertiser.json"))))
        #expect(receiverResult.result.intersectionSize == .revealed(5))
        #expect(receiverResult.result.enrichment?.rows.count == 6)
    }

    @Test(arguments: ["missing-directory/enriched.csv", "advertiser.csv", "enrich-advertiser.json", "advertiser.ledger.sqlite"])
    func theEnrichedOutputIsCheckedBeforeTheSession(target: String) throws {
        // A path that cannot be written (a missing directory) or names a file the run uses (its
        // input, --out, the ledger) is refused
        // before the party listens: no session is spent, and the ledger counts none.
        let w = try TwoProcessTests.Workspace(rows: 50)
        defer { w.remove() }
        let receiver = try TwoProcessTests.party(w, "advertiser", analysis: "enrich", extra: ["--enriched-out", w.path(target)])
        let status = receiver.wait()
        #expect(status != 0)
        #expect(receiver.text.contains("--enriched-out"), "\(receiver.text)")
        #expect(!receiver.text.contains("connect") && !receiver.text.contains("listen"), "\(receiver.text)")
        #expect(try String(contentsOfFile: w.path("advertiser.csv"), encoding: .utf8).hasPrefix("email"))
        let ledger = try PartyLedger(path: w.path("advertiser.ledger.sqlite"))
        #expect(try ledger.tallies().isEmpty)
    }
}
