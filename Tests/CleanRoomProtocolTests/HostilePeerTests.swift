import CleanRoomCrypto
import Testing
import _CleanRoomTestSupport

@testable import CleanRoomProtocol

/// Every malformed or out-of-policy message is rejected with a typed error, and the other side
/// is told why.
@Suite struct HostilePeerTests {
    static let data = Dataset.make(advertiserOnly: 4, publisherOnly: 4, shared: 12)

    /// Runs `analysis`, letting `tamper` rewrite frames; returns the failure.
    func failure(
        _ analysis: String, yaml: String = Fixtures.yaml(),
        tamper: @escaping (_ from: String, _ type: MessageType, _ bytes: [UInt8]) -> [UInt8]?
    ) throws -> SessionFailure {
        let c = try Fixtures.collaboration(yaml)
        let ad = try PartySession(collaboration: c, analysis: analysis, party: "advertiser", input: Self.data.advertiser, batchSize: 5)
        let pub = try PartySession(collaboration: c, analysis: analysis, party: "publisher", input: Self.data.publisher, batchSize: 5)
        do {
            _ = try InMemorySession.run(ad, pub) { from, _, bytes in
                tamper(from, MessageType(rawValue: bytes[1]) ?? .abort, bytes)
            }
        } catch let f as SessionFailure {
            // The side that did not fail first learns the reason through ABORT (a peer that already
            // sent its last message and finished reports a closed session instead).
            if case .peerAborted = f.peerError as? CleanRoomProtocolError {
            } else if f.peerError as? CleanRoomProtocolError == .sessionClosed {
            } else {
                Issue.record("peer saw \(String(describing: f.peerError)) instead of peerAborted")
            }
            return f
        }
        Issue.record("the session succeeded despite tampering")
        throw CleanRoomProtocolError.sessionClosed
    }

    /// Rewrites a frame's payload (fixing the length header).
    static func withPayload(_ bytes: [UInt8], _ edit: (inout [UInt8]) -> Void) -> [UInt8] {
        var payload = Array(bytes[6...])
        edit(&payload)
        return Frame(type: MessageType(rawValue: bytes[1])!, payload: payload).encoded()
    }

    @Test func truncatedFrameIsMalformed() throws {
        let f = try failure("overlap") { from, type, bytes in
            type == .hello && from == "advertiser" ? Self.withPayload(bytes) { $0.removeLast(3) } : bytes
        }
        guard case .malformedMessage(type: "HELLO", let problem) = f.error as? CleanRoomProtocolError else {
            Issue.record("got \(f.error)"); return
        }
        #expect(problem.contains("truncated"))
    }

    @Test func wrongVersionIsRejected() throws {
        let f = try failure("overlap") { _, type, bytes in
            var b = bytes
            if type == .hello { b[0] = 2 }
            return b
        }
        guard case .malformedMessage(_, let problem) = f.error as? CleanRoomProtocolError else { Issue.record("got \(f.error)"); return }
        #expect(problem.contains("protocol version 2"))
    }

    @Test func oversizedLengthIsRejectedFromTheHeader() throws {
        var d = FrameDecoder(maxPayloadBytes: 1 << 20)
        d.append([1, MessageType.p1Elements.rawValue, 0xff, 0xff, 0xff, 0xff])
        #expect(throws: CleanRoomProtocolError.self) { try d.next() }
    }

    @Test func digestMismatchShowsBothDigests() throws {
        let c1 = try Fixtures.collaboration(Fixtures.yaml(minIntersection: 1))
        let c2 = try Fixtures.collaboration(Fixtures.yaml(minIntersection: 2))
        let ad = try PartySession(collaboration: c1, analysis: "overlap", party: "advertiser", input: Self.data.advertiser)
        let pub = try PartySession(collaboration: c2, analysis: "overlap", party: "publisher", input: Self.data.publisher)
        do {
            _ = try InMemorySession.run(ad, pub)
            Issue.record("ran with different collaboration files")
        } catch let f as SessionFailure {
            guard case .handshakeMismatch("collaboration digest", let ours, let theirs) = f.error as? CleanRoomProtocolError else {
                Issue.record("got \(f.error)"); return
            }
            #expect(Set([ours, theirs]) == Set([try c1.digestHex(), try c2.digestHex()]))
        }
    }

    @Test func moreElementsThanAnnouncedAreRejected() throws {
        // P1 (advertiser, the listener) announces one element fewer than it sends.
        let f = try failure("overlap") { from, type, bytes in
            guard type == .setSize && from == "advertiser" else { return bytes }
            return Self.withPayload(bytes) { $0[7] -= 1 }
        }
        guard case .tooManyElements = f.error as? CleanRoomProtocolError else { Issue.record("got \(f.error)"); return }
        #expect(f.party == "publisher")
    }

    @Test func duplicateBlindedElementIsRejected() throws {
        let f = try failure("overlap") { _, type, bytes in
            guard type == .p1Elements else { return bytes }
            return Self.withPayload(bytes) { p in if p.count >= 68 { p.replaceSubrange(36..<68, with: p[4..<36]) } }
        }
        #expect(f.error as? CleanRoomProtocolError == .duplicateBlindedElement(message: "P1_ELEMENTS"))
    }

    @Test(arguments: [MessageType.p2Elements, .p2Reblinded])
    func duplicateFromP2IsRejected(type: MessageType) throws {
        let f = try failure("overlap") { _, t, bytes in
            guard t == type else { return bytes }
            return Self.withPayload(bytes) { p in if p.count >= 68 { p.replaceSubrange(36..<68, with: p[4..<36]) } }
        }
        #expect(f.error as? CleanRoomProtocolError == .duplicateBlindedElement(message: type.description))
        #expect(f.party == "advertiser")
    }

    @Test func lowOrderPointIsRejected() throws {
        let f = try failure("overlap") { _, type, bytes in
            guard type == .p2Elements else { return bytes }
            return Self.withPayload(bytes) { p in p.replaceSubrange(4..<36, with: [UInt8](repeating: 0, count: 32)) }
        }
        guard case .invalidPeerCryptography(let problem) = f.error as? CleanRoomProtocolError else {
            Issue.record("got \(f.error)"); return
        }
        #expect(problem.contains("low-order"))
    }

    @Test func paillierCiphertextOutOfRangeIsRejected() throws {
        // All-ones is ≥ n²: every P2 element's ciphertext is replaced, so matched ones are hit.
        let f = try failure("total-spend") { _, type, bytes in
            guard type == .p2Elements else { return bytes }
            return Self.withPayload(bytes) { p in
                let width = (p.count - 4) / Int(UInt32(p[0]) << 24 | UInt32(p[1]) << 16 | UInt32(p[2]) << 8 | UInt32(p[3]))
                var k = 4
                while k < p.count {
                    p.replaceSubrange((k + 32)..<(k + width), with: [UInt8](repeating: 0xff, count: width - 32))
                    k += width
                }
            }
        }
        guard case .invalidPeerCryptography(let problem) = f.error as? CleanRoomProtocolError else {
            Issue.record("got \(f.error)"); return
        }
        #expect(problem.contains("not below n²"))
    }

    @Test func alteredGroupTagIsRejected() throws {
        let f = try failure("spend-by-campaign") { _, type, bytes in
            guard type == .p2Reblinded else { return bytes }
            return Self.withPayload(bytes) { p in
                // bit 0 of each record's c1 (after the 32-byte element): an odd s, which RFC 9496
                // refuses as a negative encoding
                var k = 4
                while k < p.count { p[k + 32] ^= 1; k += 32 + GroupTag.tagBytes }
            }
        }
        #expect(f.error as? CleanRoomCryptoError == .invalidGroupTag)
    }

    @Test func unexpectedMessageIsRejected() throws {
        let f = try failure("overlap") { from, type, bytes in
            type == .setSize && from == "publisher" ? Frame(type: .done, payload: []).encoded() : bytes
        }
        guard case .unexpectedMessage(type: "DONE", _) = f.error as? CleanRoomProtocolError else { Issue.record("got \(f.error)"); return }
    }

    @Test func peerSetSizeOutsidePolicyIsRefusedBeforeAnyElementIsSent() throws {
        let f = try failure("overlap") { _, type, bytes in
            guard type == .setSize else { return bytes }
            return Self.withPayload(bytes) { p in p.replaceSubrange(0..<8, with: [0, 0, 0, 0, 0, 0x98, 0x96, 0x80]) }  // 10,000,000
        }
        guard case .setSizeOutOfPolicy(_, 10_000_000, _, 10_000) = f.error as? CleanRoomProtocolError else {
            Issue.record("got \(f.error)"); return
        }
        #expect(
            !f.transcript.contains {
                MessageType(rawValue: $0.bytes[1]) == .p1Elements || MessageType(rawValue: $0.bytes[1]) == .p2Elements
            })
    }

    @Test func wrongPaillierKeySizeIsRejected() throws {
        let f = try failure("total-spend") { _, type, bytes in
            guard type == .setSize, bytes.count > 20 else { return bytes }
            return Self.withPayload(bytes) { p in p[8...] = [0, 0, 0] }  // drop the key
        }
        guard case .malformedMessage("SET_SIZE", let problem) = f.error as? CleanRoomProtocolError else {
            Issue.record("got \(f.error)"); return
        }
        #expect(problem.contains("Paillier key missing"))
    }

    @Test func reflectedHelloIsRejected() throws {
        // A peer that echoes our own HELLO back (same nonce, our role) is refused.
        let c = try Fixtures.collaboration()
        let ad = try PartySession(collaboration: c, analysis: "overlap", party: "advertiser", input: Self.data.advertiser)
        let hello = try ad.start()[0]
        #expect(throws: CleanRoomProtocolError.self) { try ad.handle(hello) }
        #expect(throws: CleanRoomProtocolError.sessionClosed) { try ad.handle(hello) }
    }

    @Test func badCiphertextOfANonMatchingElementStillAborts() throws {
        // With no overlap at all, a bad ciphertext must still be refused: validation may not
        // depend on membership, or the abort would tell P2 which elements matched.
        let disjoint = Dataset.make(advertiserOnly: 6, publisherOnly: 6, shared: 0)
        let c = try Fixtures.collaboration()
        let ad = try PartySession(collaboration: c, analysis: "total-spend", party: "advertiser", input: disjoint.advertiser)
        let pub = try PartySession(collaboration: c, analysis: "total-spend", party: "publisher", input: disjoint.publisher)
        do {
            _ = try InMemorySession.run(ad, pub) { _, _, bytes in
                guard MessageType(rawValue: bytes[1]) == .p2Elements else { return bytes }
                return Self.withPayload(bytes) { p in p.replaceSubrange((4 + 32)..<(4 + 32 + 512), with: [UInt8](repeating: 0, count: 512))
                }
            }
            Issue.record("a zero ciphertext was accepted")
        } catch let f as SessionFailure {
            guard case .invalidPeerCryptography(let problem) = f.error as? CleanRoomProtocolError else {
                Issue.record("got \(f.error)"); return
            }
            #expect(problem.contains("not positive") && !problem.contains("element 0"))
        }
    }

    @Test func hugeGroupCountIsRejectedWithoutCrashing() throws {
        let f = try failure("total-spend") { _, type, bytes in
            guard type == .encryptedSums else { return bytes }
            return Self.withPayload(bytes) { p in
                // flags(1) total(8) n(4) count(8): set the count to 2^63
                p.replaceSubrange(13..<21, with: [0x80, 0, 0, 0, 0, 0, 0, 0])
            }
        }
        guard case .malformedMessage("ENCRYPTED_SUMS", _) = f.error as? CleanRoomProtocolError else {
            Issue.record("got \(f.error)"); return
        }
    }

    @Test func cardinalityBelowThresholdMustBeSuppressed() throws {
        let f = try failure("overlap", yaml: Fixtures.yaml(minIntersection: 5)) { _, type, bytes in
            guard type == .cardinality else { return bytes }
            return CardinalityMessage(suppressed: false, count: 2).frame().encoded()
        }
        guard case .malformedMessage("CARDINALITY", _) = f.error as? CleanRoomProtocolError else { Issue.record("got \(f.error)"); return }
    }

    @Test func nonCanonicalElementIsRejected() throws {
        // Setting bit 255 gives another encoding of the same u: it must not slip past the
        // duplicate check as a "different" element.
        let f = try failure("overlap") { _, type, bytes in
            guard type == .p1Elements else { return bytes }
            return Self.withPayload(bytes) { p in p[4 + 31] |= 0x80 }
        }
        guard case .invalidPeerCryptography(let problem) = f.error as? CleanRoomProtocolError else {
            Issue.record("got \(f.error)"); return
        }
        #expect(problem.contains("non-canonical"))
        var pMinusOne = [UInt8](repeating: 0xff, count: 32)
        pMinusOne[0] = 0xec
        pMinusOne[31] = 0x7f
        var p = pMinusOne
        p[0] = 0xed
        #expect(pMinusOne.withUnsafeBytes { BlindedElement.isCanonical($0.baseAddress!) })
        #expect(!p.withUnsafeBytes { BlindedElement.isCanonical($0.baseAddress!) })
    }

    @Test func batchesNeverOverlapOrExceedTheFrameLimit() {
        for (total, batch, width) in [(62_000, 65_536, 544), (100, 7, 32), (1, 65_536, 32), (0, 16, 32), (200_000, 65_536, 800)] {
            let ranges = PartySession.batchRanges(total: total, batchSize: batch, width: width)
            #expect(ranges.reduce(0) { $0 + $1.count } == total)
            #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
            #expect(ranges.allSatisfy { $0.count <= batch && 4 + $0.count * width <= Frame.maxPayloadBytes })
        }
    }
}

@Suite struct MatchesFramingTests {
    @Test func largeMatchListsSpanSeveralFramesAndStayOrdered() throws {
        let indices = (0..<UInt32(MatchesMessage.chunk * 2 + 5)).map { $0 * 2 }
        let frames = MatchesMessage.frames(suppressed: false, indices: indices)
        #expect(frames.count == 3 && frames.allSatisfy { $0.payload.count <= Frame.maxPayloadBytes })
        var after: Int64 = -1
        var all: [UInt32] = []
        for (i, f) in frames.enumerated() {
            let m = try MatchesMessage.decode(f, limit: Int(indices.last!) + 1, after: after)
            #expect(m.more == (i < 2))
            all += m.indices
            after = Int64(m.indices.last!)
        }
        #expect(all == indices)
        // A later frame may not restart the order.
        #expect(throws: CleanRoomProtocolError.self) { try MatchesMessage.decode(frames[0], limit: Int(indices.last!) + 1, after: after) }
    }
}
