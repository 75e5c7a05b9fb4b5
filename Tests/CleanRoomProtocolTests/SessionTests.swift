import CleanRoomCrypto
import Testing
import _CleanRoomTestSupport

@testable import CleanRoomProtocol

@Suite struct SessionTests {
    @Test(arguments: [(0, 0), (1, 0), (20, 7), (0, 13)])
    func cardinalityMatchesPlaintextAnswer(shared: Int, extra: Int) throws {
        let d = Dataset.make(advertiserOnly: 10 + extra, publisherOnly: 5, shared: shared)
        let (ad, pub) = try runSession(try Fixtures.collaboration(Fixtures.yaml(minIntersection: 1)), "overlap", d)
        let expected: RevealedCount = shared >= 1 ? .revealed(shared) : .suppressed(below: 1)
        #expect(ad.intersectionSize == expected)
        #expect(pub.intersectionSize == expected)
    }

    @Test func cardinalityWhenAllElementsOverlap() throws {
        let d = Dataset.make(advertiserOnly: 0, publisherOnly: 0, shared: 40)
        let (ad, pub) = try runSession(try Fixtures.collaboration(), "overlap", d, batchSize: 7)
        #expect(ad.intersectionSize == .revealed(40) && pub.intersectionSize == .revealed(40))
    }

    @Test func intersectionReportsEachPartysOwnRows() throws {
        let d = Dataset.make(advertiserOnly: 9, publisherOnly: 11, shared: 15, duplicates: 3)
        let (ad, pub) = try runSession(try Fixtures.collaboration(), "shared-customers", d, batchSize: 4)
        let adExpected = d.advertiser.rows.enumerated().filter { $0.element[0].lowercased().contains("shared") }.map { $0.offset + 1 }
        let pubExpected = d.publisher.rows.enumerated().filter { $0.element[0].lowercased().contains("shared") }.map { $0.offset + 1 }
        #expect(ad.matchedRows == adExpected)
        #expect(pub.matchedRows == pubExpected)
        #expect(ad.intersectionSize == .revealed(15))
    }

    @Test func groupedSumMatchesPlaintextAnswer() throws {
        let d = Dataset.make(advertiserOnly: 12, publisherOnly: 9, shared: 30, duplicates: 4)
        let c = try Fixtures.collaboration(Fixtures.yaml(minGroup: 1))
        let (ad, pub) = try runSession(c, "spend-by-campaign", d, batchSize: 8)
        let expected = try d.answer(c, "spend-by-campaign")
        // The oracle sees each shared customer once, and the advertiser's 4 duplicates as extra rows.
        #expect(expected.intersectionSize == .revealed(30))
        #expect(expected.groups.values.map(\.count).reduce(0, +) == 30)
        #expect(expected.groups.values.map(\.valueRows).reduce(0, +) == 34)
        for result in [ad, pub] {
            let groups = try #require(result.groups)
            #expect(groups.count == expected.groups.count)
            for g in groups {
                let e = try #require(expected.groups[g.label ?? ""])
                #expect(g.count == e.count)
                #expect(g.valueRows == e.valueRows)
                #expect(g.sums == e.sums)
            }
            #expect(ReferenceAnswer.from(result) == expected)
            #expect(result.intersectionSize == .revealed(30))
        }
        #expect(pub.suppressedGroups == 0)
    }
}
