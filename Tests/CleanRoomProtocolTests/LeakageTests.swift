import CleanRoomCrypto
import Testing
import _CleanRoomTestSupport

@testable import CleanRoomProtocol

/// What a party must NOT learn, checked on the bytes it actually receives.
@Suite struct LeakageTests {
    /// Records of `type` sent in the transcript, each `width` bytes, in order.
    static func records(_ transcript: [TranscriptEntry], _ type: MessageType, width: Int) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        for e in transcript {
            var d = FrameDecoder()
            d.append(e.bytes)
            guard let f = try d.next(), f.type == type else { continue }
            let batch = try ElementBatch.decode(f, width: width, remaining: .max)
            for k in 0..<batch.count { out.append(Array(batch.records[(width * k)..<(width * k + width)])) }
        }
        return out
    }

    /// The permutation P2 applied to P1's list: position in P2_REBLINDED of each P1_ELEMENTS record.
    static func reblindingPermutation(analysis: String, shared: Int) throws -> [Int] {
        let d = Dataset.make(advertiserOnly: 0, publisherOnly: 0, shared: shared)
        let c = try Fixtures.collaboration()
        let ad = try PartySession(collaboration: c, analysis: analysis, party: "advertiser", input: d.advertiser, batchSize: 8)
        let pub = try PartySession(collaboration: c, analysis: analysis, party: "publisher", input: d.publisher, batchSize: 8)
        let (p2, p1) = ad.role == .p2 ? (ad, pub) : (pub, ad)
        let p2Key = try #require(p2.blinder.currentKey)  // the session drops its key when it ends
        let (_, _, transcript) = try InMemorySession.run(ad, pub)
        #expect(p1.role == .p1)
        let sent = try records(transcript, .p1Elements, width: 32)
        let back = try records(transcript, .p2Reblinded, width: 32)
        #expect(sent.count == shared && back.count == shared)
        return try sent.map { e in try #require(back.firstIndex(of: try p2Key.blind(e))) }
    }

    @Test func cardinalityReturnsP1sListShuffled() throws {
        let permutation = try Self.reblindingPermutation(analysis: "overlap", shared: 40)
        #expect(Set(permutation).count == 40)
        #expect(permutation != Array(0..<40), "P2 kept P1's order: P1 could tell which of its rows match")
    }

    @Test func intersectionKeepsP1sOrderSoP1LearnsItsRows() throws {
        // The control: in PSI, P1 is meant to learn which rows match, so the order is kept.
        #expect(try Self.reblindingPermutation(analysis: "shared-customers", shared: 20) == Array(0..<20))
    }

    @Test(arguments: ["overlap", "shared-customers", "spend-by-campaign"])
    func peerNeverSeesAnUnblindedIdentifier(analysis: String) throws {
        let d = Dataset.make(advertiserOnly: 5, publisherOnly: 5, shared: 10)
        let c = try Fixtures.collaboration()
        let ad = try PartySession(collaboration: c, analysis: analysis, party: "advertiser", input: d.advertiser)
        let pub = try PartySession(collaboration: c, analysis: analysis, party: "publisher", input: d.publisher)
        let (_, _, transcript) = try InMemorySession.run(ad, pub)
        let hasher = try HashToCurve25519()
        for (session, table) in [(ad, d.advertiser), (pub, d.publisher)] {
            // Everything this party sent: no identifier, raw or normalised, and no unblinded hash.
            let sentBytes = transcript.filter { $0.from == session.party }.flatMap(\.bytes)
            for slice in session.prepared.identifiers {
                let id = Array(slice)
                let h = try hasher.hashToU(id)
                #expect(!contains(sentBytes, h), "\(session.party) sent an unblinded H(x)")
                #expect(!contains(sentBytes, id), "\(session.party) sent an identifier in the clear")
            }
            for row in table.rows { #expect(!contains(sentBytes, Array(row[0].utf8))) }
        }
    }

    @Test func maskedSumsHideTheTotalsFromTheValueOwner() throws {
        // Only the publisher (P1) receives: the advertiser decrypts masked values and learns nothing.
        let d = Dataset.make(advertiserOnly: 5, publisherOnly: 5, shared: 12)
        let c = try Fixtures.collaboration(Fixtures.yaml(receiversSum: ["publisher"]))
        let (ad, pub) = try runSession(c, "total-spend", d)
        #expect(ad.groups == nil && ad.intersectionSize == nil)
        let expected = try d.answer(c, "total-spend")
        let total = try #require(expected.groups[""]?.sums["purchase_amount"])
        #expect(pub.groups?.first?.sums?["purchase_amount"] == total)
        #expect(ReferenceAnswer.from(pub) == expected)
        #expect(pub.intersectionSize == .revealed(12))
    }

    @Test func valueOwnerAloneReceivesSums() throws {
        let d = Dataset.make(advertiserOnly: 3, publisherOnly: 4, shared: 6)
        let c = try Fixtures.collaboration(Fixtures.yaml(receiversSum: ["advertiser"]))
        let (ad, pub) = try runSession(c, "total-spend", d)
        #expect(pub.groups == nil)
        let expected = try d.answer(c, "total-spend")
        let total = try #require(expected.groups[""]?.sums["purchase_amount"])
        #expect(ad.groups?.first?.sums?["purchase_amount"] == total)
        #expect(ReferenceAnswer.from(ad) == expected)
        #expect(ad.intersectionSize == .revealed(6))
    }

    @Test func groupTagsAreRerandomizedSoP1CannotUndoTheShuffle() throws {
        let d = Dataset.make(advertiserOnly: 3, publisherOnly: 3, shared: 16)
        let c = try Fixtures.collaboration()
        let ad = try PartySession(collaboration: c, analysis: "spend-by-campaign", party: "advertiser", input: d.advertiser, batchSize: 8)
        let pub = try PartySession(collaboration: c, analysis: "spend-by-campaign", party: "publisher", input: d.publisher, batchSize: 8)
        let (_, _, transcript) = try InMemorySession.run(ad, pub)
        let width = 32 + GroupTag.tagBytes
        let sent = try Self.records(transcript, .p1Elements, width: width).map { Array($0[32...]) }
        let back = try Self.records(transcript, .p2Reblinded, width: width).map { Array($0[32...]) }
        #expect(sent.count == 19 && back.count == 19)
        // No tag (nor either of its two points) comes back as it was sent.
        let half = GroupTag.tagBytes / 2
        let sentPoints = Set(sent.flatMap { [Array($0[0..<half]), Array($0[half...])] })
        #expect(back.allSatisfy { !sentPoints.contains(Array($0[0..<half])) && !sentPoints.contains(Array($0[half...])) })
    }

    @Test(arguments: [1, 100])
    func maskedSumsHaveAFixedShapeWhateverTheOverlap(minIntersection: Int) throws {
        // P2 (advertiser) does not receive: it sees one ciphertext per publisher campaign, never
        // a suppression flag, whether the overlap passed the threshold or not.
        let d = Dataset.make(advertiserOnly: 4, publisherOnly: 4, shared: 12)
        let c = try Fixtures.collaboration(Fixtures.yaml(receiversSum: ["publisher"], minIntersection: minIntersection))
        let ad = try PartySession(collaboration: c, analysis: "spend-by-campaign", party: "advertiser", input: d.advertiser)
        let pub = try PartySession(collaboration: c, analysis: "spend-by-campaign", party: "publisher", input: d.publisher)
        let (adResult, pubResult, transcript) = try InMemorySession.run(ad, pub)
        let sums = try #require(transcript.first { MessageType(rawValue: $0.bytes[1]) == .encryptedSums })
        var decoder = FrameDecoder()
        decoder.append(sums.bytes)
        let m = try EncryptedSumsMessage.decode(try #require(try decoder.next()), ciphertextBytes: 512, maxGroups: 100)
        #expect(m.masked && !m.suppressed && m.intersection == nil && m.groups.count == 3)
        #expect(adResult.groups == nil && adResult.intersectionSize == nil)
        #expect(pubResult.intersectionSize == (minIntersection == 1 ? .revealed(12) : .suppressed(below: 100)))
        #expect((pubResult.groups ?? []).isEmpty == (minIntersection != 1))
    }

    @Test func nonReceivingP1DoesNotReportTheOverlap() throws {
        let d = Dataset.make(advertiserOnly: 3, publisherOnly: 4, shared: 6)
        let (_, pub) = try runSession(try Fixtures.collaboration(Fixtures.yaml(receiversSum: ["advertiser"])), "spend-by-campaign", d)
        #expect(pub.intersectionSize == nil && pub.groups == nil && pub.suppressedGroups == nil)
    }
}

func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard needle.count > 0, haystack.count >= needle.count else { return false }
    let first = needle[0]
    var i = 0
    while i <= haystack.count - needle.count {
        if haystack[i] == first && Array(haystack[i..<(i + needle.count)]) == needle { return true }
        i += 1
    }
    return false
}
