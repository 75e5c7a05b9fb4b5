// The seam between the session lifecycle (PartySession) and the exchange of one role, and the
// per-kind strategies the shared exchanges are generic over. Adding an analysis kind means writing
// a P1Strategy and a P2Strategy under Sessions/<Kind>/ and one line in the factory.
import CleanRoomCrypto

/// What one step of an exchange ended in.
enum ExchangeStep {
    /// More frames from the peer are needed.
    case continuing
    /// The session is complete: this party's result, and the last frames for the peer.
    case finished(SessionResult, [Frame])
    /// The peer is owed nothing more, but this party's result is computed only once the
    /// connection has closed (`PartySession.conclude()`): work whose duration depends on what the
    /// peer must not learn (which rows matched) cannot then be timed by the peer.
    case finishedAfterClose(() throws -> SessionResult)
}

/// One role's side of the exchange, driven frame by frame by `PartySession`.
protocol RoleExchange: AnyObject {
    /// What the exchange is doing, for progress and error messages.
    var phaseDescription: String { get }
    /// Elements blinded so far and in all (0 until the peer's set size is known).
    var elementProgress: (done: Int, total: Int) { get }
    /// The HELLO; the exchange now waits for the peer's.
    func hello(nonce: [UInt8]) -> Frame
    /// Consumes one frame (never ABORT: the lifecycle handles it); replies go to `outbox`.
    func handle(_ frame: Frame, outbox: inout Outbox) throws -> ExchangeStep
    /// Forgets every secret (keys, masks, sums); called once the session ends either way.
    func wipe()
    /// What the peer did that an honest peer cannot, found without aborting, so far (kept after
    /// `wipe`, so that a session that fails later still reports them).
    var anomalies: [String] { get }
}

/// Keys one party adds to its SET_SIZE.
struct SetSizeKeys {
    var paillierKey: [UInt8]? = nil
    var paillierProof: [UInt8]? = nil
    var groupKey: [UInt8]? = nil
}

/// The handshake so far, as both parties see it once both SET_SIZE counts are known: what a key
/// proof is bound to, so that it cannot be replayed into another session.
struct HandshakeBinding {
    var digest: [UInt8]
    var p1Nonce: [UInt8]
    var p2Nonce: [UInt8]
    var p1Count: Int
    var p2Count: Int

    /// SHA-256(label ‖ 0x00 ‖ digest ‖ u16 len ‖ P1's nonce ‖ u16 len ‖ P2's nonce ‖ u64 |X| ‖
    /// u64 |Y|). With the default label, the Fiat–Shamir context of the Paillier modulus proof; an
    /// enrichment's record keys use "CleanRoom-v1 enrichment context" (`EnrichmentContext`).
    func bytes(label: String = "CleanRoom-v1 handshake binding") throws -> [UInt8] {
        var w = ByteWriter()
        w.raw(Array(label.utf8))
        w.u8(0)
        w.raw(digest)
        w.u16(UInt16(p1Nonce.count))
        w.raw(p1Nonce)
        w.u16(UInt16(p2Nonce.count))
        w.raw(p2Nonce)
        w.u64(UInt64(p1Count))
        w.u64(UInt64(p2Count))
        return try SHA256.hash(w.bytes)
    }
}

/// What a kind adds to P1's exchange. P1 sends its blinded set first, gets it back re-blinded by
/// P2, receives P2's blinded set, re-blinds it, and matches.
protocol P1Strategy: AnyObject {
    /// Bytes after each element in P1_ELEMENTS and P2_REBLINDED (group tags).
    var tagBytes: Int { get }
    /// Bytes after each element in P2_ELEMENTS (ciphertexts); known once SET_SIZE is in.
    var peerExtraBytes: Int { get }
    /// True when P2_ELEMENTS may only follow every P2_REBLINDED and are matched as they arrive.
    var matchesOnArrival: Bool { get }
    /// Whether the peer's SET_SIZE must carry a Paillier key, or a group-tag key.
    var expectsPaillierKey: Bool { get }
    /// What the exchange is doing once this strategy waits for the peer's answer.
    var awaitingDescription: String { get }
    /// The keys for our SET_SIZE (made now, after the peer's HELLO).
    func setSizeKeys() throws -> SetSizeKeys
    /// Takes the keys of the peer's SET_SIZE (already checked to be present as expected), and
    /// verifies what they carry against the handshake `binding`.
    func acceptSetSize(_ m: SetSizeMessage, binding: HandshakeBinding) throws
    /// Fills the tag bytes of records of identifiers `ids` (elements already in place).
    func sealTags(ids: ArraySlice<Int>, records: inout [UInt8], width: Int) throws
    /// Reads the tags of a P2_REBLINDED batch (every tag, matched or not).
    func openTags(_ records: [UInt8], count: Int, width: Int) throws
    /// Checks the extra bytes of a P2_ELEMENTS batch on arrival (every record, matched or not).
    func checkPeerRecords(_ records: [UInt8], count: Int, width: Int) throws
    /// Element `ownPosition` of P2_REBLINDED equals element `peerPosition` of P2_ELEMENTS; when
    /// matching on arrival, `records[offset...]` is that P2_ELEMENTS record.
    func matched(ownPosition: Int, peerPosition: Int, records: [UInt8], offset: Int) throws
    /// When matching on arrival: element `peerPosition` of P2_ELEMENTS matched nothing. A strategy
    /// whose work per match would otherwise show the overlap in its timing does the same work here.
    func unmatched(peerPosition: Int, records: [UInt8], offset: Int) throws
    /// Both lists are complete: what is released to the peer and learned here.
    func finish(_ outcome: P1Outcome) throws -> P1Step
    /// The peer's answer after `finish` returned `.awaiting`.
    func onPeerAnswer(_ frame: Frame) throws -> SessionResult
    func wipe()
    /// Deviations found without aborting so far (kept after `wipe`).
    var anomalies: [String] { get }
}

/// What P1's matching found.
struct P1Outcome {
    /// Elements in both lists.
    var overlap: Int
    /// P1_ELEMENTS position → own identifier.
    var sentOrder: [Int]
    var peerCount: Int
}

/// How P1's strategy ends the exchange.
enum P1Step {
    case finished(SessionResult, [Frame])
    /// Send these and wait for the peer's answer.
    case awaiting([Frame])
}

extension P1Strategy {
    var tagBytes: Int { 0 }
    var peerExtraBytes: Int { 0 }
    var matchesOnArrival: Bool { false }
    var expectsPaillierKey: Bool { false }
    var awaitingDescription: String { "waiting for the result" }
    func setSizeKeys() throws -> SetSizeKeys { SetSizeKeys() }
    func acceptSetSize(_ m: SetSizeMessage, binding: HandshakeBinding) throws {}
    func sealTags(ids: ArraySlice<Int>, records: inout [UInt8], width: Int) throws {}
    func openTags(_ records: [UInt8], count: Int, width: Int) throws {}
    func checkPeerRecords(_ records: [UInt8], count: Int, width: Int) throws {}
    func unmatched(peerPosition: Int, records: [UInt8], offset: Int) throws {}
    var anomalies: [String] { [] }
    func onPeerAnswer(_ frame: Frame) throws -> SessionResult {
        throw CleanRoomProtocolError.unexpectedMessage(type: frame.type.description, state: "finished")
    }
    func wipe() {}
}

/// What a kind adds to P2's exchange. P2 re-blinds P1's set and returns it (in P1's order, or
/// shuffled), sends its own blinded set, and waits for P1's answer.
protocol P2Strategy: AnyObject {
    /// Bytes after each element in P1_ELEMENTS (group tags).
    var peerTagBytes: Int { get }
    /// Bytes after each element in P2_ELEMENTS (ciphertexts); known once our SET_SIZE is made.
    var ownExtraBytes: Int { get }
    /// True when P1's elements go back at once, in P1's order (P1 learns which of its rows match).
    var returnsInOrder: Bool { get }
    /// True when our own elements follow P1's complete set (sums stream into P1's additions).
    var sendsOwnAfterPeer: Bool { get }
    /// Whether the peer's SET_SIZE must carry a group-tag key.
    var expectsGroupKey: Bool { get }
    /// True when P2's SET_SIZE answers P1's (instead of P1's HELLO), so that what it carries can be
    /// bound to both set sizes (the Paillier key's proof).
    var repliesToSetSize: Bool { get }
    /// The keys for our SET_SIZE; `binding` is set when `repliesToSetSize`.
    func setSizeKeys(binding: HandshakeBinding?) throws -> SetSizeKeys
    func acceptSetSize(_ m: SetSizeMessage) throws
    /// Re-randomises the tags of a P1_ELEMENTS batch (elements already re-blinded).
    func rerandomizeTags(_ records: inout [UInt8], count: Int, width: Int) throws
    /// Fills the extra bytes of own records of identifiers `ids` (elements already in place).
    func fillOwnRecords(ids: ArraySlice<Int>, records: inout [UInt8], width: Int) throws
    /// P1's answer; `ownOrder` maps P2_ELEMENTS positions to own identifiers.
    func onAnswer(_ frame: Frame, ownOrder: [Int], peerCount: Int) throws -> ExchangeStep
    func wipe()
    /// Deviations found without aborting so far (kept after `wipe`).
    var anomalies: [String] { get }
}

extension P2Strategy {
    var peerTagBytes: Int { 0 }
    var ownExtraBytes: Int { 0 }
    var returnsInOrder: Bool { false }
    var sendsOwnAfterPeer: Bool { false }
    var expectsGroupKey: Bool { false }
    var repliesToSetSize: Bool { false }
    var anomalies: [String] { [] }
    func setSizeKeys(binding: HandshakeBinding?) throws -> SetSizeKeys { SetSizeKeys() }
    func acceptSetSize(_ m: SetSizeMessage) throws {}
    func rerandomizeTags(_ records: inout [UInt8], count: Int, width: Int) throws {}
    func fillOwnRecords(ids: ArraySlice<Int>, records: inout [UInt8], width: Int) throws {}
    func wipe() {}
}
