// What every session of one party knows before the exchange starts, and the handshake every kind
// shares: HELLO (same collaboration digest, analysis, parties, roles; a fresh nonce each) and
// SET_SIZE (the peer's announced set size, checked against the policy before any element moves).
import CleanRoomCrypto

/// One party's fixed facts for a session: the policy, who it is, and its prepared set.
struct SessionContext {
    let analysis: Analysis
    let party: String
    let peer: String
    let role: Role
    let digest: [UInt8]
    let random: AnyRandomSource
    let prepared: PreparedSet
    /// Rows the source gave.
    var inputRows: Int { prepared.inputRows }
    let batchSize: Int
    let parallelism: Int

    /// This party's number of unique identifiers.
    var ownCount: Int { prepared.identifiers.count }
    /// True when this party receives the result.
    var receives: Bool { analysis.receivers.contains(party) }
    /// True when the peer receives the result.
    var peerReceives: Bool { analysis.receivers.contains(peer) }

    /// Half-open ranges of at most `batchSize` records of `width` bytes, each frame staying well
    /// under the frame limit.
    func batchRanges(total: Int, width: Int) -> [Range<Int>] {
        Self.batchRanges(total: total, batchSize: batchSize, width: width)
    }

    static func batchRanges(total: Int, batchSize: Int, width: Int) -> [Range<Int>] {
        let step = max(1, min(batchSize, Frame.maxPayloadBytes / width / 2))
        return stride(from: 0, to: total, by: step).map { $0..<min($0 + step, total) }
    }

    /// The result fields every kind reports.
    func baseResult(peerCount: Int) -> SessionResult {
        var result = SessionResult(
            collaborationDigest: Hex.encode(digest), analysis: analysis.name, kind: analysis.kind,
            party: party, peer: peer, role: role, inputRows: inputRows, skippedRows: prepared.skippedRows,
            uniqueIdentifiers: ownCount, peerUniqueIdentifiers: peerCount)
        if analysis.privacy?.maxRowsPerIdentifier != nil && prepared.slotWidth > 0 {
            result.rowsOverContributionBound = prepared.rowsOverContributionBound
        }
        return result
    }

    /// The CSV references of every input row that carried identifier `i`.
    func rowReferences(ofIdentifier i: Int) -> [Int] { prepared.rows(of: i).map { prepared.references[$0] } }
}

/// The HELLO and SET_SIZE steps.
enum Handshake {
    /// This party's HELLO.
    static func hello(_ c: SessionContext, nonce: [UInt8]) -> Frame {
        HelloMessage(digest: c.digest, role: c.role, analysis: c.analysis.name, party: c.party, nonce: nonce).frame()
    }

    /// Checks the peer's HELLO against ours: same collaboration and analysis, the other party in
    /// the other role, and not our own nonce reflected.
    /// - Returns: the peer's nonce.
    @discardableResult
    static func check(_ frame: Frame, _ c: SessionContext, nonce: [UInt8]) throws -> [UInt8] {
        let hello = try HelloMessage.decode(frame)
        guard hello.digest == c.digest else {
            throw CleanRoomProtocolError.handshakeMismatch(
                field: "collaboration digest", ours: Hex.encode(c.digest), theirs: Hex.encode(hello.digest))
        }
        guard hello.analysis == c.analysis.name else {
            throw CleanRoomProtocolError.handshakeMismatch(
                field: "analysis", ours: c.analysis.name, theirs: PeerText.display(hello.analysis))
        }
        guard hello.party == c.peer else {
            throw CleanRoomProtocolError.handshakeMismatch(field: "peer party", ours: c.peer, theirs: PeerText.display(hello.party))
        }
        let expectedRole: Role = c.role == .p1 ? .p2 : .p1
        guard hello.role == expectedRole else {
            throw CleanRoomProtocolError.handshakeMismatch(field: "peer role", ours: "\(expectedRole)", theirs: "\(hello.role)")
        }
        guard hello.nonce != nonce else {
            throw CleanRoomProtocolError.handshakeMismatch(field: "nonce", ours: "fresh", theirs: "a copy of ours (reflected)")
        }
        return hello.nonce
    }

    /// Checks the peer's HELLO and makes our SET_SIZE, with the keys `keys` makes now (after the
    /// check, so that nothing is generated for a peer that fails it).
    static func reply(toHello frame: Frame, _ c: SessionContext, nonce: [UInt8], keys: () throws -> SetSizeKeys) throws -> (
        setSize: Frame, peerNonce: [UInt8]
    ) {
        let peerNonce = try check(frame, c, nonce: nonce)
        return (setSize(c, keys: try keys()), peerNonce)
    }

    /// Our SET_SIZE with `keys`.
    static func setSize(_ c: SessionContext, keys k: SetSizeKeys) -> Frame {
        SetSizeMessage(count: UInt64(c.ownCount), paillierKey: k.paillierKey, paillierProof: k.paillierProof, groupKey: k.groupKey).frame()
    }

    /// Decodes the peer's SET_SIZE, checks its count against the policy and that it carries
    /// exactly the keys this analysis needs from the peer.
    static func setSize(
        _ frame: Frame, _ c: SessionContext, expectsPaillierKey: Bool, expectsGroupKey: Bool
    ) throws -> (count: Int, message: SetSizeMessage) {
        let m = try SetSizeMessage.decode(frame)
        let bounds = c.analysis.bounds(of: c.peer)
        guard m.count >= UInt64(bounds.min), m.count <= UInt64(bounds.max) else {
            throw CleanRoomProtocolError.setSizeOutOfPolicy(
                party: c.peer, size: Int(min(m.count, UInt64(Int.max))), min: bounds.min, max: bounds.max)
        }
        guard expectsPaillierKey == (m.paillierKey != nil) else {
            throw CleanRoomProtocolError.malformedMessage(
                type: "SET_SIZE", problem: expectsPaillierKey ? "Paillier key missing" : "unexpected Paillier key")
        }
        guard expectsGroupKey == (m.groupKey != nil) else {
            throw CleanRoomProtocolError.malformedMessage(
                type: "SET_SIZE", problem: expectsGroupKey ? "group-tag key missing" : "unexpected group-tag key")
        }
        return (Int(m.count), m)
    }
}
