import Testing

@testable import CleanRoomProtocol
@testable import CleanRoomRunner

/// The printed summary of a result: noisy figures come with their mechanism and intervals.
@Suite struct ResultOutputTests {
    static func result() -> SessionResult {
        var r = SessionResult(
            collaborationDigest: String(repeating: "ab", count: 32), analysis: "spend", kind: .intersectionSum, party: "publisher",
            peer: "advertiser", role: .p1, inputRows: 10, skippedRows: 0, uniqueIdentifiers: 10, peerUniqueIdentifiers: 12)
        r.groups = [GroupResult(label: "spring", count: 40, valueRows: 41, sums: ["purchase_amount": "1234.56"], means: nil)]
        return r
    }

    @Test func aNoisyResultSaysHowNoisyEachFigureIs() {
        var r = Self.result()
        r.privacy = NoiseReport(
            mechanism: "laplace", epsilon: "4", delta: "1e-09", scale: "3/2", interval95: 4, threshold: 33, maxRowsPerIdentifier: 1,
            sums: ["purchase_amount": .init(scale: "1250000", peerScale: nil, interval95: "14755.52")])
        r.rowsOverContributionBound = 3
        let text = ResultOutput.table(r, collaboration: "c", valueColumns: ["purchase_amount"])
        #expect(text.contains("discrete Laplace, scale 3/2 on counts, ε = 4, δ = 1e-09"), "\(text)")
        #expect(text.contains("within ± 4 of the exact one") && text.contains("from a noisy count of 33"), "\(text)")
        #expect(text.contains("purchase_amount sums: ± 14755.52 (95%)"), "\(text)")
        #expect(text.contains("rows left out   3"), "\(text)")
    }

    @Test func anExactResultSaysNothingAboutNoise() {
        let text = ResultOutput.table(Self.result(), collaboration: "c", valueColumns: ["purchase_amount"])
        #expect(!text.contains("privacy") && !text.contains("±"), "\(text)")
    }
}
