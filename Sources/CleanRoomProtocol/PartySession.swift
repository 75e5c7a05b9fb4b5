// The session state machine of one party (P1 or P2), in the shape of Google's Private Join and
// Compute (Ion et al., "On Deploying Secure Computing: Private Intersection-Sum-with-Cardinality",
// EuroS&P 2020): commutative blinding H(x)^k over curve25519 and Paillier sums. A session
// consumes frames and returns frames to send; it never touches sockets or files, so the same code
// runs in-process in tests and over TLS in the runner.
//
// Security model: semi-honest (honest-but-curious) parties, as in the paper. Every peer value is
// still validated (lengths, counts against announcements and policy, duplicates, low-order
// points, Paillier ciphertext range), so a hostile peer gets a typed error, not a crash.
// What each party learns per analysis is listed in docs/protocol.md.
// Thread safety: not thread-safe; drive one session from one task.
import CleanRoomCrypto
import Foundation

/// One party's side of a clean-room session.
public final class PartySession {
    public let collaboration: Collaboration
    public let analysis: Analysis
    public let party: String
    public let peer: String
    public let role: Role
    public let digest: [UInt8]

    private let random: AnyRandomSource
    let prepared: PreparedSet
    private let rowNumbers: [Int]
    private let inputRows: Int
    let blinding: BlindingKey
    private let hasher: HashToCurve25519
    private let batchSize: Int

    // intersection-sum
    private let layout: PaillierSlotLayout?
    private var paillier: PaillierPrivateKey?  // P2
    private var peerPaillier: PaillierPublicKey?  // P1
    private var tags: GroupTagCipher?  // P1 with groups

    private enum State: String {
        case new = "not started"
        case awaitingHello = "waiting for HELLO"
        case awaitingSetSize = "waiting for SET_SIZE"
        case exchanging = "exchanging elements"
        case awaitingResult = "waiting for the result"
        case awaitingDecryptedSums = "waiting for DECRYPTED_SUMS"
        case finished = "finished"
        case failed = "failed"
    }
    private var state = State.new
    private var nonce: [UInt8] = []
    private var peerCount = 0

    /// The result, once the session has finished.
    public private(set) var result: SessionResult?
    /// True once the session finished successfully.
    public var isFinished: Bool { state == .finished }
    /// What the session is doing, for progress and error messages.
    public var stateDescription: String { state.rawValue }

    // P1 bookkeeping
    private var sentOrder: [Int] = []  // position in P1_ELEMENTS → identifier
    private var reblindedIndex: [Key32: Int32] = [:]  // P2_REBLINDED element → position
    private var reblindedTags: [UInt8] = []  // tag of each position (grouped sums)
    private var reblindedCount = 0
    private var p2Seen: Set<Key32> = []
    private var p2Count = 0
    private var pendingKeys: [Key32] = []  // P2 elements received before P2_REBLINDED completed
    private var pendingCiphertexts: [UInt8] = []
    private var matchedPositions: [Int] = []  // P1 positions in the overlap
    private var matchedP2: [UInt32] = []  // P2_ELEMENTS positions in the overlap
    private var groupSums: [UInt32: PaillierCiphertext] = [:]
    private var groupCounts: [UInt32: Int] = [:]
    private var reported: [(group: UInt32, count: Int)] = []
    private var masks: [BigInteger] = []
    private var overlap = 0

    // P2 bookkeeping
    private var p2Order: [Int] = []  // position in P2_ELEMENTS → identifier
    private var p1Received: [UInt8] = []  // P1 elements re-blinded (records)
    private var p1Count = 0
    private var p1Seen: Set<Key32> = []
    private var sentOwnElements = false

    /// Prepares a session for `party` running the analysis `analysisName`.
    /// - Parameters:
    ///   - input: this party's rows.
    ///   - random: randomness for keys, shuffles and nonces; sessions use OpenSSL's DRBG.
    ///     Deterministic sources exist only for transcript tests.
    ///   - batchSize: elements per frame (1...65536).
    /// - Throws: `unknownAnalysis`, `unknownParty`, `missingColumn`, `invalidRow`,
    ///   `setSizeOutOfPolicy` (own set outside the policy: nothing is sent).
    public init(
        collaboration: Collaboration, analysis analysisName: String, party: String, input: PartyTable,
        random: any RandomSource = SecureRandom.system, batchSize: Int = 16_384
    ) throws {
        precondition((1...ElementBatch.maxCount).contains(batchSize), "batch size must be 1...65536")
        self.collaboration = collaboration
        self.analysis = try collaboration.analysis(named: analysisName)
        self.party = try collaboration.party(named: party).name
        self.peer = try collaboration.peer(of: party)
        self.role = analysis.role(of: party, in: collaboration)
        self.digest = try collaboration.digest()
        self.random = AnyRandomSource(random)
        self.batchSize = batchSize
        self.rowNumbers = input.rowNumbers
        self.inputRows = input.rows.count
        prepared = try InputPreparation.prepare(input, party: party, role: role, analysis: analysis)
        let bounds = analysis.bounds(of: party)
        guard prepared.identifiers.count >= bounds.min, prepared.usedRows <= bounds.max else {
            throw CleanRoomProtocolError.setSizeOutOfPolicy(
                party: party, size: prepared.usedRows > bounds.max ? prepared.usedRows : prepared.identifiers.count,
                min: bounds.min, max: bounds.max)
        }
        blinding = try BlindingKey(using: random)
        hasher = try HashToCurve25519()
        if analysis.kind == .intersectionSum {
            layout = PartySession.slotLayout(for: analysis)
        } else {
            layout = nil
        }
    }

    /// The packing layout both parties derive from the policy: one slot per value column and a
    /// final slot counting the value owner's rows; each slot holds max-rows × (max − min).
    static func slotLayout(for analysis: Analysis) -> PaillierSlotLayout {
        let maxRows = analysis.bounds(of: analysis.valueOwner!).max
        let rangeBits = analysis.values!.map { c in UInt64(c.max - c.min) }.map { $0 == 0 ? 1 : 64 - $0.leadingZeroBitCount }.max()!
        return PaillierSlotLayout(
            valueBits: max(rangeBits, 1), maxAddends: maxRows + 1, guardBits: 1, slotCount: analysis.values!.count + 1)
    }

    // MARK: Driving

    /// The first frames to send (HELLO).
    public func start() throws -> [Frame] {
        guard state == .new else { throw CleanRoomProtocolError.sessionClosed }
        nonce = try SecureRandom.bytes(32, using: random)
        state = .awaitingHello
        return [HelloMessage(digest: digest, role: role, analysis: analysis.name, party: party, nonce: nonce).frame()]
    }

    /// Consumes one frame from the peer and returns the frames to send in reply.
    /// - Throws: a `CleanRoomProtocolError` or `CleanRoomCryptoError`; the session is then failed
    ///   and the caller should send `abortFrame(for:)` and close.
    public func handle(_ frame: Frame) throws -> [Frame] {
        guard state != .finished && state != .failed else { throw CleanRoomProtocolError.sessionClosed }
        do {
            if frame.type == .abort {
                let a = try AbortMessage.decode(frame)
                throw CleanRoomProtocolError.peerAborted(code: a.code, reason: a.reason)
            }
            return try dispatch(frame)
        } catch {
            state = .failed
            wipeSecrets()
            throw error
        }
    }

    /// The ABORT frame telling the peer why this session stopped.
    public func abortFrame(for error: Error) -> Frame {
        AbortMessage(code: AbortMessage.code(for: error), reason: String(describing: error)).frame()
    }

    private func unexpected(_ frame: Frame) -> CleanRoomProtocolError {
        .unexpectedMessage(type: frame.type.description, state: state.rawValue)
    }

    private func dispatch(_ frame: Frame) throws -> [Frame] {
        switch (state, frame.type) {
        case (.awaitingHello, .hello):
            return try onHello(HelloMessage.decode(frame))
        case (.awaitingSetSize, .setSize):
            return try onSetSize(SetSizeMessage.decode(frame))
        case (.exchanging, .p1Elements) where role == .p2:
            return try p2OnP1Elements(frame)
        case (.exchanging, .p2Elements) where role == .p1,
            (.exchanging, .p2Reblinded) where role == .p1:
            return try p1OnP2Batch(frame)
        case (.awaitingResult, .p1Elements) where role == .p2:
            throw CleanRoomProtocolError.tooManyElements(message: "P1_ELEMENTS", announced: peerCount)
        case (.awaitingDecryptedSums, .p2Elements) where role == .p1:
            throw CleanRoomProtocolError.tooManyElements(message: "P2_ELEMENTS", announced: peerCount)
        case (.awaitingDecryptedSums, .p2Reblinded) where role == .p1:
            throw CleanRoomProtocolError.tooManyElements(message: "P2_REBLINDED", announced: prepared.identifiers.count)
        case (.awaitingResult, _) where role == .p2:
            return try p2OnResult(frame)
        case (.awaitingDecryptedSums, .decryptedSums) where role == .p1:
            return try p1OnDecryptedSums(frame)
        default:
            throw unexpected(frame)
        }
    }

    // MARK: Handshake

    private func onHello(_ hello: HelloMessage) throws -> [Frame] {
        func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }
        guard hello.digest == digest else {
            throw CleanRoomProtocolError.handshakeMismatch(field: "collaboration digest", ours: hex(digest), theirs: hex(hello.digest))
        }
        guard hello.analysis == analysis.name else {
            throw CleanRoomProtocolError.handshakeMismatch(field: "analysis", ours: analysis.name, theirs: hello.analysis)
        }
        guard hello.party == peer else {
            throw CleanRoomProtocolError.handshakeMismatch(field: "peer party", ours: peer, theirs: hello.party)
        }
        let expectedRole: Role = role == .p1 ? .p2 : .p1
        guard hello.role == expectedRole else {
            throw CleanRoomProtocolError.handshakeMismatch(
                field: "peer role", ours: "P\(expectedRole.rawValue)", theirs: "P\(hello.role.rawValue)")
        }
        guard hello.nonce != nonce else {
            throw CleanRoomProtocolError.handshakeMismatch(field: "nonce", ours: "fresh", theirs: "a copy of ours (reflected)")
        }
        state = .awaitingSetSize
        var message = SetSizeMessage(count: UInt64(prepared.identifiers.count), paillierKey: nil)
        if role == .p2, analysis.kind == .intersectionSum {
            let key = try PaillierPrivateKey.generate(bits: analysis.keyBits!, using: random)
            try layout!.check(fitsIn: key.publicKey)
            paillier = key
            message.paillierKey = key.publicKey.serialized()
        }
        return [message.frame()]
    }

    private func onSetSize(_ m: SetSizeMessage) throws -> [Frame] {
        let bounds = analysis.bounds(of: peer)
        guard m.count >= UInt64(bounds.min), m.count <= UInt64(bounds.max) else {
            throw CleanRoomProtocolError.setSizeOutOfPolicy(
                party: peer, size: Int(min(m.count, UInt64(Int.max))), min: bounds.min, max: bounds.max)
        }
        peerCount = Int(m.count)
        let needsKey = role == .p1 && analysis.kind == .intersectionSum
        guard needsKey == (m.paillierKey != nil) else {
            throw CleanRoomProtocolError.malformedMessage(
                type: "SET_SIZE", problem: needsKey ? "Paillier key missing" : "unexpected Paillier key")
        }
        if needsKey {
            let key: PaillierPublicKey
            do { key = try PaillierPublicKey.deserialize(m.paillierKey!) } catch {
                throw CleanRoomProtocolError.invalidPeerCryptography(problem: "Paillier public key: \(error)")
            }
            guard key.bits == analysis.keyBits! else {
                throw CleanRoomProtocolError.invalidPeerCryptography(
                    problem: "Paillier key of \(key.bits) bits; the collaboration says \(analysis.keyBits!)")
            }
            try layout!.check(fitsIn: key)
            peerPaillier = key
        }
        state = .exchanging
        if role == .p1 {
            if analysis.groupBy != nil { tags = try GroupTagCipher(using: random) }
            return try p1SendElements()
        }
        // P2 sends its own set now, except in intersection-sum, where P1 first gets its own set
        // back (so P1 can add ciphertexts as they stream in instead of holding them all).
        if analysis.kind != .intersectionSum {
            sentOwnElements = true
            return try p2SendOwnElements()
        }
        return []
    }

    // MARK: Blinding helpers

    /// Hashes identifiers `ids[range]` to the curve and blinds them with this party's key.
    private func hashAndBlind(_ ids: ArraySlice<Int>) throws -> [UInt8] {
        let count = ids.count
        var flat = [UInt8]()
        var offsets = [0]
        offsets.reserveCapacity(count + 1)
        for i in ids {
            flat += prepared.identifiers[i]
            offsets.append(flat.count)
        }
        var points = [UInt64](repeating: 0, count: 4 * count)
        var scratch = [UInt64](repeating: 0, count: 8 * count)
        try flat.withUnsafeBytes { all in
            try points.withUnsafeMutableBytes { out in
                try scratch.withUnsafeMutableBytes { s in
                    try hasher.hashToUBatch(
                        count: count, message: { UnsafeRawBufferPointer(rebasing: all[offsets[$0]..<offsets[$0 + 1]]) }, output: out,
                        scratch: s)
                }
            }
        }
        secureWipe(&flat)
        var blinded = [UInt8](repeating: 0, count: 32 * count)
        try points.withUnsafeBytes { p in try blinded.withUnsafeMutableBytes { try blinding.blindBatch(p, into: $0) } }
        points.withUnsafeMutableBytes { secureWipe($0) }
        return blinded
    }

    /// Blinds the first 32 bytes of each `width`-byte record of `records` in place.
    private func reblind(records: inout [UInt8], count: Int, width: Int, context: String) throws {
        var points = [UInt8](repeating: 0, count: 32 * count)
        for i in 0..<count { points.replaceSubrange((32 * i)..<(32 * i + 32), with: records[(width * i)..<(width * i + 32)]) }
        var out = [UInt8](repeating: 0, count: 32 * count)
        do {
            try points.withUnsafeBytes { p in try out.withUnsafeMutableBytes { try blinding.blindBatch(p, into: $0) } }
        } catch CleanRoomCryptoError.lowOrderPoint(let index) {
            throw CleanRoomProtocolError.invalidPeerCryptography(problem: "\(context) element \(index) is a low-order point")
        }
        for i in 0..<count { records.replaceSubrange((width * i)..<(width * i + 32), with: out[(32 * i)..<(32 * i + 32)]) }
    }

    private func batches(_ total: Int, width: Int) -> StrideTo<Int> {
        stride(from: 0, to: total, by: max(1, min(batchSize, Frame.maxPayloadBytes / width / 2)))
    }

    // MARK: P1

    private var p1RecordWidth: Int { analysis.groupBy != nil ? 32 + GroupTagCipher.tagBytes : 32 }
    private var p2RecordWidth: Int { analysis.kind == .intersectionSum ? 32 + peerPaillierCiphertextBytes : 32 }
    private var peerPaillierCiphertextBytes: Int { (peerPaillier?.ciphertextBytes ?? paillier?.publicKey.ciphertextBytes)! }

    private func p1SendElements() throws -> [Frame] {
        sentOrder = try SecureRandom.permutation(count: prepared.identifiers.count, using: random)
        let width = p1RecordWidth
        var frames: [Frame] = []
        for start in batches(sentOrder.count, width: width) {
            let ids = sentOrder[start..<min(start + batchSize, sentOrder.count)]
            let blinded = try hashAndBlind(ids)
            var records = [UInt8](repeating: 0, count: width * ids.count)
            for (k, id) in ids.enumerated() {
                records.replaceSubrange((width * k)..<(width * k + 32), with: blinded[(32 * k)..<(32 * k + 32)])
                if let tags {
                    try records.withUnsafeMutableBytes {
                        try tags.seal(group: prepared.groupOf[id], into: $0.baseAddress! + width * k + 32, using: random)
                    }
                }
            }
            frames.append(ElementBatch(type: .p1Elements, count: ids.count, records: records).frame())
        }
        return frames
    }

    private func p1OnP2Batch(_ frame: Frame) throws -> [Frame] {
        if frame.type == .p2Reblinded {
            let width = p1RecordWidth
            let batch = try ElementBatch.decode(frame, width: width, remaining: prepared.identifiers.count - reblindedCount)
            for k in 0..<batch.count {
                let key = Key32(batch.records, at: width * k)
                guard reblindedIndex.updateValue(Int32(reblindedCount + k), forKey: key) == nil else {
                    throw CleanRoomProtocolError.duplicateBlindedElement(message: "P2_REBLINDED")
                }
            }
            if width > 32 {
                for k in 0..<batch.count { reblindedTags += batch.records[(width * k + 32)..<(width * k + width)] }
            }
            reblindedCount += batch.count
            if reblindedCount == prepared.identifiers.count {
                // Match what arrived early, then stream the rest.
                let ctBytes = analysis.kind == .intersectionSum ? peerPaillierCiphertextBytes : 0
                for (j, key) in pendingKeys.enumerated() {
                    try p1Match(
                        key, p2Index: j, ciphertext: ctBytes == 0 ? nil : pendingCiphertexts[(ctBytes * j)..<(ctBytes * j + ctBytes)])
                }
                pendingKeys = []
                pendingCiphertexts = []
            }
        } else {
            let width = p2RecordWidth
            var batch = try ElementBatch.decode(frame, width: width, remaining: peerCount - p2Count)
            try reblind(records: &batch.records, count: batch.count, width: width, context: "P2_ELEMENTS")
            for k in 0..<batch.count {
                let key = Key32(batch.records, at: width * k)
                guard p2Seen.insert(key).inserted else { throw CleanRoomProtocolError.duplicateBlindedElement(message: "P2_ELEMENTS") }
                let ct = width > 32 ? batch.records[(width * k + 32)..<(width * k + width)] : nil
                if reblindedCount == prepared.identifiers.count {
                    try p1Match(key, p2Index: p2Count + k, ciphertext: ct)
                } else {
                    pendingKeys.append(key)
                    if let ct { pendingCiphertexts += ct }
                }
            }
            p2Count += batch.count
        }
        guard reblindedCount == prepared.identifiers.count && p2Count == peerCount else { return [] }
        return try p1Finish()
    }

    private func p1Match(_ key: Key32, p2Index: Int, ciphertext: ArraySlice<UInt8>?) throws {
        guard let position = reblindedIndex[key] else { return }
        overlap += 1
        switch analysis.kind {
        case .cardinality:
            break
        case .intersection:
            matchedPositions.append(Int(position))
            matchedP2.append(UInt32(p2Index))
        case .intersectionSum:
            let key = peerPaillier!
            let c: PaillierCiphertext
            do { c = try key.ciphertext(bytes: Array(ciphertext!)) } catch {
                throw CleanRoomProtocolError.invalidPeerCryptography(problem: "P2_ELEMENTS element \(p2Index): \(error)")
            }
            var group: UInt32 = 0
            if let tags {
                let offset = Int(position) * GroupTagCipher.tagBytes
                group = try reblindedTags.withUnsafeBytes { try tags.open($0.baseAddress! + offset) }
                guard Int(group) < prepared.groupLabels.count else { throw CleanRoomCryptoError.invalidGroupTag }
            }
            groupSums[group] = groupSums[group].map { key.add($0, c) } ?? c
            groupCounts[group, default: 0] += 1
        }
    }

    private func p1Finish() throws -> [Frame] {
        let p2Receives = analysis.receivers.contains(peer)
        let suppressed = overlap < analysis.minIntersection
        var result = baseResult()
        result.intersectionSize = suppressed ? .suppressed(below: analysis.minIntersection) : .revealed(overlap)
        switch analysis.kind {
        case .cardinality:
            finish(result)
            return [
                p2Receives ? CardinalityMessage(suppressed: suppressed, count: UInt64(overlap)).frame() : Frame(type: .done, payload: [])
            ]
        case .intersection:
            if !suppressed {
                result.matchedRows = matchedPositions.flatMap { prepared.rows[sentOrder[$0]] }.map { rowNumbers[$0] }.sorted()
            }
            finish(result)
            guard p2Receives else { return [Frame(type: .done, payload: [])] }
            return [MatchesMessage(suppressed: suppressed, indices: suppressed ? [] : matchedP2.sorted()).frame()]
        case .intersectionSum:
            return try p1SendSums(result: result, suppressed: suppressed, p2Receives: p2Receives)
        }
    }

    private func p1SendSums(result: SessionResult, suppressed: Bool, p2Receives: Bool) throws -> [Frame] {
        let key = peerPaillier!
        let p1Receives = analysis.receivers.contains(party)
        var result = result
        guard !suppressed else {
            if analysis.groupBy != nil { result.suppressedGroups = prepared.groupLabels.count }
            finish(result)
            return [
                EncryptedSumsMessage(suppressed: true, masked: false, intersection: nil, groups: []).frame(
                    ciphertextBytes: key.ciphertextBytes)
            ]
        }
        let threshold = analysis.minGroupSize ?? 1
        reported = groupCounts.filter { $0.value >= threshold }.map { (group: $0.key, count: $0.value) }.sorted { $0.group < $1.group }
        if analysis.groupBy != nil { result.suppressedGroups = prepared.groupLabels.count - reported.count }
        let masked = !p2Receives
        var groups: [EncryptedSumsMessage.Group] = []
        for g in reported {
            var c = try key.rerandomize(groupSums[g.group]!, using: random)
            if masked {
                let mask = try BigInteger.random(below: key.n, using: random)
                masks.append(mask)
                c = try key.addPlaintext(c, key.decodeSigned(mask))
            }
            groups.append(
                EncryptedSumsMessage.Group(
                    label: (!masked && analysis.groupBy != nil) ? prepared.groupLabels[Int(g.group)] : nil,
                    count: masked ? nil : UInt64(g.count), ciphertext: key.serialize(c)))
        }
        let message = EncryptedSumsMessage(suppressed: false, masked: masked, intersection: masked ? nil : UInt64(overlap), groups: groups)
        groupSums = [:]
        if p1Receives {
            state = .awaitingDecryptedSums
            pendingResult = result
        } else {
            finish(result)
        }
        return [message.frame(ciphertextBytes: key.ciphertextBytes)]
    }

    private var pendingResult: SessionResult?

    private func p1OnDecryptedSums(_ frame: Frame) throws -> [Frame] {
        let key = peerPaillier!
        let m = try DecryptedSumsMessage.decode(frame, plaintextBytes: key.modulusBytes, expected: reported.count)
        var result = pendingResult!
        var groups: [GroupResult] = []
        for (i, g) in reported.enumerated() {
            var plain = BigInteger(bigEndian: m.plaintexts[i])
            guard plain < key.n else {
                throw CleanRoomProtocolError.malformedMessage(type: "DECRYPTED_SUMS", problem: "plaintext \(i) is not below n")
            }
            if !masks.isEmpty { plain = (plain - masks[i]).mod(key.n) }
            let label = analysis.groupBy != nil ? prepared.groupLabels[Int(g.group)] : nil
            groups.append(try groupResult(label: label, count: g.count, plaintext: plain))
        }
        result.groups = groups
        masks = []
        finish(result)
        return []
    }

    // MARK: P2

    private func p2SendOwnElements() throws -> [Frame] {
        p2Order = try SecureRandom.permutation(count: prepared.identifiers.count, using: random)
        let sum = analysis.kind == .intersectionSum
        let ctBytes = sum ? paillier!.publicKey.ciphertextBytes : 0
        let width = 32 + ctBytes
        var frames: [Frame] = []
        for start in batches(p2Order.count, width: width) {
            let ids = p2Order[start..<min(start + batchSize, p2Order.count)]
            let blinded = try hashAndBlind(ids)
            guard sum else {
                frames.append(ElementBatch(type: .p2Elements, count: ids.count, records: blinded).frame())
                continue
            }
            var records = [UInt8](repeating: 0, count: width * ids.count)
            for (k, id) in ids.enumerated() {
                records.replaceSubrange((width * k)..<(width * k + 32), with: blinded[(32 * k)..<(32 * k + 32)])
                let plaintext = try layout!.pack(prepared.slots[id])
                let c = try paillier!.encrypt(plaintext, variableTime: true, using: random)
                try records.withUnsafeMutableBytes {
                    try paillier!.publicKey.serialize(
                        c, into: UnsafeMutableRawBufferPointer(rebasing: $0[(width * k + 32)..<(width * k + width)]))
                }
            }
            frames.append(ElementBatch(type: .p2Elements, count: ids.count, records: records).frame())
        }
        return frames
    }

    private func p2OnP1Elements(_ frame: Frame) throws -> [Frame] {
        let width = analysis.groupBy != nil ? 32 + GroupTagCipher.tagBytes : 32
        let remaining = peerCount - p1Count
        var batch = try ElementBatch.decode(frame, width: width, remaining: remaining)
        for k in 0..<batch.count {
            guard p1Seen.insert(Key32(batch.records, at: width * k)).inserted else {
                throw CleanRoomProtocolError.duplicateBlindedElement(message: "P1_ELEMENTS")
            }
        }
        try reblind(records: &batch.records, count: batch.count, width: width, context: "P1_ELEMENTS")
        p1Count += batch.count
        var frames: [Frame] = []
        if analysis.kind == .intersection {
            // P1 must learn which of its rows match, so its order is kept: stream back at once.
            frames.append(ElementBatch(type: .p2Reblinded, count: batch.count, records: batch.records).frame())
        } else {
            p1Received += batch.records
        }
        guard p1Count == peerCount else { return frames }
        p1Seen = []
        if analysis.kind != .intersection {
            // cardinality and intersection-sum: P1 must not learn which of its elements matched.
            try p1Received.withUnsafeMutableBytes { try SecureRandom.shuffle(records: $0, width: width, using: random) }
            for start in batches(peerCount, width: width) {
                let n = min(batchSize, peerCount - start)
                frames.append(
                    ElementBatch(type: .p2Reblinded, count: n, records: Array(p1Received[(start * width)..<((start + n) * width)])).frame())
            }
            p1Received = []
        }
        if !sentOwnElements {
            sentOwnElements = true
            frames += try p2SendOwnElements()
        }
        state = .awaitingResult
        return frames
    }

    private func p2OnResult(_ frame: Frame) throws -> [Frame] {
        let receives = analysis.receivers.contains(party)
        var result = baseResult()
        switch (analysis.kind, frame.type) {
        case (_, .done) where !receives && analysis.kind != .intersectionSum:
            try ByteReader(frame).finish()
            finish(result)
            return []
        case (.cardinality, .cardinality) where receives:
            let m = try CardinalityMessage.decode(frame)
            guard m.suppressed || m.count <= UInt64(min(prepared.identifiers.count, peerCount)) else {
                throw CleanRoomProtocolError.malformedMessage(type: "CARDINALITY", problem: "overlap larger than either set")
            }
            result.intersectionSize = m.suppressed ? .suppressed(below: analysis.minIntersection) : .revealed(Int(m.count))
            finish(result)
            return []
        case (.intersection, .matches) where receives:
            let m = try MatchesMessage.decode(frame, limit: prepared.identifiers.count)
            guard m.suppressed || m.indices.count >= analysis.minIntersection else {
                throw CleanRoomProtocolError.malformedMessage(
                    type: "MATCHES", problem: "fewer matches than the threshold, yet not suppressed")
            }
            result.intersectionSize = m.suppressed ? .suppressed(below: analysis.minIntersection) : .revealed(m.indices.count)
            if !m.suppressed {
                result.matchedRows = m.indices.flatMap { prepared.rows[p2Order[Int($0)]] }.map { rowNumbers[$0] }.sorted()
            }
            finish(result)
            return []
        case (.intersectionSum, .encryptedSums):
            return try p2OnEncryptedSums(frame, result: result, receives: receives)
        default:
            throw unexpected(frame)
        }
    }

    private func p2OnEncryptedSums(_ frame: Frame, result: SessionResult, receives: Bool) throws -> [Frame] {
        let key = paillier!
        var result = result
        let maxGroups = analysis.groupBy != nil ? peerCount : 1
        let m = try EncryptedSumsMessage.decode(frame, ciphertextBytes: key.publicKey.ciphertextBytes, maxGroups: maxGroups)
        let p1Receives = analysis.receivers.contains(peer)
        if m.suppressed {
            if receives { result.intersectionSize = .suppressed(below: analysis.minIntersection) }
            finish(result)
            return []
        }
        guard m.masked == !receives else {
            throw CleanRoomProtocolError.malformedMessage(
                type: "ENCRYPTED_SUMS",
                problem: m.masked ? "masked, but we receive the result" : "unmasked, but we do not receive the result")
        }
        guard (analysis.groupBy != nil) == (m.groups.first?.label != nil) || m.masked else {
            throw CleanRoomProtocolError.malformedMessage(type: "ENCRYPTED_SUMS", problem: "group labels do not match the analysis")
        }
        var plaintexts: [[UInt8]] = []
        var groups: [GroupResult] = []
        var total: UInt64 = 0
        for (i, g) in m.groups.enumerated() {
            let c: PaillierCiphertext
            do { c = try key.publicKey.ciphertext(bytes: g.ciphertext) } catch {
                throw CleanRoomProtocolError.invalidPeerCryptography(problem: "ENCRYPTED_SUMS group \(i): \(error)")
            }
            let plain = try key.decrypt(c)
            if receives {
                let count = Int(g.count!)
                guard count >= (analysis.minGroupSize ?? analysis.minIntersection), count <= prepared.identifiers.count else {
                    throw CleanRoomProtocolError.malformedMessage(
                        type: "ENCRYPTED_SUMS", problem: "group \(i) count \(count) is outside what the policy allows")
                }
                total += g.count!
                groups.append(try groupResult(label: g.label, count: count, plaintext: plain))
            }
            if p1Receives { plaintexts.append(try plain.bigEndianBytes(width: key.publicKey.modulusBytes)) }
        }
        if receives {
            let overlapSize = Int(m.intersection!)
            guard overlapSize >= analysis.minIntersection, total <= m.intersection! else {
                throw CleanRoomProtocolError.malformedMessage(
                    type: "ENCRYPTED_SUMS", problem: "intersection size inconsistent with the policy or the groups")
            }
            result.intersectionSize = .revealed(overlapSize)
            result.groups = groups
        }
        finish(result)
        return p1Receives ? [DecryptedSumsMessage(plaintexts: plaintexts).frame()] : []
    }

    // MARK: Results

    private func baseResult() -> SessionResult {
        SessionResult(
            collaborationDigest: digest.map { String(format: "%02x", $0) }.joined(), analysis: analysis.name, kind: analysis.kind,
            party: party, peer: peer, role: role, inputRows: inputRows, skippedRows: prepared.skippedRows,
            uniqueIdentifiers: prepared.identifiers.count, peerUniqueIdentifiers: peerCount)
    }

    /// Unpacks a decrypted group sum into per-column sums (and means) as the policy asks.
    private func groupResult(label: String?, count: Int, plaintext: BigInteger) throws -> GroupResult {
        let slots: [BigInteger]
        do { slots = try layout!.unpack(plaintext) } catch {
            throw CleanRoomProtocolError.invalidPeerCryptography(problem: "decrypted sum does not fit the slot layout")
        }
        let columns = analysis.values!
        let rows = slots[columns.count]
        let stats = Set(analysis.statistics ?? [.count, .sum])
        var sums: [String: String] = [:], means: [String: String] = [:]
        for (i, col) in columns.enumerated() {
            let total = slots[i] + BigInteger(Int(col.min)) * rows
            sums[col.name] = DecimalFormat.format(total, scale: col.scale)
            means[col.name] = DecimalFormat.divide(total, by: count, scale: col.scale, extraDigits: 2)
        }
        return GroupResult(
            label: label, count: stats.contains(.count) ? count : nil, valueRows: stats.contains(.count) ? rows.intValue : nil,
            sums: stats.contains(.sum) ? sums : nil, means: stats.contains(.mean) ? means : nil)
    }

    private func finish(_ r: SessionResult) {
        result = r
        state = .finished
        wipeSecrets()
    }

    private func wipeSecrets() {
        paillier = nil
        tags = nil
        masks = []
        pendingResult = pendingResult.map { $0 }
    }
}

/// A 32-byte blinded element as a hashable key.
struct Key32: Hashable {
    let a: UInt64, b: UInt64, c: UInt64, d: UInt64

    init(_ bytes: [UInt8], at offset: Int) {
        (a, b, c, d) = bytes.withUnsafeBytes { p in
            (
                p.loadUnaligned(fromByteOffset: offset, as: UInt64.self), p.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self),
                p.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self), p.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self)
            )
        }
    }
}

/// Exact decimal formatting of scaled integers.
enum DecimalFormat {
    /// 123456 with scale 2 → "1234.56".
    static func format(_ v: BigInteger, scale: Int) -> String {
        let negative = v.signum < 0
        var digits = (negative ? -v : v).description
        if scale > 0 {
            if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
        }
        return (negative ? "-" : "") + digits
    }

    /// v / n with `scale + extraDigits` fraction digits, rounded half away from zero.
    static func divide(_ v: BigInteger, by n: Int, scale: Int, extraDigits: Int) -> String {
        precondition(n > 0)
        var factor = BigInteger(1)
        for _ in 0..<extraDigits { factor = factor * BigInteger(10) }
        let negative = v.signum < 0
        let numerator = (negative ? -v : v) * factor * BigInteger(2) + BigInteger(n)
        let q = numerator.dividedFloor(by: BigInteger(2 * n))
        return format(negative ? -q : q, scale: scale + extraDigits)
    }
}
