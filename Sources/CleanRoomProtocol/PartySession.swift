// The session state machine of one party (P1 or P2), in the shape of Google's Private Join and
// Compute (Ion et al., "On Deploying Secure Computing: Private Intersection-Sum-with-Cardinality",
// EuroS&P 2020): commutative blinding H(x)^k over curve25519 and Paillier sums. A session
// consumes frames and returns frames to send; it never touches sockets or files, so the same code
// runs in-process in tests and over TLS in the runner.
//
// Security model: semi-honest (honest-but-curious) parties, as in the paper. Every peer value is
// still validated (lengths, counts against announcements and policy, canonical encodings,
// duplicates, low-order points, Paillier key and ciphertext range, group tags), so a hostile
// peer gets a typed error, not a crash; validation never depends on whether an element matched,
// so an abort does not reveal membership.
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
    /// This session's blinding key; released when the session ends.
    private(set) var blinding: BlindingKey?
    private let hashers: [HashToCurve25519]  // one per worker thread
    private let batchSize: Int
    private let parallelism: Int
    var parallelismLimit: Int { parallelism }

    /// Frames to send, some computed only when asked for (`nextOutbound`), so that a large set
    /// never sits in memory as frames.
    private enum Outbound {
        case frame(Frame)
        case ownElements(next: Int)
        case reblinded(next: Int)
    }
    private var outbox: [Outbound] = []

    // intersection-sum
    private let layout: PaillierSlotLayout?
    private var paillier: PaillierPrivateKey?  // P2
    private var peerPaillier: PaillierPublicKey?  // P1
    private var tagKey: GroupTagKey?  // P1 with groups
    private var tagRerandomizer: GroupTagRerandomizer?  // P2 with groups

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
    /// Elements this party has blinded so far (its own and the peer's), and how many it will
    /// blind in all (known once the peer's set size has arrived; 0 before).
    public var elementProgress: (done: Int, total: Int) {
        (ownBlinded + peerBlinded, peerCount == 0 ? 0 : prepared.identifiers.count + peerCount)
    }
    private var ownBlinded = 0
    private var peerBlinded = 0

    // P1 bookkeeping
    private var sentOrder: [Int] = []  // position in P1_ELEMENTS → identifier
    // Elements are kept in flat arrays and sorted once, not in hash tables: 24 bytes each.
    private var reblinded: [KeyPosition] = []  // P2_REBLINDED elements with their positions; sorted when complete
    private var reblindedGroups: [UInt32] = []  // group of each position (grouped sums)
    private var reblindedCount = 0
    private var p2Elements: [KeyPosition] = []  // P2_ELEMENTS elements with their positions
    private var p2Count = 0
    private var matchedPositions: [Int] = []  // P1 positions in the overlap
    private var matchedP2: [UInt32] = []  // P2_ELEMENTS positions in the overlap
    private var groupSums: [UInt32: PaillierCiphertext] = [:]
    private var groupCounts: [UInt32: Int] = [:]
    private var sentGroups: [(group: UInt32, count: Int, real: Bool)] = []
    private var masks: [BigInteger] = []
    private var overlap = 0
    private var pendingResult: SessionResult?

    // P2 bookkeeping
    private var p2Order: [Int] = []  // position in P2_ELEMENTS → identifier
    private var p1Received: [UInt8] = []  // P1 elements re-blinded (records)
    private var p1Count = 0
    private var p1Keys: [ElementKey] = []  // P1's elements as re-blinded, for the duplicate check
    private var sentOwnElements = false
    private var receivedMatches: [Int32] = []  // MATCHES arriving in several frames

    /// Prepares a session for `party` running the analysis `analysisName`.
    /// - Parameters:
    ///   - input: this party's rows.
    ///   - random: randomness for keys, shuffles and nonces; sessions use OpenSSL's DRBG.
    ///     Deterministic sources exist only for transcript tests.
    ///   - batchSize: elements per frame (1...65536).
    ///   - parallelism: worker threads for hashing, blinding, encryption and tags (default: all
    ///     cores). Transcript replays use 1, so that a seeded source is drawn in a fixed order.
    /// - Throws: `unknownAnalysis`, `unknownParty`, `missingColumn`, `invalidRow`,
    ///   `setSizeOutOfPolicy` (own set outside the policy: nothing is sent).
    public init(
        collaboration: Collaboration, analysis analysisName: String, party: String, input: some PartyData,
        random: any RandomSource = SecureRandom.system, batchSize: Int = 16_384,
        parallelism: Int = ProcessInfo.processInfo.activeProcessorCount
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
        self.parallelism = max(1, parallelism)
        // Row numbers are kept only where a result names rows.
        self.rowNumbers = self.analysis.kind == .intersection ? (0..<input.rowCount).map(input.rowNumber) : []
        self.inputRows = input.rowCount
        prepared = try InputPreparation.prepare(input, party: party, role: role, analysis: analysis)
        let bounds = analysis.bounds(of: party)
        guard prepared.identifiers.count >= bounds.min, prepared.usedRows <= bounds.max else {
            throw CleanRoomProtocolError.setSizeOutOfPolicy(
                party: party, size: prepared.usedRows > bounds.max ? prepared.usedRows : prepared.identifiers.count,
                min: bounds.min, max: bounds.max)
        }
        blinding = try BlindingKey(using: random)
        hashers = try (0..<max(1, parallelism)).map { _ in try HashToCurve25519() }
        layout = analysis.kind == .intersectionSum ? PartySession.slotLayout(for: analysis) : nil
    }

    /// The packing layout both parties derive from the policy: one slot per value column and a
    /// final slot counting the value owner's rows; each slot holds max-rows × (max − min).
    static func slotLayout(for analysis: Analysis) -> PaillierSlotLayout {
        let maxRows = analysis.bounds(of: analysis.valueOwner!).max
        let rangeBits = analysis.values!.map { c in UInt64(c.max - c.min) }.map { $0 == 0 ? 1 : 64 - $0.leadingZeroBitCount }.max()!
        return PaillierSlotLayout(
            valueBits: max(rangeBits, 1), maxAddends: maxRows + 1, guardBits: 1, slotCount: analysis.values!.count + 1)
    }

    /// Half-open ranges of at most `batchSize` elements, each frame staying well under the
    /// frame limit for records of `width` bytes.
    static func batchRanges(total: Int, batchSize: Int, width: Int) -> [Range<Int>] {
        let step = max(1, min(batchSize, Frame.maxPayloadBytes / width / 2))
        return stride(from: 0, to: total, by: step).map { $0..<min($0 + step, total) }
    }

    // MARK: Driving

    /// Starts the session and returns every frame to send first (HELLO). Equivalent to
    /// `begin()` followed by draining `nextOutbound()`.
    public func start() throws -> [Frame] {
        try begin()
        return try drainOutbound()
    }

    /// Starts the session; the HELLO is then available from `nextOutbound()`.
    public func begin() throws {
        guard state == .new else { throw CleanRoomProtocolError.sessionClosed }
        nonce = try SecureRandom.bytes(32, using: random)
        state = .awaitingHello
        outbox.append(.frame(HelloMessage(digest: digest, role: role, analysis: analysis.name, party: party, nonce: nonce).frame()))
    }

    /// Consumes one frame from the peer and returns every frame to send in reply (computing
    /// large element streams at once; the runner uses `receive` and `nextOutbound` instead).
    /// - Throws: a `CleanRoomProtocolError` or `CleanRoomCryptoError`; the session is then failed
    ///   and the caller should send `abortFrame(for:)` and close.
    public func handle(_ frame: Frame) throws -> [Frame] {
        try receive(frame)
        return try drainOutbound()
    }

    /// Consumes one frame from the peer; replies become available from `nextOutbound()`.
    /// - Throws: as `handle(_:)`.
    public func receive(_ frame: Frame) throws {
        guard state != .finished && state != .failed else { throw CleanRoomProtocolError.sessionClosed }
        try failing {
            if frame.type == .abort {
                let a = try AbortMessage.decode(frame)
                throw CleanRoomProtocolError.peerAborted(code: a.code, reason: a.reason)
            }
            outbox += try dispatch(frame).map(Outbound.frame)
        }
    }

    /// The next frame to send, computed now if it is part of an element stream; nil when there
    /// is nothing to send until the peer's next frame arrives.
    public func nextOutbound() throws -> Frame? {
        guard !outbox.isEmpty else { return nil }
        return try failing {
            switch outbox.removeFirst() {
            case .frame(let f):
                return f
            case .ownElements(let next):
                let (frame, more) = role == .p1 ? try p1ElementsBatch(from: next) : try p2ElementsBatch(from: next)
                if !more.isEmpty { outbox.insert(.ownElements(next: more.upperBound), at: 0) }
                return frame
            case .reblinded(let next):
                let width = p1RecordWidth
                let range = batches(peerCount - next, width: width).first!.shifted(by: next)
                let frame = ElementBatch(
                    type: .p2Reblinded, count: range.count,
                    records: Array(p1Received[(range.lowerBound * width)..<(range.upperBound * width)])
                ).frame()
                if range.upperBound < peerCount {
                    outbox.insert(.reblinded(next: range.upperBound), at: 0)
                } else {
                    p1Received = []
                }
                return frame
            }
        }
    }

    private func drainOutbound() throws -> [Frame] {
        var frames: [Frame] = []
        while let f = try nextOutbound() { frames.append(f) }
        return frames
    }

    /// Runs `body`; on any error the session fails and forgets its secrets.
    private func failing<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch {
            state = .failed
            outbox = []
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
        guard hello.digest == digest else {
            throw CleanRoomProtocolError.handshakeMismatch(
                field: "collaboration digest", ours: Hex.encode(digest), theirs: Hex.encode(hello.digest))
        }
        guard hello.analysis == analysis.name else {
            throw CleanRoomProtocolError.handshakeMismatch(field: "analysis", ours: analysis.name, theirs: sanitized(hello.analysis))
        }
        guard hello.party == peer else {
            throw CleanRoomProtocolError.handshakeMismatch(field: "peer party", ours: peer, theirs: sanitized(hello.party))
        }
        let expectedRole: Role = role == .p1 ? .p2 : .p1
        guard hello.role == expectedRole else {
            throw CleanRoomProtocolError.handshakeMismatch(field: "peer role", ours: "\(expectedRole)", theirs: "\(hello.role)")
        }
        guard hello.nonce != nonce else {
            throw CleanRoomProtocolError.handshakeMismatch(field: "nonce", ours: "fresh", theirs: "a copy of ours (reflected)")
        }
        state = .awaitingSetSize
        var message = SetSizeMessage(count: UInt64(prepared.identifiers.count), paillierKey: nil, groupKey: nil)
        if analysis.kind == .intersectionSum {
            if role == .p2 {
                let key = try PaillierPrivateKey.generate(bits: analysis.keyBits!, using: random)
                try layout!.check(fitsIn: key.publicKey)
                paillier = key
                message.paillierKey = key.publicKey.serialized()
            } else if analysis.groupBy != nil {
                let key = try GroupTagKey(groupCount: prepared.groupLabels.count, using: random)
                tagKey = key
                message.groupKey = key.publicKey
            }
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
        let sum = analysis.kind == .intersectionSum
        let needsPaillier = role == .p1 && sum
        let needsGroupKey = role == .p2 && sum && analysis.groupBy != nil
        guard needsPaillier == (m.paillierKey != nil) else {
            throw CleanRoomProtocolError.malformedMessage(
                type: "SET_SIZE", problem: needsPaillier ? "Paillier key missing" : "unexpected Paillier key")
        }
        guard needsGroupKey == (m.groupKey != nil) else {
            throw CleanRoomProtocolError.malformedMessage(
                type: "SET_SIZE", problem: needsGroupKey ? "group-tag key missing" : "unexpected group-tag key")
        }
        if needsPaillier {
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
        if needsGroupKey {
            do { tagRerandomizer = try GroupTagRerandomizer(publicKey: m.groupKey!) } catch {
                throw CleanRoomProtocolError.invalidPeerCryptography(problem: "group-tag key: \(error)")
            }
        }
        state = .exchanging
        // Both counts are known (and within the policy): size the element lists once, so that
        // they never grow by copying (a doubling copy of a million entries is tens of megabytes).
        if role == .p1 {
            reblinded.reserveCapacity(prepared.identifiers.count)
            p2Elements.reserveCapacity(peerCount)
        } else {
            p1Keys.reserveCapacity(peerCount)
            if analysis.kind != .intersection { p1Received.reserveCapacity(peerCount * p1RecordWidth) }
        }
        if role == .p1 { return try p1SendElements() }
        // P2 sends its own set now, except in intersection-sum, where P1 first gets its own set
        // back (so P1 can add ciphertexts as they stream in instead of holding them all).
        if !sum {
            sentOwnElements = true
            return try p2SendOwnElements()
        }
        return []
    }

    // MARK: Blinding helpers

    /// Hashes the identifiers `ids` to the curve and blinds them with this party's key, split
    /// across the workers.
    private func hashAndBlind(_ ids: ArraySlice<Int>) throws -> [UInt8] {
        let count = ids.count
        var flat = [UInt8]()
        flat.reserveCapacity(ids.reduce(0) { $0 + prepared.identifiers[$1].count })
        var offsets = [0]
        offsets.reserveCapacity(count + 1)
        for i in ids {
            flat += prepared.identifiers[i]
            offsets.append(flat.count)
        }
        var points = [UInt64](repeating: 0, count: 4 * count)
        var scratch = [UInt64](repeating: 0, count: 8 * count)
        var blinded = [UInt8](repeating: 0, count: 32 * count)
        let key = blinding!, hashers = self.hashers
        try flat.withUnsafeBytes { all in
            try points.withUnsafeMutableBytes { pointBytes in
                try scratch.withUnsafeMutableBytes { scratchBytes in
                    try blinded.withUnsafeMutableBytes { out in
                        let (m, p, sc, o) = (
                            UnsafeSendable(all), UnsafeSendable(pointBytes), UnsafeSendable(scratchBytes), UnsafeSendable(out)
                        )
                        try parallelFor(count) { chunk, worker in
                            let pts = UnsafeMutableRawBufferPointer(rebasing: p.value[(32 * chunk.lowerBound)..<(32 * chunk.upperBound)])
                            try hashers[worker].hashToUBatch(
                                count: chunk.count,
                                message: {
                                    UnsafeRawBufferPointer(
                                        rebasing: m.value[offsets[chunk.lowerBound + $0]..<offsets[chunk.lowerBound + $0 + 1]])
                                },
                                output: pts,
                                scratch: UnsafeMutableRawBufferPointer(
                                    rebasing: sc.value[(64 * chunk.lowerBound)..<(64 * chunk.upperBound)]))
                            try key.blindBatch(
                                UnsafeRawBufferPointer(pts),
                                into: UnsafeMutableRawBufferPointer(rebasing: o.value[(32 * chunk.lowerBound)..<(32 * chunk.upperBound)]))
                        }
                    }
                }
            }
        }
        secureWipe(&flat)
        points.withUnsafeMutableBytes { secureWipe($0) }
        return blinded
    }

    /// Checks that each record's 32-byte element is a canonical u-coordinate (below p, top bit
    /// clear), as every honest X25519 output is; anything else is a hostile encoding.
    private func requireCanonical(_ records: [UInt8], count: Int, width: Int, context: String) throws {
        try records.withUnsafeBytes { raw in
            for i in 0..<count where !BlindedElement.isCanonical(raw.baseAddress! + width * i) {
                throw CleanRoomProtocolError.invalidPeerCryptography(problem: "\(context) holds a non-canonical curve element")
            }
        }
    }

    /// Blinds the first 32 bytes of each `width`-byte record of `records` in place, split across
    /// the workers.
    private func reblind(records: inout [UInt8], count: Int, width: Int, context: String) throws {
        try requireCanonical(records, count: count, width: width, context: context)
        var points = [UInt8](repeating: 0, count: 32 * count)
        for i in 0..<count { points.replaceSubrange((32 * i)..<(32 * i + 32), with: records[(width * i)..<(width * i + 32)]) }
        var out = [UInt8](repeating: 0, count: 32 * count)
        let key = blinding!
        do {
            try points.withUnsafeBytes { p in
                try out.withUnsafeMutableBytes { o in
                    let (input, output) = (UnsafeSendable(p), UnsafeSendable(o))
                    try parallelFor(count) { chunk, _ in
                        let bytes = (32 * chunk.lowerBound)..<(32 * chunk.upperBound)
                        try key.blindBatch(
                            UnsafeRawBufferPointer(rebasing: input.value[bytes]),
                            into: UnsafeMutableRawBufferPointer(rebasing: output.value[bytes]))
                    }
                }
            }
        } catch CleanRoomCryptoError.lowOrderPoint {
            throw CleanRoomProtocolError.invalidPeerCryptography(problem: "\(context) holds a low-order point")
        }
        for i in 0..<count { records.replaceSubrange((width * i)..<(width * i + 32), with: out[(32 * i)..<(32 * i + 32)]) }
        peerBlinded += count
    }

    private func batches(_ total: Int, width: Int) -> [Range<Int>] {
        PartySession.batchRanges(total: total, batchSize: batchSize, width: width)
    }

    // MARK: P1

    private var p1RecordWidth: Int { analysis.groupBy != nil ? 32 + GroupTag.tagBytes : 32 }
    private var p2RecordWidth: Int { analysis.kind == .intersectionSum ? 32 + ciphertextBytes : 32 }
    private var ciphertextBytes: Int { (peerPaillier?.ciphertextBytes ?? paillier?.publicKey.ciphertextBytes)! }

    private func p1SendElements() throws -> [Frame] {
        sentOrder = try SecureRandom.permutation(count: prepared.identifiers.count, using: random)
        outbox.append(.ownElements(next: 0))
        return []
    }

    /// The P1_ELEMENTS batch starting at `start`, and the range it covers (empty when it was
    /// the last one).
    private func p1ElementsBatch(from start: Int) throws -> (Frame, Range<Int>) {
        let width = p1RecordWidth
        let range = batches(sentOrder.count - start, width: width).first!.shifted(by: start)
        let ids = sentOrder[range]
        let blinded = try hashAndBlind(ids)
        ownBlinded += ids.count
        var records = [UInt8](repeating: 0, count: width * ids.count)
        for k in 0..<ids.count {
            records.replaceSubrange((width * k)..<(width * k + 32), with: blinded[(32 * k)..<(32 * k + 32)])
        }
        if let tagKey {
            let groups = ids.map { prepared.groupOf[$0] }
            let random = self.random
            try records.withUnsafeMutableBufferPointer { buffer in
                let out = UnsafeSendable(buffer.baseAddress!)
                try parallelFor(ids.count) { chunk, _ in
                    for k in chunk { try tagKey.seal(group: groups[k], into: out.value + width * k + 32, using: random) }
                }
            }
        }
        let frame = ElementBatch(type: .p1Elements, count: ids.count, records: records).frame()
        return (frame, range.upperBound < sentOrder.count ? range : 0..<0)
    }

    private func p1OnP2Batch(_ frame: Frame) throws -> [Frame] {
        let sum = analysis.kind == .intersectionSum
        let reblindedComplete = reblindedCount == prepared.identifiers.count
        if frame.type == .p2Reblinded {
            let width = p1RecordWidth
            let batch = try ElementBatch.decode(
                frame, width: width, remaining: prepared.identifiers.count - reblindedCount, announced: prepared.identifiers.count)
            try requireCanonical(batch.records, count: batch.count, width: width, context: "P2_REBLINDED")
            for k in 0..<batch.count {
                reblinded.append(KeyPosition(key: ElementKey(batch.records, at: width * k), position: Int32(reblindedCount + k)))
            }
            if let tagKey {
                // Every tag is opened on arrival, matched or not, so a bad tag cannot reveal membership.
                var groups = [UInt32](repeating: 0, count: batch.count)
                try batch.records.withUnsafeBufferPointer { raw in
                    try groups.withUnsafeMutableBufferPointer { g in
                        let (input, output) = (UnsafeSendable(raw.baseAddress!), UnsafeSendable(g.baseAddress!))
                        try parallelFor(batch.count) { chunk, _ in
                            for k in chunk { output.value[k] = try tagKey.open(input.value + width * k + 32) }
                        }
                    }
                }
                reblindedGroups += groups
            }
            reblindedCount += batch.count
            if reblindedCount == prepared.identifiers.count {
                reblinded.sort()
                guard !KeyPosition.hasDuplicate(reblinded) else {
                    throw CleanRoomProtocolError.duplicateBlindedElement(message: "P2_REBLINDED")
                }
            }
        } else {
            // In intersection-sum an honest P2 returns P1's set first; refusing the other order
            // keeps P1 from having to hold every ciphertext.
            guard !sum || reblindedComplete else {
                throw CleanRoomProtocolError.unexpectedMessage(type: "P2_ELEMENTS", state: "waiting for all of P2_REBLINDED")
            }
            let width = p2RecordWidth
            var batch = try ElementBatch.decode(frame, width: width, remaining: peerCount - p2Count, announced: peerCount)
            if sum {
                // Every ciphertext is range-checked on arrival, matched or not (on the bytes; only
                // matched ones are decoded).
                let key = peerPaillier!
                try batch.records.withUnsafeBytes { raw in
                    for k in 0..<batch.count {
                        do { try key.checkRange(UnsafeRawBufferPointer(rebasing: raw[(width * k + 32)..<(width * k + width)])) } catch {
                            throw CleanRoomProtocolError.invalidPeerCryptography(problem: "a ciphertext in P2_ELEMENTS: \(error)")
                        }
                    }
                }
            }
            try reblind(records: &batch.records, count: batch.count, width: width, context: "P2_ELEMENTS")
            for k in 0..<batch.count {
                let entry = KeyPosition(key: ElementKey(batch.records, at: width * k), position: Int32(p2Count + k))
                p2Elements.append(entry)
                // Sums stream: each ciphertext is added as it arrives (P2_REBLINDED is complete).
                if sum, let position = KeyPosition.find(entry.key, in: reblinded) {
                    let c = try batch.records.withUnsafeBytes {
                        try peerPaillier!.ciphertext(
                            bytes: UnsafeRawBufferPointer(rebasing: $0[(width * k + 32)..<(width * k + width)]), requireUnit: false)
                    }
                    p1Match(position: Int(position), p2Index: p2Count + k, ciphertext: c)
                }
            }
            p2Count += batch.count
        }
        guard reblindedCount == prepared.identifiers.count && p2Count == peerCount else { return [] }
        // Both sets complete: check P2's for duplicates and (unless summed on the way) match by
        // merging the two sorted lists.
        p2Elements.sort()
        guard !KeyPosition.hasDuplicate(p2Elements) else { throw CleanRoomProtocolError.duplicateBlindedElement(message: "P2_ELEMENTS") }
        if !sum {
            var i = 0, j = 0
            while i < reblinded.count && j < p2Elements.count {
                if reblinded[i].key < p2Elements[j].key {
                    i += 1
                } else if p2Elements[j].key < reblinded[i].key {
                    j += 1
                } else {
                    p1Match(position: Int(reblinded[i].position), p2Index: Int(p2Elements[j].position), ciphertext: nil)
                    i += 1
                    j += 1
                }
            }
        }
        return try p1Finish()
    }

    private func p1Match(position: Int, p2Index: Int, ciphertext: PaillierCiphertext?) {
        overlap += 1
        switch analysis.kind {
        case .cardinality:
            break
        case .intersection:
            matchedPositions.append(Int(position))
            matchedP2.append(UInt32(p2Index))
        case .intersectionSum:
            let c = ciphertext!
            let group = tagKey != nil ? reblindedGroups[Int(position)] : 0
            groupSums[group] = groupSums[group].map { peerPaillier!.add($0, c) } ?? c
            groupCounts[group, default: 0] += 1
        }
    }

    private func p1Finish() throws -> [Frame] {
        let p2Receives = analysis.receivers.contains(peer)
        let suppressed = overlap < analysis.minIntersection
        var result = baseResult()
        result.intersectionSize = suppressed ? .suppressed(below: analysis.minIntersection) : .revealed(overlap)
        p2Elements = []
        reblinded = []
        switch analysis.kind {
        case .cardinality:
            finish(result)
            return [
                p2Receives
                    ? CardinalityMessage(suppressed: suppressed, count: suppressed ? 0 : UInt64(overlap)).frame()
                    : Frame(type: .done, payload: [])
            ]
        case .intersection:
            if !suppressed {
                result.matchedRows = matchedPositions.flatMap { prepared.rows(of: sentOrder[$0]) }.map { rowNumbers[$0] }.sorted()
            }
            finish(result)
            guard p2Receives else { return [Frame(type: .done, payload: [])] }
            return MatchesMessage.frames(suppressed: suppressed, indices: matchedP2.sorted())
        case .intersectionSum:
            return try p1SendSums(result: result, suppressed: suppressed, p2Receives: p2Receives)
        }
    }

    /// Group indices in label order (so the order reveals nothing about P1's file).
    private var groupsByLabel: [UInt32] {
        analysis.groupBy == nil
            ? [0] : (0..<UInt32(prepared.groupLabels.count)).sorted { prepared.groupLabels[Int($0)] < prepared.groupLabels[Int($1)] }
    }

    private func p1SendSums(result: SessionResult, suppressed: Bool, p2Receives: Bool) throws -> [Frame] {
        let key = peerPaillier!
        let p1Receives = analysis.receivers.contains(party)
        let threshold = analysis.minGroupSize ?? 1
        var result = result
        // Only a receiver's result shows what P1 computed; docs/protocol.md says what P1's process
        // necessarily knows regardless.
        if !p1Receives { result.intersectionSize = nil }
        let candidates = groupsByLabel
        let reportable = suppressed ? [] : candidates.filter { (groupCounts[$0] ?? 0) >= threshold }
        if p1Receives && analysis.groupBy != nil { result.suppressedGroups = candidates.count - reportable.count }
        let masked = !p2Receives
        var message = EncryptedSumsMessage(suppressed: false, masked: masked, intersection: nil, groups: [])
        if masked {
            // A fixed-length list: one entry per group label of P1 (one when ungrouped), reported
            // sums masked with a uniform value mod n, everything else a fresh random encryption,
            // so P2 learns neither the suppression nor how many groups passed.
            for g in candidates {
                let real = reportable.contains(g)
                let c: PaillierCiphertext
                let mask = try BigInteger.random(below: key.n, using: random)
                if real {
                    c = try key.addPlaintext(try key.rerandomize(groupSums[g]!, using: random), key.decodeSigned(mask))
                } else {
                    c = try key.encrypt(key.decodeSigned(mask), using: random)
                }
                masks.append(mask)
                sentGroups.append((group: g, count: groupCounts[g] ?? 0, real: real))
                message.groups.append(EncryptedSumsMessage.Group(label: nil, count: nil, ciphertext: key.serialize(c)))
            }
        } else if suppressed {
            message.suppressed = true
        } else {
            for g in reportable {
                let c = try key.rerandomize(groupSums[g]!, using: random)
                sentGroups.append((group: g, count: groupCounts[g]!, real: true))
                message.groups.append(
                    EncryptedSumsMessage.Group(
                        label: analysis.groupBy != nil ? prepared.groupLabels[Int(g)] : nil, count: UInt64(groupCounts[g]!),
                        ciphertext: key.serialize(c)))
            }
            // The total is withheld when a group was suppressed: total − Σ reported would reveal it.
            let reportedTotal = reportable.reduce(0) { $0 + groupCounts[$1]! }
            if reportedTotal == overlap { message.intersection = UInt64(overlap) }
        }
        groupSums = [:]
        if p1Receives && !message.suppressed && !message.groups.isEmpty {
            state = .awaitingDecryptedSums
            pendingResult = result
        } else {
            if p1Receives && !suppressed { result.groups = [] }
            finish(result)
        }
        return [message.frame(ciphertextBytes: key.ciphertextBytes)]
    }

    private func p1OnDecryptedSums(_ frame: Frame) throws -> [Frame] {
        let key = peerPaillier!
        let m = try DecryptedSumsMessage.decode(frame, plaintextBytes: key.modulusBytes, expected: sentGroups.count)
        var result = pendingResult!
        var groups: [GroupResult] = []
        for (i, g) in sentGroups.enumerated() {
            var plain = BigInteger(bigEndian: m.plaintexts[i])
            guard plain < key.n else {
                throw CleanRoomProtocolError.malformedMessage(type: "DECRYPTED_SUMS", problem: "a plaintext is not below n")
            }
            guard g.real else { continue }
            if !masks.isEmpty { plain = (plain - masks[i]).mod(key.n) }
            let label = analysis.groupBy != nil ? prepared.groupLabels[Int(g.group)] : nil
            groups.append(try groupResult(label: label, count: g.count, plaintext: plain))
        }
        // A suppressed overlap reports no groups at all, masked or not.
        if result.intersectionSize?.suppressedBelow == nil { result.groups = groups }
        finish(result)
        return []
    }

    // MARK: P2

    private func p2SendOwnElements() throws -> [Frame] {
        p2Order = try SecureRandom.permutation(count: prepared.identifiers.count, using: random)
        outbox.append(.ownElements(next: 0))
        return []
    }

    /// The P2_ELEMENTS batch starting at `start` (blinded identifiers, and in intersection-sum
    /// the key owner's encryption of each identifier's packed values).
    private func p2ElementsBatch(from start: Int) throws -> (Frame, Range<Int>) {
        let sum = analysis.kind == .intersectionSum
        let ctBytes = sum ? paillier!.publicKey.ciphertextBytes : 0
        let width = 32 + ctBytes
        let range = batches(p2Order.count - start, width: width).first!.shifted(by: start)
        let ids = Array(p2Order[range])
        let blinded = try hashAndBlind(ids[...])
        ownBlinded += ids.count
        let more = range.upperBound < p2Order.count ? range : 0..<0
        guard sum else { return (ElementBatch(type: .p2Elements, count: ids.count, records: blinded).frame(), more) }
        var records = [UInt8](repeating: 0, count: width * ids.count)
        for k in 0..<ids.count {
            records.replaceSubrange((width * k)..<(width * k + 32), with: blinded[(32 * k)..<(32 * k + 32)])
        }
        let key = paillier!, layout = self.layout!, random = self.random
        let plaintexts = try ids.map { try layout.pack(prepared.slots(of: $0)) }
        try records.withUnsafeMutableBytes { buffer in
            let out = UnsafeSendable(buffer)
            try parallelFor(ids.count) { chunk, _ in
                for k in chunk {
                    let c = try key.encrypt(plaintexts[k], variableTime: true, using: random)
                    try key.publicKey.serialize(
                        c, into: UnsafeMutableRawBufferPointer(rebasing: out.value[(width * k + 32)..<(width * k + width)]))
                }
            }
        }
        return (ElementBatch(type: .p2Elements, count: ids.count, records: records).frame(), more)
    }

    private func p2OnP1Elements(_ frame: Frame) throws -> [Frame] {
        let width = p1RecordWidth
        var batch = try ElementBatch.decode(frame, width: width, remaining: peerCount - p1Count, announced: peerCount)
        try requireCanonical(batch.records, count: batch.count, width: width, context: "P1_ELEMENTS")
        try reblind(records: &batch.records, count: batch.count, width: width, context: "P1_ELEMENTS")
        // Re-blinding is injective on honest elements, so duplicates show in the outputs too
        // (and so do aliases that differ by a small-order point).
        for k in 0..<batch.count { p1Keys.append(ElementKey(batch.records, at: width * k)) }
        if let tagRerandomizer {
            // Fresh randomness in every tag, so P1 cannot link returned tags to the ones it sent.
            let random = self.random
            do {
                try batch.records.withUnsafeMutableBufferPointer { raw in
                    let base = UnsafeSendable(raw.baseAddress!)
                    try parallelFor(batch.count) { chunk, _ in
                        for k in chunk { try tagRerandomizer.rerandomize(base.value + width * k + 32, using: random) }
                    }
                }
            } catch CleanRoomCryptoError.invalidGroupTag {
                throw CleanRoomProtocolError.invalidPeerCryptography(problem: "P1_ELEMENTS holds a malformed group tag")
            }
        }
        p1Count += batch.count
        var frames: [Frame] = []
        if analysis.kind == .intersection {
            // P1 must learn which of its rows match, so its order is kept: stream back at once.
            frames.append(ElementBatch(type: .p2Reblinded, count: batch.count, records: batch.records).frame())
        } else {
            p1Received += batch.records
        }
        guard p1Count == peerCount else { return frames }
        p1Keys.sort()
        guard !zip(p1Keys, p1Keys.dropFirst()).contains(where: { $0 == $1 }) else {
            throw CleanRoomProtocolError.duplicateBlindedElement(message: "P1_ELEMENTS")
        }
        p1Keys = []
        if analysis.kind != .intersection {
            // cardinality and intersection-sum: P1 must not learn which of its elements matched.
            try p1Received.withUnsafeMutableBytes { try SecureRandom.shuffle(records: $0, width: width, using: random) }
            outbox.append(.reblinded(next: 0))
        }
        if !sentOwnElements {
            sentOwnElements = true
            _ = try p2SendOwnElements()
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
            guard
                m.suppressed
                    || (m.count >= UInt64(analysis.minIntersection) && m.count <= UInt64(min(prepared.identifiers.count, peerCount)))
            else {
                throw CleanRoomProtocolError.malformedMessage(
                    type: "CARDINALITY", problem: "overlap outside what the policy and the set sizes allow")
            }
            result.intersectionSize = m.suppressed ? .suppressed(below: analysis.minIntersection) : .revealed(Int(m.count))
            finish(result)
            return []
        case (.intersection, .matches) where receives:
            let m = try MatchesMessage.decode(frame, limit: prepared.identifiers.count, after: Int64(receivedMatches.last ?? -1))
            guard !m.suppressed || receivedMatches.isEmpty else {
                throw CleanRoomProtocolError.malformedMessage(type: "MATCHES", problem: "suppressed after matches were sent")
            }
            receivedMatches += m.indices.map { Int32($0) }
            if m.more { return [] }
            let all = receivedMatches.map { UInt32($0) }
            receivedMatches = []
            guard m.suppressed || all.count >= analysis.minIntersection else {
                throw CleanRoomProtocolError.malformedMessage(
                    type: "MATCHES", problem: "fewer matches than the threshold, yet not suppressed")
            }
            result.intersectionSize = m.suppressed ? .suppressed(below: analysis.minIntersection) : .revealed(all.count)
            if !m.suppressed {
                result.matchedRows = all.flatMap { prepared.rows(of: p2Order[Int($0)]) }.map { rowNumbers[$0] }.sorted()
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
        let grouped = analysis.groupBy != nil
        let smaller = min(peerCount, prepared.identifiers.count)
        // Masked lists have one entry per P1 group label (at most P1's set size); unmasked lists
        // only groups that reached the threshold.
        let maxGroups = !receives ? (grouped ? peerCount : 1) : (grouped ? smaller / (analysis.minGroupSize ?? 1) : 1)
        let m = try EncryptedSumsMessage.decode(frame, ciphertextBytes: key.publicKey.ciphertextBytes, maxGroups: maxGroups)
        guard m.masked == !receives else {
            throw CleanRoomProtocolError.malformedMessage(
                type: "ENCRYPTED_SUMS",
                problem: m.masked ? "masked, but we receive the result" : "unmasked, but we do not receive the result")
        }
        let p1Receives = analysis.receivers.contains(peer)
        if m.suppressed {
            result.intersectionSize = .suppressed(below: analysis.minIntersection)
            finish(result)
            return []
        }
        if receives {
            guard grouped || m.groups.count == 1 else {
                throw CleanRoomProtocolError.malformedMessage(type: "ENCRYPTED_SUMS", problem: "an ungrouped sum must carry one result")
            }
            guard m.groups.allSatisfy({ ($0.label != nil) == grouped && $0.count != nil }) else {
                throw CleanRoomProtocolError.malformedMessage(type: "ENCRYPTED_SUMS", problem: "labels or counts do not match the analysis")
            }
        }
        var plaintexts: [[UInt8]] = []
        var groups: [GroupResult] = []
        var total: UInt64 = 0
        var labels = Set<String>()
        for g in m.groups {
            let c: PaillierCiphertext
            do { c = try key.publicKey.ciphertext(bytes: g.ciphertext) } catch {
                throw CleanRoomProtocolError.invalidPeerCryptography(problem: "a ciphertext in ENCRYPTED_SUMS: \(error)")
            }
            let plain = try key.decrypt(c)
            if receives {
                let minimum = UInt64(grouped ? analysis.minGroupSize! : analysis.minIntersection)
                guard let count = g.count, count >= minimum, count <= UInt64(smaller) else {
                    throw CleanRoomProtocolError.malformedMessage(
                        type: "ENCRYPTED_SUMS", problem: "a group count is outside what the policy and the set sizes allow")
                }
                if let label = g.label, !labels.insert(label).inserted {
                    throw CleanRoomProtocolError.malformedMessage(type: "ENCRYPTED_SUMS", problem: "a group label appears twice")
                }
                total += count
                groups.append(try groupResult(label: g.label.map(sanitized), count: Int(count), plaintext: plain))
            }
            if p1Receives { plaintexts.append(try plain.bigEndianBytes(width: key.publicKey.modulusBytes)) }
        }
        if receives {
            guard total <= UInt64(smaller), m.intersection.map({ $0 == total && $0 >= UInt64(analysis.minIntersection) }) ?? true else {
                throw CleanRoomProtocolError.malformedMessage(type: "ENCRYPTED_SUMS", problem: "the total does not match the groups")
            }
            guard grouped || total >= UInt64(analysis.minIntersection) else {
                throw CleanRoomProtocolError.malformedMessage(
                    type: "ENCRYPTED_SUMS", problem: "overlap below the threshold, yet not suppressed")
            }
            result.intersectionSize = m.intersection.map { .revealed(Int($0)) }
            result.groups = groups
        }
        finish(result)
        return p1Receives && !m.groups.isEmpty ? [DecryptedSumsMessage(plaintexts: plaintexts).frame()] : []
    }

    // MARK: Results

    private func baseResult() -> SessionResult {
        SessionResult(
            collaborationDigest: Hex.encode(digest), analysis: analysis.name, kind: analysis.kind,
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

    /// Drops every secret the session holds (keys, masks, sums); called when it ends either way.
    private func wipeSecrets() {
        blinding = nil
        paillier = nil
        tagKey = nil
        masks = []
        groupSums = [:]
        pendingResult = nil
    }
}

/// A blinded element and its position in the list it came in.
struct KeyPosition: Comparable {
    let key: ElementKey
    let position: Int32

    static func < (x: KeyPosition, y: KeyPosition) -> Bool { x.key < y.key || (x.key == y.key && x.position < y.position) }

    /// True when a sorted list holds the same element twice.
    static func hasDuplicate(_ sorted: [KeyPosition]) -> Bool {
        zip(sorted, sorted.dropFirst()).contains { $0.key == $1.key }
    }

    /// The position of `key` in a sorted list without duplicates, by binary search.
    static func find(_ key: ElementKey, in sorted: [KeyPosition]) -> Int32? {
        var lo = 0, hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sorted[mid].key < key { lo = mid + 1 } else { hi = mid }
        }
        return lo < sorted.count && sorted[lo].key == key ? sorted[lo].position : nil
    }
}

/// A blinded element, identified by its first 128 bits. Blinded elements are pseudorandom curve
/// points that no party can steer without the other's key, so two different ones share these bits
/// with probability about N²/2^129 (below 2^-88 for 10^12 pairs); halving the key halves what
/// matching holds in memory.
struct ElementKey: Hashable, Comparable {
    static func < (x: ElementKey, y: ElementKey) -> Bool { (x.a, x.b) < (y.a, y.b) }

    let a: UInt64, b: UInt64

    init(_ bytes: [UInt8], at offset: Int) {
        (a, b) = bytes.withUnsafeBytes { p in
            (p.loadUnaligned(fromByteOffset: offset, as: UInt64.self), p.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
        }
    }
}

/// Checks on the encoding of curve25519 u-coordinates received from a peer.
enum BlindedElement {
    /// True when the 32 little-endian bytes encode a value below p = 2^255 − 19 with bit 255
    /// clear: the only form X25519 outputs. Rejecting the rest stops aliases of one point from
    /// slipping past duplicate checks.
    static func isCanonical(_ p: UnsafeRawPointer) -> Bool {
        let top = p.loadUnaligned(fromByteOffset: 24, as: UInt64.self).littleEndian
        guard top >> 63 == 0 else { return false }
        // value ≥ p  ⟺  top limbs all ones (0x7fff…, 0xffff…, 0xffff…) and low limb ≥ 2^64 − 19
        let l0 = p.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian
        let l1 = p.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian
        let l2 = p.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian
        return !(top == 0x7fff_ffff_ffff_ffff && l2 == .max && l1 == .max && l0 >= 0xffff_ffff_ffff_ffed)
    }
}

/// Exact decimal formatting of scaled integers (units of 10^-scale).
public enum DecimalFormat {
    /// 123456 with scale 2 → "1234.56".
    public static func format(_ v: BigInteger, scale: Int) -> String {
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
