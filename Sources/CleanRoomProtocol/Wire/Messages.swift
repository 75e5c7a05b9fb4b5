// Typed messages of the CleanRoom protocol and their payload encodings (docs/protocol.md).
import CleanRoomCrypto

/// HELLO: the first message of each party.
struct HelloMessage: Equatable {
    var digest: [UInt8]  // 32 bytes
    var role: Role
    var analysis: String
    var party: String
    var nonce: [UInt8]  // 32 bytes

    func frame() -> Frame {
        var w = ByteWriter()
        w.raw(digest)
        w.u8(role.rawValue)
        w.str8(analysis)
        w.str8(party)
        w.raw(nonce)
        return Frame(type: .hello, payload: w.bytes)
    }

    static func decode(_ f: Frame) throws -> HelloMessage {
        var r = ByteReader(f)
        let digest = Array(try r.take(32, "collaboration digest"))
        let roleByte = try r.u8("role")
        guard let role = Role(rawValue: roleByte) else { throw r.fail("unknown role \(roleByte)") }
        let analysis = try r.str8("analysis name")
        let party = try r.str8("party name")
        let nonce = Array(try r.take(32, "nonce"))
        try r.finish()
        return HelloMessage(digest: digest, role: role, analysis: analysis, party: party, nonce: nonce)
    }
}

/// SET_SIZE: the number of unique identifiers the sender will send; P2 of an intersection-sum
/// adds its Paillier public key, P1 of a grouped intersection-sum its group-tag public key.
struct SetSizeMessage: Equatable {
    var count: UInt64
    var paillierKey: [UInt8]?
    /// With a Paillier key: the key owner's proof that gcd(n, φ(n)) = 1 (PaillierModulusProof).
    var paillierProof: [UInt8]?
    var groupKey: [UInt8]?

    func frame() -> Frame {
        var w = ByteWriter()
        w.u64(count)
        w.u16(UInt16(paillierKey?.count ?? 0))
        if let k = paillierKey {
            w.raw(k)
            w.u16(UInt16(paillierProof?.count ?? 0))
            if let p = paillierProof { w.raw(p) }
        }
        w.u8(UInt8(groupKey?.count ?? 0))
        if let g = groupKey { w.raw(g) }
        return Frame(type: .setSize, payload: w.bytes)
    }

    static func decode(_ f: Frame) throws -> SetSizeMessage {
        var r = ByteReader(f)
        let count = try r.u64("set size")
        let keyBytes = Int(try r.u16("key length"))
        guard keyBytes == 0 || keyBytes == 256 || keyBytes == 384 else { throw r.fail("Paillier key of \(keyBytes) bytes") }
        let key = keyBytes == 0 ? nil : Array(try r.take(keyBytes, "Paillier key"))
        var proof: [UInt8]?
        if keyBytes > 0 {
            let proofBytes = Int(try r.u16("proof length"))
            let expected = PaillierModulusProof.encodedLength(modulusBytes: keyBytes)
            guard proofBytes == expected else { throw r.fail("a Paillier key proof of \(proofBytes) bytes, expected \(expected)") }
            proof = Array(try r.take(proofBytes, "Paillier key proof"))
        }
        let groupBytes = Int(try r.u8("group key length"))
        guard groupBytes == 0 || groupBytes == GroupTag.publicKeyBytes else { throw r.fail("group-tag key of \(groupBytes) bytes") }
        let group = groupBytes == 0 ? nil : Array(try r.take(groupBytes, "group-tag key"))
        try r.finish()
        return SetSizeMessage(count: count, paillierKey: key, paillierProof: proof, groupKey: group)
    }
}

/// P1_ELEMENTS, P2_REBLINDED, P2_ELEMENTS: a count and `count` fixed-width records.
struct ElementBatch {
    var type: MessageType
    var count: Int
    var records: [UInt8]

    static let maxCount = 65_536

    func frame() -> Frame {
        var w = ByteWriter()
        w.bytes.reserveCapacity(4 + records.count)
        w.u32(UInt32(count))
        w.raw(records)
        return Frame(type: type, payload: w.bytes)
    }

    /// Decodes a batch of records of exactly `width` bytes, at most `remaining` of them.
    static func decode(_ f: Frame, width: Int, remaining: Int, announced: Int = -1) throws -> ElementBatch {
        var r = ByteReader(f)
        let count = Int(try r.u32("element count"))
        guard count > 0 else { throw r.fail("empty batch") }
        guard count <= maxCount else { throw r.fail("\(count) elements in one frame (limit \(maxCount))") }
        guard count <= remaining else {
            throw CleanRoomProtocolError.tooManyElements(message: f.type.description, announced: announced >= 0 ? announced : remaining)
        }
        guard r.remaining == count * width else {
            throw r.fail("\(r.remaining) bytes of records, expected \(count) × \(width)")
        }
        return ElementBatch(type: f.type, count: count, records: Array(f.payload[4...]))
    }
}

/// CARDINALITY: the overlap size, or that it was suppressed.
struct CardinalityMessage: Equatable {
    var suppressed: Bool
    var count: UInt64

    func frame() -> Frame {
        var w = ByteWriter()
        w.u8(suppressed ? 1 : 0)
        w.u64(suppressed ? 0 : count)
        return Frame(type: .cardinality, payload: w.bytes)
    }

    static func decode(_ f: Frame) throws -> CardinalityMessage {
        var r = ByteReader(f)
        let flag = try r.u8("flags")
        guard flag <= 1 else { throw r.fail("unknown flags \(flag)") }
        let count = try r.u64("count")
        try r.finish()
        guard flag == 0 || count == 0 else { throw r.fail("a suppressed result carries a count") }
        return CardinalityMessage(suppressed: flag == 1, count: count)
    }
}

/// MATCHES: positions (in the order of P2_ELEMENTS) of P2's elements that are in the overlap,
/// ascending, in one or more frames (at most `chunk` indices each; all but the last say "more").
struct MatchesMessage: Equatable {
    var suppressed: Bool
    var more: Bool
    var indices: [UInt32]

    static let chunk = 1 << 20
    static let flagSuppressed: UInt8 = 1, flagMore: UInt8 = 2

    /// The frames carrying `indices` (or the suppression).
    static func frames(suppressed: Bool, indices: [UInt32]) -> [Frame] {
        guard !suppressed, indices.count > chunk else {
            return [MatchesMessage(suppressed: suppressed, more: false, indices: suppressed ? [] : indices).frame()]
        }
        return stride(from: 0, to: indices.count, by: chunk).map { start in
            let end = min(start + chunk, indices.count)
            return MatchesMessage(suppressed: false, more: end < indices.count, indices: Array(indices[start..<end])).frame()
        }
    }

    func frame() -> Frame {
        var w = ByteWriter()
        w.u8((suppressed ? Self.flagSuppressed : 0) | (more ? Self.flagMore : 0))
        w.u32(UInt32(indices.count))
        for i in indices { w.u32(i) }
        return Frame(type: .matches, payload: w.bytes)
    }

    /// Decodes one frame; indices must be below `limit` and greater than `after`.
    static func decode(_ f: Frame, limit: Int, after: Int64 = -1) throws -> MatchesMessage {
        var r = ByteReader(f)
        let flags = try r.u8("flags")
        guard flags & ~3 == 0, flags != 3 else { throw r.fail("unknown flags \(flags)") }
        let n = Int(try r.u32("match count"))
        guard n <= min(limit, chunk) else { throw r.fail("\(n) matches in one frame for a set of \(limit)") }
        guard flags & flagSuppressed == 0 || n == 0 else { throw r.fail("a suppressed result carries matches") }
        // Only a full chunk may say "more": a peer cannot keep the session open with empty or
        // short continuation frames.
        guard flags & flagMore == 0 || n == chunk else { throw r.fail("a continuation frame must carry \(chunk) matches, not \(n)") }
        guard r.remaining == 4 * n else { throw r.fail("\(r.remaining) bytes for \(n) indices") }
        var indices = [UInt32]()
        indices.reserveCapacity(n)
        var previous = after
        for _ in 0..<n {
            let i = try r.u32("index")
            guard Int(i) < limit else { throw r.fail("index \(i) outside the set of \(limit)") }
            guard Int64(i) > previous else { throw r.fail("indices must be strictly increasing") }
            previous = Int64(i)
            indices.append(i)
        }
        return MatchesMessage(suppressed: flags & flagSuppressed != 0, more: flags & flagMore != 0, indices: indices)
    }
}

/// ENCRYPTED_SUMS: per group, optional label and count, and a re-randomised ciphertext.
struct EncryptedSumsMessage: Equatable {
    struct Group: Equatable {
        var label: String?
        var count: UInt64?
        var ciphertext: [UInt8]
    }
    /// The whole overlap was below the threshold (only when P2 receives: masked messages never say).
    var suppressed: Bool
    /// Sums carry masks only P1 knows (P2 is not a receiver); the list then has a fixed length.
    var masked: Bool
    /// Overlap size, when P2 receives it (withheld when a group was suppressed, because the
    /// difference would reveal the suppressed groups' size).
    var intersection: UInt64?
    var groups: [Group]

    static let flagSuppressed: UInt8 = 1, flagMasked: UInt8 = 2, flagLabels: UInt8 = 4, flagCounts: UInt8 = 8, flagTotal: UInt8 = 16

    func frame(ciphertextBytes: Int) -> Frame {
        var w = ByteWriter()
        let hasLabels = groups.first?.label != nil
        let hasCounts = groups.first?.count != nil
        var flags: UInt8 = 0
        if suppressed { flags |= Self.flagSuppressed }
        if masked { flags |= Self.flagMasked }
        if hasLabels { flags |= Self.flagLabels }
        if hasCounts { flags |= Self.flagCounts }
        if intersection != nil { flags |= Self.flagTotal }
        w.u8(flags)
        w.u64(intersection ?? 0)
        w.u32(UInt32(groups.count))
        for g in groups {
            if hasLabels { w.str8(g.label!) }
            if hasCounts { w.u64(g.count!) }
            precondition(g.ciphertext.count == ciphertextBytes)
            w.raw(g.ciphertext)
        }
        return Frame(type: .encryptedSums, payload: w.bytes)
    }

    static func decode(_ f: Frame, ciphertextBytes: Int, maxGroups: Int) throws -> EncryptedSumsMessage {
        var r = ByteReader(f)
        let flags = try r.u8("flags")
        guard flags & ~0x1f == 0 else { throw r.fail("unknown flags \(flags)") }
        let total = try r.u64("intersection size")
        let n = Int(try r.u32("group count"))
        guard n <= maxGroups else { throw r.fail("\(n) groups, at most \(maxGroups) possible") }
        let suppressed = flags & flagSuppressed != 0
        guard !suppressed || (n == 0 && flags == flagSuppressed && total == 0) else { throw r.fail("a suppressed result carries data") }
        let masked = flags & flagMasked != 0
        let hasLabels = flags & flagLabels != 0, hasCounts = flags & flagCounts != 0, hasTotal = flags & flagTotal != 0
        guard !(masked && (hasLabels || hasCounts || hasTotal)) else { throw r.fail("masked sums must not carry labels, counts or totals") }
        guard !masked || n > 0 else { throw r.fail("masked sums always carry at least one ciphertext") }
        guard hasTotal || total == 0 else { throw r.fail("a total without its flag") }
        var groups: [Group] = []
        for _ in 0..<n {
            let label = hasLabels ? try r.str8("group label") : nil
            let count = hasCounts ? try r.u64("group count") : nil
            groups.append(Group(label: label, count: count, ciphertext: Array(try r.take(ciphertextBytes, "ciphertext"))))
        }
        try r.finish()
        return EncryptedSumsMessage(suppressed: suppressed, masked: masked, intersection: hasTotal ? total : nil, groups: groups)
    }
}

/// DECRYPTED_SUMS: the plaintext (packed slots, possibly masked) of each group, in order.
struct DecryptedSumsMessage: Equatable {
    var plaintexts: [[UInt8]]

    func frame() -> Frame {
        var w = ByteWriter()
        w.u32(UInt32(plaintexts.count))
        for p in plaintexts { w.raw(p) }
        return Frame(type: .decryptedSums, payload: w.bytes)
    }

    static func decode(_ f: Frame, plaintextBytes: Int, expected: Int) throws -> DecryptedSumsMessage {
        var r = ByteReader(f)
        let n = Int(try r.u32("group count"))
        guard n == expected else { throw r.fail("\(n) plaintexts for \(expected) groups") }
        var out: [[UInt8]] = []
        for _ in 0..<n { out.append(Array(try r.take(plaintextBytes, "plaintext"))) }
        try r.finish()
        return DecryptedSumsMessage(plaintexts: out)
    }
}

/// ABORT: why the sender stopped.
public struct AbortMessage: Equatable, Sendable {
    public var code: UInt16
    public var reason: String

    /// The code of a refusal under the collaboration's policy.
    public static let policyCode: UInt16 = 3
    /// An error of the sender's own (not the peer's doing); its text stays local.
    public static let localCode: UInt16 = 5

    /// Codes: 1 malformed or unexpected message, 2 handshake mismatch, 3 policy refusal,
    /// 4 rejected cryptographic value, 5 local failure.
    public static func code(for error: Error) -> UInt16 {
        switch error as? CleanRoomProtocolError {
        case .malformedMessage, .unexpectedMessage, .tooManyElements, .duplicateBlindedElement: return 1
        case .handshakeMismatch: return 2
        case .setSizeOutOfPolicy, .tooManyGroups, .noGroupLargeEnough, .limitReached, .invalidCollaboration, .unknownAnalysis,
            .unknownParty:
            return 3
        case .invalidPeerCryptography: return 4
        default:
            switch error as? CleanRoomCryptoError {
            case .lowOrderPoint, .invalidCiphertext, .invalidPublicKey, .invalidGroupTag, .invalidGroupElement,
                .payloadAuthenticationFailed:
                return 4
            default: return localCode
            }
        }
    }

    func frame() -> Frame {
        var w = ByteWriter()
        w.u16(code)
        // At most 1,024 bytes, cut on a character boundary.
        var text = ""
        for ch in reason {
            if text.utf8.count + String(ch).utf8.count > 1024 { break }
            text.append(ch)
        }
        w.str16(text)
        return Frame(type: .abort, payload: w.bytes)
    }

    static func decode(_ f: Frame) throws -> AbortMessage {
        var r = ByteReader(f)
        let code = try r.u16("code")
        let reason = try r.str16("reason")
        try r.finish()
        // The sender caps its reason; a hostile one may not, so it is capped here too.
        return AbortMessage(code: code, reason: PeerText.display(PeerText.capped(reason, bytes: PeerText.maxReasonBytes)))
    }
}

/// Text that came from the peer (ABORT reasons, names in a mismatched HELLO, group labels).
public enum PeerText {
    /// The most UTF-8 bytes of an ABORT reason that are kept on receipt.
    public static let maxReasonBytes = 1024

    /// `s` with every character that can rewrite a terminal line or reorder what is shown —
    /// control characters, format characters (bidirectional overrides such as U+202E, zero-width
    /// joiners) and line or paragraph separators (U+2028, U+2029) — replaced by U+FFFD. For display
    /// only: results keep the exact text, which JSON escapes.
    public static func display(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in s.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator: out.append("\u{FFFD}")
            default: out.append(scalar)
            }
        }
        return String(out)
    }

    /// `s` cut to at most `bytes` UTF-8 bytes on a character boundary, with "…" when cut.
    public static func capped(_ s: String, bytes: Int) -> String {
        guard s.utf8.count > bytes else { return s }
        var text = ""
        for ch in s {
            if text.utf8.count + String(ch).utf8.count > bytes - 3 { break }
            text.append(ch)
        }
        return text + "…"
    }
}
