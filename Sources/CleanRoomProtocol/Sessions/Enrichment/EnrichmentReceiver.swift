// The receiver's side of an enrichment (P1, the RFC 9497 OPRF client; docs/protocol.md,
// "Enrichment"). After the handshake it blinds each of its identifiers (OPRF_BLINDED), finalizes the
// sender's evaluations into F(k, x) and the match tag of each, and keeps the sender's records (one
// per sender identifier, sorted by tag). Once it holds every evaluation and every record it sends
// DONE and waits for the sender's DONE. Matching and opening happen only after that, once the
// connection has closed (`ExchangeStep.finishedAfterClose`): nothing the sender sees, not even how
// long the receiver takes to close the connection, depends on what matched. A matched record that
// does not open or parse is only a warning in the receiver's own result, never an abort or a
// freeze (either would tell the sender that one of its tags matched).
// Thread safety: not thread-safe; one session drives it from one task.
import CleanRoomCrypto
import Foundation

final class EnrichmentReceiver: RoleExchange {
    private let context: SessionContext
    private let spec: EnrichmentSpec

    private enum Phase: String {
        case awaitingHello = "waiting for HELLO"
        case awaitingSetSize = "waiting for SET_SIZE"
        case exchanging = "exchanging OPRF elements and records"
        case awaitingDone = "waiting for the sender's DONE"
        case done = "finished"
    }
    private var phase = Phase.awaitingHello
    private var nonce: [UInt8] = []
    private var peerNonce: [UInt8] = []
    private var peerCount = 0
    private var recordCipherContext: [UInt8] = []
    /// The blinded batches sent, in order, each with the range of own identifiers it holds.
    private var clients: [(range: Range<Int>, batch: OPRFClientBatch?)] = []
    private var blindedSent = 0
    /// Evaluations received but not yet finalized (less than one client batch).
    private var pendingEvaluated: [UInt8] = []
    private var evaluatedCount = 0
    private var finalizedClients = 0
    /// Per own identifier: its OPRF output (64 bytes) and match tag (16 bytes).
    private var outputs: [UInt8] = []
    private var tags: [UInt8] = []
    /// The sender's records, in the order received (checked sorted by tag).
    private var records: [UInt8] = []
    private var recordCount = 0
    /// What the sender sent that an honest one does not, noted in this party's result only.
    private var warnings: [String] = []

    init(context: SessionContext, spec: EnrichmentSpec) {
        self.context = context
        self.spec = spec
    }

    /// Nothing the receiver finds is an anomaly: a freeze would be visible to the sender.
    var anomalies: [String] { [] }
    var phaseDescription: String { phase.rawValue }
    var elementProgress: (done: Int, total: Int) { (blindedSent + evaluatedCount, 2 * context.ownCount) }

    func hello(nonce: [UInt8]) -> Frame {
        self.nonce = nonce
        return Handshake.hello(context, nonce: nonce)
    }

    func handle(_ frame: Frame, outbox: inout Outbox) throws -> ExchangeStep {
        switch (phase, frame.type) {
        case (.awaitingHello, .hello):
            let (setSize, peerNonce) = try Handshake.reply(toHello: frame, context, nonce: nonce) { SetSizeKeys() }
            self.peerNonce = peerNonce
            outbox.send(setSize)
            phase = .awaitingSetSize
        case (.awaitingSetSize, .setSize):
            let (count, _) = try Handshake.setSize(frame, context, expectsPaillierKey: false, expectsGroupKey: false)
            peerCount = count
            recordCipherContext = try EnrichmentContext.bytes(
                digest: context.digest, receiverNonce: nonce, senderNonce: peerNonce, receiverCount: context.ownCount, senderCount: count)
            outputs = [UInt8](repeating: 0, count: context.ownCount * OPRFRistretto255.outputBytes)
            tags = [UInt8](repeating: 0, count: context.ownCount * EnrichmentRecordCipher.matchTagBytes)
            // Reserved up to 64 MiB from the announced count; beyond that the store grows as
            // records arrive (a count near the policy's maximum must not reserve it all at once).
            records.reserveCapacity(min(count, (64 << 20) / spec.recordWidth) * spec.recordWidth)
            outbox.stream(context.batchRanges(total: context.ownCount, width: 32)) { [unowned self] range in
                try self.blindedBatch(range)
            }
            phase = .exchanging
        case (.exchanging, .oprfEvaluated):
            try onEvaluated(frame)
            try finishIfComplete(&outbox)
        case (.exchanging, .enrichmentRecords):
            try onRecords(frame)
            try finishIfComplete(&outbox)
        case (.awaitingDone, .oprfEvaluated), (.awaitingDone, .enrichmentRecords):
            throw CleanRoomProtocolError.tooManyElements(
                message: frame.type.description, announced: frame.type == .oprfEvaluated ? context.ownCount : peerCount)
        case (.awaitingDone, .done):
            guard frame.payload.isEmpty else { throw CleanRoomProtocolError.malformedMessage(type: "DONE", problem: "unexpected payload") }
            phase = .done
            // Matching and opening wait until the connection has closed (the runner concludes
            // after closing): however long they take, the sender has already seen the close.
            return .finishedAfterClose { [self] in try self.match() }
        default:
            throw CleanRoomProtocolError.unexpectedMessage(type: frame.type.description, state: phase.rawValue)
        }
        return .continuing
    }

    /// The OPRF_BLINDED frame of own identifiers `range`: one client batch per worker's contiguous
    /// part, blinded in parallel (with one worker, as transcript replays run, the blinds are drawn
    /// in order).
    private func blindedBatch(_ range: Range<Int>) throws -> Frame {
        let prepared = context.prepared, random = context.random
        let workers = max(1, min(context.parallelism, range.count / 64))
        let chunk = (range.count + workers - 1) / workers
        let parts = (0..<workers).map { w in (range.lowerBound + w * chunk)..<min(range.upperBound, range.lowerBound + (w + 1) * chunk) }
            .filter { !$0.isEmpty }
        var made = [OPRFClientBatch?](repeating: nil, count: parts.count)
        let errors = ErrorBox()
        made.withUnsafeMutableBufferPointer { slots in
            let shared = UnsafeSendable((slots, parts))
            DispatchQueue.concurrentPerform(iterations: parts.count) { p in
                let (slots, parts) = shared.value
                do {
                    slots[p] = try OPRFClientBatch(inputs: parts[p].map { Array(prepared.identifiers[$0]) }, using: random)
                } catch { errors.record(error) }
            }
        }
        if let error = errors.first { throw error }
        var records: [UInt8] = []
        records.reserveCapacity(range.count * 32)
        for (part, client) in zip(parts, made) {
            guard let client else { throw CleanRoomProtocolError.unexpectedMessage(type: "OPRF_BLINDED", state: "a part was not blinded") }
            clients.append((part, client))
            records += client.blindedElements
        }
        blindedSent = range.upperBound
        return ElementBatch(type: .oprfBlinded, count: range.count, records: records).frame()
    }

    /// OPRF_EVALUATED: as many as were blinded so far, at most one per own identifier; every element
    /// is checked, and each client batch is finalized as soon as its evaluations are all in.
    private func onEvaluated(_ frame: Frame) throws {
        let batch = try ElementBatch.decode(frame, width: 32, remaining: context.ownCount - evaluatedCount, announced: context.ownCount)
        guard evaluatedCount + batch.count <= blindedSent else {
            throw CleanRoomProtocolError.malformedMessage(type: "OPRF_EVALUATED", problem: "more evaluations than blinded elements sent")
        }
        pendingEvaluated += batch.records
        evaluatedCount += batch.count
        // The client batches whose evaluations are all in, finalized in parallel (each writes its own
        // slice of the outputs and tags).
        var ready: [(range: Range<Int>, batch: OPRFClientBatch, offset: Int)] = []
        var bytes = 0
        while finalizedClients + ready.count < clients.count {
            let (range, client) = clients[finalizedClients + ready.count]
            guard let client, pendingEvaluated.count >= bytes + range.count * 32 else { break }
            ready.append((range, client, bytes))
            bytes += range.count * 32
        }
        guard !ready.isEmpty else { return }
        let cipherContext = recordCipherContext, payloadWidth = spec.payloadWidth
        let errors = ErrorBox()
        pendingEvaluated.withUnsafeBytes { e in
            outputs.withUnsafeMutableBytes { out in
                tags.withUnsafeMutableBytes { t in
                    let shared = UnsafeSendable((e, out, t, ready))
                    DispatchQueue.concurrentPerform(iterations: ready.count) { k in
                        let (e, out, t, ready) = shared.value
                        let (range, client, offset) = ready[k]
                        do {
                            let ys = UnsafeMutableRawBufferPointer(rebasing: out[(range.lowerBound * 64)..<(range.upperBound * 64)])
                            do {
                                try client.finalize(UnsafeRawBufferPointer(rebasing: e[offset..<(offset + range.count * 32)]), into: ys)
                            } catch CleanRoomCryptoError.invalidGroupElement(let index, let reason) {
                                throw CleanRoomProtocolError.invalidPeerCryptography(
                                    problem:
                                        "OPRF_EVALUATED element \(range.lowerBound + index) is not a valid ristretto255 element (\(reason))"
                                )
                            }
                            let cipher = try EnrichmentRecordCipher(context: cipherContext, payloadWidth: payloadWidth)
                            for (j, i) in range.enumerated() {
                                try cipher.matchTag(
                                    prfOutput: UnsafeRawBufferPointer(rebasing: ys[(j * 64)..<((j + 1) * 64)]),
                                    into: UnsafeMutableRawBufferPointer(rebasing: t[(i * 16)..<((i + 1) * 16)]))
                            }
                        } catch { errors.record(error) }
                    }
                }
            }
        }
        if let error = errors.first { throw error }
        pendingEvaluated.removeFirst(bytes)
        for k in 0..<ready.count { clients[finalizedClients + k].batch = nil }  // the blinds' inverses are wiped now
        finalizedClients += ready.count
    }

    /// ENRICHMENT_RECORDS: at most the sender's announced count, tags strictly ascending across all
    /// batches (the sender sorts them; a repeat is a dishonest sender, checked on every record
    /// whatever matches).
    private func onRecords(_ frame: Frame) throws {
        let width = spec.recordWidth
        let batch = try ElementBatch.decode(frame, width: width, remaining: peerCount - recordCount, announced: peerCount)
        let previous = recordCount
        records += batch.records
        recordCount += batch.count
        try records.withUnsafeBytes { b in
            for i in max(1, previous)..<recordCount where !(MatchTag(b, at: (i - 1) * width) < MatchTag(b, at: i * width)) {
                throw CleanRoomProtocolError.malformedMessage(type: "ENRICHMENT_RECORDS", problem: "match tags are not strictly ascending")
            }
        }
    }

    private func finishIfComplete(_ outbox: inout Outbox) throws {
        guard evaluatedCount == context.ownCount, recordCount == peerCount, finalizedClients == clients.count else { return }
        outbox.send(Frame(type: .done, payload: []))
        phase = .awaitingDone
    }

    /// Looks up each own tag among the sender's records and opens the matches.
    private func match() throws -> SessionResult {
        let width = spec.recordWidth, n = context.ownCount
        let cipher = try EnrichmentRecordCipher(context: recordCipherContext, payloadWidth: spec.payloadWidth)
        var values: [Int: [String]] = [:]  // own identifier → cells
        var matched = 0, unauthentic = 0, unparseable = 0
        try records.withUnsafeBytes { r in
            try tags.withUnsafeBytes { t in
                try outputs.withUnsafeBytes { ys in
                    for i in 0..<n where recordCount > 0 {
                        let tag = MatchTag(t, at: i * 16)
                        var lo = 0, hi = recordCount
                        while lo < hi {
                            let mid = (lo + hi) / 2
                            if MatchTag(r, at: mid * width) < tag { lo = mid + 1 } else { hi = mid }
                        }
                        let isMatch = lo < recordCount && !(tag < MatchTag(r, at: lo * width))
                        // Every own identifier costs one opening: an unmatched one opens the nearest
                        // record with its own keys, which fails as any wrong key does. (This runs
                        // after the connection and the listener have closed, so the sender cannot
                        // time it at all; equal work per identifier is a second line of defence.)
                        let k = min(lo, recordCount - 1)
                        let sealed = UnsafeRawBufferPointer(rebasing: r[(k * width + 16)..<((k + 1) * width)])
                        let y = UnsafeRawBufferPointer(rebasing: ys[(i * 64)..<((i + 1) * 64)])
                        guard isMatch else {
                            _ = try? cipher.open(sealed, prfOutput: y)
                            continue
                        }
                        matched += 1
                        do {
                            let payload = try cipher.open(sealed, prfOutput: y)
                            guard let cells = EnrichmentPayload.decode(payload, columns: spec.columns) else {
                                unparseable += 1
                                continue
                            }
                            values[i] = cells
                        } catch CleanRoomCryptoError.payloadAuthenticationFailed {
                            unauthentic += 1
                        }
                    }
                }
            }
        }
        if unauthentic > 0 {
            warnings.append("ENRICHMENT_RECORDS: \(unauthentic) record(s) whose match tag is one of ours did not authenticate")
        }
        if unparseable > 0 {
            warnings.append("ENRICHMENT_RECORDS: \(unparseable) matched record(s) whose payload does not parse under the policy's columns")
        }
        var result = context.baseResult(peerCount: peerCount)
        let revealed = matched >= context.analysis.minIntersection
        result.intersectionSize = revealed ? .revealed(matched) : .suppressed(below: context.analysis.minIntersection)
        var rows: [EnrichedRow] = []
        if revealed {
            for (i, cells) in values {
                for row in context.rowReferences(ofIdentifier: i) { rows.append(EnrichedRow(row: row, values: cells)) }
            }
        }
        result.enrichment = EnrichmentResult(columns: spec.columns.map(\.name), rows: rows.sorted { $0.row < $1.row })
        // Not anomalies: a freeze would answer the sender's question "is t in X?" for any target t
        // whose record it spoiled. A spoiled record is treated as a missing one (which the sender
        // could cause anyway) and only noted in this party's own result.
        if !warnings.isEmpty { result.warnings = warnings }
        return result
    }

    func wipe() {
        clients = []
        secureWipe(&outputs)
        outputs = []
        tags = []
        records = []
        pendingEvaluated = []
    }
}
