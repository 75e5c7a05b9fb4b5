import CleanRoomCrypto
import Testing
import _CleanRoomTestSupport

@testable import CleanRoomProtocol

/// A peer that answers before this party has sent everything, or returns elements this party never
/// sent, is refused: the session fails with a typed error, sends nothing more, and never finishes.
/// (Before the per-kind sessions, these answers were accepted, and the runner then trapped draining
/// the element batches still queued behind a wiped key.)
@Suite struct EarlyAnswerTests {
    static let data = Dataset.make(advertiserOnly: 4, publisherOnly: 4, shared: 12)

    /// Both sessions with one element per frame, P1 first.
    static func sessions(_ analysis: String) throws -> (p1: PartySession, p2: PartySession) {
        let c = try Fixtures.collaboration()
        let ad = try PartySession(collaboration: c, analysis: analysis, party: "advertiser", input: data.advertiser, batchSize: 1)
        let pub = try PartySession(collaboration: c, analysis: analysis, party: "publisher", input: data.publisher, batchSize: 1)
        return ad.role == .p1 ? (ad, pub) : (pub, ad)
    }

    /// Runs HELLO and SET_SIZE both ways; returns P2's SET_SIZE. (In an intersection-sum P2's
    /// SET_SIZE answers P1's, so that its key proof is bound to both set sizes.)
    static func handshake(_ p1: PartySession, _ p2: PartySession) throws -> Frame {
        try p1.begin()
        try p2.begin()
        let hello1 = try #require(try p1.nextOutbound()), hello2 = try #require(try p2.nextOutbound())
        try p1.receive(hello2)
        try p2.receive(hello1)
        let size1 = try #require(try p1.nextOutbound())
        if p2.analysis.kind == .intersectionSum {
            #expect(try p2.nextOutbound() == nil)
            try p2.receive(size1)
            let size2 = try #require(try p2.nextOutbound())
            try p1.receive(size2)
            return size2
        }
        let size2 = try #require(try p2.nextOutbound())
        try p1.receive(size2)
        try p2.receive(size1)
        return size2
    }

    /// An answer P1 could send at the end of `analysis`, well formed for P2.
    static func answer(_ analysis: String, p2SetSize: Frame) throws -> Frame {
        switch analysis {
        case "overlap":
            return CardinalityMessage(suppressed: false, count: 12).frame()
        case "shared-customers":
            return MatchesMessage.frames(suppressed: false, indices: Array(0..<12)).first ?? Frame(type: .done, payload: [])
        default:
            // Encryptions of 0 under P2's own key: decryptable and in range.
            let key = try PaillierPublicKey.deserialize(try #require(try SetSizeMessage.decode(p2SetSize).paillierKey))
            let c = key.serialize(try key.encrypt(BigInteger(0)))
            let group = EncryptedSumsMessage.Group(label: nil, count: 12, ciphertext: c)
            return EncryptedSumsMessage(suppressed: false, masked: false, intersection: 12, groups: [group])
                .frame(ciphertextBytes: key.ciphertextBytes)
        }
    }

    @Test(arguments: ["overlap", "shared-customers", "total-spend"])
    func p2RefusesAnAnswerBeforeItsOwnElementsAreSent(analysis: String) throws {
        let (p1, p2) = try Self.sessions(analysis)
        let p2SetSize = try Self.handshake(p1, p2)
        // P1 sends all of its elements; P2 takes them in but has not sent its own set yet (the
        // transport has not asked for those frames).
        while let f = try p1.nextOutbound() { try p2.receive(f) }
        #expect(p2.stateDescription == "waiting for the result")
        let early = try Self.answer(analysis, p2SetSize: p2SetSize)
        #expect(throws: CleanRoomProtocolError.self) { try p2.receive(early) }
        #expect(!p2.isFinished && p2.result == nil)
        guard !p2.isFinished else { return }  // the old code would now trap in nextOutbound
        #expect(p2.stateDescription == "failed")
        #expect(try p2.nextOutbound() == nil, "a failed session sent another frame")
    }

    @Test(arguments: ["overlap", "shared-customers", "total-spend"])
    func p1RefusesReblindedElementsItNeverSent(analysis: String) throws {
        let (p1, p2) = try Self.sessions(analysis)
        _ = try Self.handshake(p1, p2)
        // P1 has sent one of its elements; the peer returns two.
        let first = try #require(try p1.nextOutbound())
        #expect(first.type == .p1Elements)
        let width = (first.payload.count - 4)
        let records: [UInt8] = (0..<(2 * width)).map { $0 % width == 0 ? 9 : 0 }
        let forged = ElementBatch(type: .p2Reblinded, count: 2, records: records).frame()
        let total = p1.prepared.identifiers.count
        #expect(throws: CleanRoomProtocolError.unexpectedMessage(type: "P2_REBLINDED", state: "1 of \(total) elements sent, 2 returned")) {
            try p1.receive(forged)
        }
        #expect(try p1.nextOutbound() == nil, "a failed session sent another frame")
    }

    @Test func emptyContinuationOfMatchesIsRefused() throws {
        let frame = MatchesMessage(suppressed: false, more: true, indices: []).frame()
        #expect(throws: CleanRoomProtocolError.self) { try MatchesMessage.decode(frame, limit: 100) }
        let short = MatchesMessage(suppressed: false, more: true, indices: [1, 2]).frame()
        #expect(throws: CleanRoomProtocolError.self) { try MatchesMessage.decode(short, limit: 100) }
    }

    @Test(arguments: ["overlap", "shared-customers", "spend-by-campaign", "total-spend"])
    func honestSessionsStillFinishAtOneElementPerFrame(analysis: String) throws {
        let (p1, p2) = try Self.sessions(analysis)
        let (r1, r2, _) = try InMemorySession.run(p1, p2)
        #expect(r1.intersectionSize != nil || r2.intersectionSize != nil)
        #expect(p1.stateDescription == "finished" && p2.stateDescription == "finished")
    }
}
