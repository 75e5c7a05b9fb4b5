import CleanRoomCrypto
import Testing
import _CleanRoomTestSupport

@testable import CleanRoomProtocol

@Suite struct PolicyTests {
    @Test func overlapBelowThresholdIsSuppressedEverywhere() throws {
        let d = Dataset.make(advertiserOnly: 10, publisherOnly: 10, shared: 4)
        let c = try Fixtures.collaboration(Fixtures.yaml(minIntersection: 5))
        for analysis in ["overlap", "shared-customers", "spend-by-campaign"] {
            let (ad, pub) = try runSession(c, analysis, d)
            for r in [ad, pub] {
                #expect(r.intersectionSize == .suppressed(below: 5), "\(analysis) \(r.party)")
                #expect(r.matchedRows == nil && r.groups == nil)
                #expect(r.intersectionSize?.description == "suppressed (below threshold 5)")
            }
        }
        // At the threshold it is revealed.
        let (ad, _) = try runSession(c, "overlap", Dataset.make(advertiserOnly: 1, publisherOnly: 1, shared: 5))
        #expect(ad.intersectionSize == .revealed(5))
    }

    /// A group that P1's own file already holds fewer than min_group_size identifiers of never
    /// enters the session; one that is large in P1's file but small in the overlap is suppressed
    /// after matching. Either way it is not released, and the two are counted apart.
    @Test(arguments: [false, true])
    func smallGroupsAreSuppressedBeforeAnythingIsSent(smallInOwnFile: Bool) throws {
        // Sizes are controlled by putting every shared customer in "big", three in "small", and
        // (unless the group is to be small in P1's own file) both publisher-only customers too.
        var d = Dataset.make(advertiserOnly: 2, publisherOnly: 2, shared: 14, campaigns: ["big"])
        for i in 0..<3 { d.publisher.rows[i][1] = "small" }
        if !smallInOwnFile { for i in 14..<16 { d.publisher.rows[i][1] = "small" } }
        let c = try Fixtures.collaboration(Fixtures.yaml(minGroup: 4))
        let (ad, pub) = try runSession(c, "spend-by-campaign", d)
        let expected = try d.answer(c, "spend-by-campaign")
        #expect(Array(expected.groups.keys) == ["big"] && expected.groups["big"]?.count == 11)
        for r in [ad, pub] {
            #expect(r.groups?.map(\.label) == ["big"], "\(r.party)")
            #expect(r.groups?.first?.count == 11)
            #expect(ReferenceAnswer.from(r).groups == expected.groups, "\(r.party)")
        }
        #expect(pub.suppressedGroups == (smallInOwnFile ? 0 : 1))
        #expect(pub.ownGroupsBelowMinimum == (smallInOwnFile ? 1 : 0))
        // P1 knows the overlap; P2 is not told it, since 14 − 11 would reveal the small group.
        #expect(pub.intersectionSize == .revealed(14))
        #expect(ad.intersectionSize == nil)
    }

    @Test func totalIsSentWhenNoGroupIsSuppressed() throws {
        let d = Dataset.make(advertiserOnly: 2, publisherOnly: 2, shared: 9, campaigns: ["only"])
        let (ad, pub) = try runSession(try Fixtures.collaboration(Fixtures.yaml(minGroup: 2)), "spend-by-campaign", d)
        #expect(ad.intersectionSize == .revealed(9) && pub.intersectionSize == .revealed(9))
    }

    /// All groups below their threshold after matching: the session completes with no groups.
    @Test func allGroupsBelowTheirThresholdStillCompletes() throws {
        let d = Dataset.make(advertiserOnly: 2, publisherOnly: 20, shared: 12, campaigns: ["a", "b"])
        let (ad, pub) = try runSession(try Fixtures.collaboration(Fixtures.yaml(minGroup: 10)), "spend-by-campaign", d)
        let expected = try d.answer(try Fixtures.collaboration(Fixtures.yaml(minGroup: 10)), "spend-by-campaign")
        #expect(expected.groups.isEmpty, "the dataset must leave every group below 10 in the overlap")
        #expect(ad.groups == [] && pub.groups == [])
        #expect(pub.suppressedGroups == 2 && pub.ownGroupsBelowMinimum == 0 && pub.intersectionSize == .revealed(12))
        #expect(ad.intersectionSize == nil)
    }

    /// No group of P1's own file is large enough: P1 refuses before connecting (a session could
    /// report nothing, and a masked one would carry no entry).
    @Test func noOwnGroupLargeEnoughIsRefusedBeforeTheSession() throws {
        let d = Dataset.make(advertiserOnly: 2, publisherOnly: 2, shared: 12)
        let c = try Fixtures.collaboration(Fixtures.yaml(minGroup: 50))
        #expect(throws: CleanRoomProtocolError.noGroupLargeEnough(party: "publisher", minGroupSize: 50)) {
            try PartySession(collaboration: c, analysis: "spend-by-campaign", party: "publisher", input: d.publisher)
        }
    }

    @Test func valuesAtTheirBoundsSumExactly() throws {
        // Every advertiser row at max (10000.00, 100) or min (-50.00, 0), duplicates included.
        var d = Dataset.make(advertiserOnly: 0, publisherOnly: 0, shared: 20, campaigns: ["c"], duplicates: 20)
        var expectedCents = 0, expectedQty = 0
        for i in 0..<d.advertiser.rows.count {
            let high = i % 2 == 0
            d.advertiser.rows[i][1] = high ? "10000.00" : "-50"
            d.advertiser.rows[i][2] = high ? "100" : "0"
            expectedCents += high ? 1_000_000 : -5000
            expectedQty += high ? 100 : 0
        }
        let c = try Fixtures.collaboration(Fixtures.yaml(maxSet: 40))
        let (ad, _) = try runSession(c, "spend-by-campaign", d)
        let g = try #require(ad.groups?.first)
        #expect(g.sums?["purchase_amount"] == DecimalString.cents(expectedCents))
        #expect(g.sums?["quantity"] == String(expectedQty))
        #expect(g.valueRows == 40 && g.count == 20)
        #expect(g.means?["quantity"] == DecimalFormat.divide(BigInteger(expectedQty), by: 20, scale: 0, extraDigits: 2))
    }

    @Test func badRowsAreReportedWithTheirRowNumber() throws {
        let c = try Fixtures.collaboration()
        var t = PartyTable(
            columns: ["email", "purchase_amount", "quantity"], rows: [["a@x.com", "1.00", "1"], ["  ", "2.00", "1"]], rowNumbers: [2, 3])
        #expect(throws: CleanRoomProtocolError.invalidRow(row: 3, column: "email", problem: "identifier is empty")) {
            try PartySession(collaboration: c, analysis: "spend-by-campaign", party: "advertiser", input: t)
        }
        t.rows[1] = ["b@x.com", "12,5x", "1"]
        #expect(
            throws: CleanRoomProtocolError.invalidRow(row: 3, column: "purchase_amount", problem: "'12,5x' is not a decimal with scale 2")
        ) {
            try PartySession(collaboration: c, analysis: "spend-by-campaign", party: "advertiser", input: t)
        }
        t.rows[1] = ["b@x.com", "20000.00", "1"]
        #expect(throws: CleanRoomProtocolError.self) {
            try PartySession(collaboration: c, analysis: "spend-by-campaign", party: "advertiser", input: t)
        }
        t.rows[1] = ["b@x.com", "1.00"]
        #expect(throws: CleanRoomProtocolError.self) {
            try PartySession(collaboration: c, analysis: "spend-by-campaign", party: "advertiser", input: t)
        }
        let noColumn = PartyTable(columns: ["mail"], rows: [["a@x.com"]])
        #expect(throws: CleanRoomProtocolError.missingColumn(column: "email", available: ["mail"])) {
            try PartySession(collaboration: c, analysis: "overlap", party: "advertiser", input: noColumn)
        }
        let conflicting = PartyTable(columns: ["email", "campaign"], rows: [["a@x.com", "one"], ["A@x.com", "two"]])
        #expect(throws: CleanRoomProtocolError.self) {
            try PartySession(collaboration: c, analysis: "spend-by-campaign", party: "publisher", input: conflicting)
        }
    }

    @Test func skipPolicyCountsSkippedRows() throws {
        let text = Fixtures.yaml().replacingOccurrences(of: "    kind: cardinality\n", with: "    kind: cardinality\n    bad_rows: skip\n")
        let c = try Fixtures.collaboration(text)
        var d = Dataset.make(advertiserOnly: 3, publisherOnly: 3, shared: 5)
        d.advertiser.rows.append(["not-an-email", "1.00", "1"])
        d.advertiser.rows.append(["", "1.00", "1"])
        d.advertiser.rowNumbers += [99, 100]
        let (ad, _) = try runSession(c, "overlap", d)
        #expect(ad.skippedRows == 2 && ad.inputRows == 10 && ad.uniqueIdentifiers == 8)
        #expect(ad.intersectionSize == .revealed(5))
    }

    @Test func ownSetOutsidePolicyIsRefusedLocally() throws {
        let c = try Fixtures.collaboration(Fixtures.yaml(minSet: 10))
        let d = Dataset.make(advertiserOnly: 2, publisherOnly: 20, shared: 3)
        #expect(throws: CleanRoomProtocolError.setSizeOutOfPolicy(party: "advertiser", size: 5, min: 10, max: 10_000)) {
            try PartySession(collaboration: c, analysis: "overlap", party: "advertiser", input: d.advertiser)
        }
    }

    @Test func duplicatesAreMergedAndEmptySetIsRefused() throws {
        let c = try Fixtures.collaboration()
        let t = PartyTable(columns: ["email"], rows: [["a@x.com"], ["A@X.com "], ["b@x.com"]])
        let s = try PartySession(collaboration: c, analysis: "overlap", party: "publisher", input: t)
        #expect(s.prepared.identifiers.count == 2 && s.prepared.rows(of: 0) == [0, 1])
        #expect(throws: CleanRoomProtocolError.setSizeOutOfPolicy(party: "publisher", size: 0, min: 1, max: 10_000)) {
            try PartySession(collaboration: c, analysis: "overlap", party: "publisher", input: PartyTable(columns: ["email"], rows: []))
        }
    }

    @Test func unknownAnalysisAndPartyAreRefused() throws {
        let c = try Fixtures.collaboration()
        let t = PartyTable(columns: ["email"], rows: [["a@x.com"]])
        #expect(throws: CleanRoomProtocolError.self) { try PartySession(collaboration: c, analysis: "nope", party: "publisher", input: t) }
        #expect(throws: CleanRoomProtocolError.unknownParty(name: "broker")) {
            try PartySession(collaboration: c, analysis: "overlap", party: "broker", input: t)
        }
    }
}

/// The open-addressing index behind duplicate detection while preparing a set.
@Suite struct IdentifierIndexTests {
    @Test func findsEveryIdentifierAcrossGrowth() throws {
        var store = IdentifierStore()
        var index = IdentifierIndex(expected: 1)  // forces several doublings
        let ids = (0..<5_000).map { Array("user\($0)@example.com".utf8) }
        for id in ids {
            #expect(index.find(id, in: store) == nil)
            try store.append(id)
            index.insert(id, at: store.count - 1, in: store)
        }
        for (i, id) in ids.enumerated() { #expect(index.find(id, in: store) == i) }
        #expect(index.find(Array("nobody@example.com".utf8), in: store) == nil)
    }
}
