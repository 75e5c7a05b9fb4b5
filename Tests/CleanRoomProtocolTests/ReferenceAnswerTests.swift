import CleanRoomCrypto
import Testing
import _CleanRoomTestSupport

@testable import CleanRoomProtocol

/// The plaintext oracle the session tests compare with, checked once against answers worked out by
/// hand: normalisation, duplicates, label trimming, negative sums and both thresholds.
@Suite struct ReferenceAnswerTests {
    static let tables = [
        "advertiser": PartyTable(
            columns: ["email", "purchase_amount", "quantity"],
            rows: [
                ["Alice@Example.com ", "10.50", "1"], ["alice@example.com", "-0.25", "2"], ["bob@example.com", "-12.00", "0"],
                ["carol@example.com", "7.05", "4"], ["nobody@example.org", "99.00", "9"],
            ]),
        "publisher": PartyTable(
            columns: ["email", "campaign"],
            rows: [
                ["ALICE@example.com", "spring"], ["bob@example.com", "spring "], ["carol@example.com", "summer"],
                ["dave@example.net", "summer"],
            ]),
    ]

    @Test func handWorkedAnswers() throws {
        let c = try Fixtures.collaboration()
        #expect(
            try ReferenceAnswer.compute(c, analysis: "overlap", tables: Self.tables)
                == ReferenceAnswer(intersectionSize: .revealed(3), groups: [:]))
        // spring: alice (two rows) and bob; summer: carol.
        let spring = ReferenceAnswer.Group(count: 2, valueRows: 3, sums: ["purchase_amount": "-1.75", "quantity": "3"])
        let summer = ReferenceAnswer.Group(count: 1, valueRows: 1, sums: ["purchase_amount": "7.05", "quantity": "4"])
        #expect(
            try ReferenceAnswer.compute(c, analysis: "spend-by-campaign", tables: Self.tables)
                == ReferenceAnswer(intersectionSize: .revealed(3), groups: ["spring": spring, "summer": summer]))
        // Groups below min_group_size are left out; an overlap below min_intersection reveals nothing.
        let c2 = try Fixtures.collaboration(Fixtures.yaml(minGroup: 2))
        #expect(try ReferenceAnswer.compute(c2, analysis: "spend-by-campaign", tables: Self.tables).groups == ["spring": spring])
        let c4 = try Fixtures.collaboration(Fixtures.yaml(minIntersection: 4))
        #expect(
            try ReferenceAnswer.compute(c4, analysis: "spend-by-campaign", tables: Self.tables)
                == ReferenceAnswer(intersectionSize: .suppressed(below: 4), groups: [:]))
    }

    @Test func aSessionOnTheHandWorkedTablesLearnsTheSameAnswer() throws {
        let c = try Fixtures.collaboration()
        let ad = try PartySession(collaboration: c, analysis: "spend-by-campaign", party: "advertiser", input: Self.tables["advertiser"]!)
        let pub = try PartySession(collaboration: c, analysis: "spend-by-campaign", party: "publisher", input: Self.tables["publisher"]!)
        let (ra, rp, _) = try InMemorySession.run(ad, pub)
        let expected = try ReferenceAnswer.compute(c, analysis: "spend-by-campaign", tables: Self.tables)
        #expect(ReferenceAnswer.from(ra) == expected)
        #expect(ReferenceAnswer.from(rp) == expected)
    }
}
