// What a peer may legitimately send in one session, derived from the policy: the transport refuses
// a stream beyond it. Counted at the worst framing an honest peer could choose (one element per
// frame: 6 header bytes and a 4-byte count each).
import CleanRoomCrypto

extension SessionLimits {
    /// Room for the handshake, the answers and framing slack beyond the element records.
    static let fixedAllowance = 1 << 26
    /// The session deadline: a fixed part (handshake, key generation, answers) and a part per
    /// element of both sets at their policy maxima. An honest 1M × 1M intersection-sum takes
    /// about 135 s on two cores, a fifth of the 700 s this allows; `--session-timeout` overrides.
    static let baseDuration = Duration.seconds(300)
    static let perElementDuration = Duration.microseconds(200)
    /// Header and count bytes around a record when a peer sends one per frame.
    static let perRecordFraming = Frame.headerBytes + 4

    /// The limits for `role` in `analysis` whose peer is `peer`.
    static func derive(analysis: Analysis, role: Role, peer: String) -> SessionLimits {
        let peerMax = analysis.bounds(of: peer).max
        let ownMax = analysis.setSize.first { $0.party != peer }?.max ?? peerMax
        let sum = analysis.sumSpec
        let tag = sum?.grouping == nil ? 0 : GroupTag.tagBytes
        let ciphertext = 2 * ((sum?.keyBits ?? 0) / 8)
        let framing = perRecordFraming
        var records: Int
        var widest: Int
        switch role {
        case .p1:
            // P2_REBLINDED (our set, back) and P2_ELEMENTS (theirs, with ciphertexts when summed),
            // then DECRYPTED_SUMS: at most one plaintext per group label, at most one per identifier.
            records = ownMax * (32 + tag + framing) + peerMax * (32 + ciphertext + framing)
            if sum != nil { records += ownMax * (ciphertext / 2) }
            widest = max(32 + tag, 32 + ciphertext)
        case .p2:
            // P1_ELEMENTS, then MATCHES (4 bytes per own identifier) or ENCRYPTED_SUMS (at most one
            // entry per P1 identifier, each a ciphertext, a count and a label of up to 255 bytes).
            records = peerMax * (32 + tag + framing)
            records += sum == nil ? 4 * ownMax : peerMax * (ciphertext + 8 + 1 + 255)
            widest = 32 + tag
        }
        return SessionLimits(
            maxPeerBytes: fixedAllowance + records, maxRecordBytes: widest,
            maxDuration: baseDuration + perElementDuration * (ownMax + peerMax))
    }
}
