// What a peer may legitimately send in one session, derived from the policy: the transport refuses
// a stream beyond it. Counted at the worst framing an honest peer could choose (one element per
// frame: 6 header bytes and a 4-byte count each).
import CleanRoomCrypto

extension SessionLimits {
    /// Room for the handshake (HELLO, SET_SIZE with a Paillier key and its proof), an ABORT and
    /// framing slack beyond the element records and answers, which are counted per record below.
    /// An honest peer sends a few kilobytes of this; a 64 MiB allowance let a peer make a small
    /// session buffer 64 MiB (a single frame announced that large) before anything was refused.
    static let fixedAllowance = 1 << 20
    /// The session deadline, at the policy's maxima: a fixed part (handshake, key generation,
    /// answers), a part per element of both sets, the value owner's encryptions at the portable
    /// single-core cost, and P1's per-group work (at most 100,000 groups counted). An honest
    /// 1M × 1M two-column intersection-sum takes about 135 s on two cores against the 1,600 s this
    /// allows; `--session-timeout` overrides it.
    static let baseDuration = Duration.seconds(600)
    static let perElementDuration = Duration.microseconds(200)
    static let perEncryption2048 = Duration.microseconds(600)
    static let perEncryption3072 = Duration.microseconds(1_500)
    static let perGroupDuration = Duration.milliseconds(30)
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
        if let e = analysis.enrichmentSpec {
            // Receiver (P1): OPRF_EVALUATED for its own set, ENRICHMENT_RECORDS for the sender's, DONE.
            // Sender (P2): OPRF_BLINDED for the receiver's set, DONE.
            let record = EnrichmentRecordCipher.matchTagBytes + 2 + e.payloadWidth + EnrichmentRecordCipher.gcmTagBytes
            records = role == .p1 ? ownMax * (32 + framing) + peerMax * (record + framing) : peerMax * (32 + framing)
            let duration = baseDuration + perElementDuration * (ownMax + peerMax)
            return SessionLimits(maxPeerBytes: fixedAllowance + records, maxDuration: duration)
        }
        switch role {
        case .p1:
            // P2_REBLINDED (our set, back) and P2_ELEMENTS (theirs, with ciphertexts when summed),
            // then DECRYPTED_SUMS: at most one plaintext per group label, at most one per identifier.
            records = ownMax * (32 + tag + framing) + peerMax * (32 + ciphertext + framing)
            if sum != nil { records += ownMax * (ciphertext / 2) }
        case .p2:
            // P1_ELEMENTS, then MATCHES (4 bytes per own identifier) or ENCRYPTED_SUMS (at most one
            // entry per P1 identifier, each a ciphertext, a count and a label of up to 255 bytes).
            records = peerMax * (32 + tag + framing)
            records += sum == nil ? 4 * ownMax : peerMax * (ciphertext + 8 + 1 + 255)
        }
        // Time: blinding both sets, plus in an intersection-sum the value owner's encryptions
        // (counted at the portable, non-IFMA cost on one core) and P1's per-group work.
        var duration = baseDuration + perElementDuration * (ownMax + peerMax)
        if let sum {
            let owner = analysis.bounds(of: sum.valueOwner).max
            duration += (sum.keyBits > 2048 ? perEncryption3072 : perEncryption2048) * owner
            if sum.grouping != nil {
                let p1 = analysis.setSize.first { $0.party != sum.valueOwner }?.max ?? 0
                duration += perGroupDuration * min(p1, 100_000)
            }
        }
        return SessionLimits(maxPeerBytes: fixedAllowance + records, maxDuration: duration)
    }
}
