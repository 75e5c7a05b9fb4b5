// The sender's side of an enrichment (P2, the RFC 9497 OPRF server; docs/protocol.md,
// "Enrichment"). After the handshake it draws a fresh OPRF key, evaluates F(k, y) on each of its own
// identifiers, and sends one record per identifier, sorted by match tag: the tag and the first row's
// allowed cells sealed under keys derived from F(k, y) (EnrichmentRecordCipher, docs/crypto.md).
// It answers each OPRF_BLINDED batch of the receiver with OPRF_EVALUATED, in order, after checking
// every element. It learns the receiver's set size and nothing else: the receiver's only later
// message is a DONE that it sends whatever matched.
// Thread safety: not thread-safe; one session drives it from one task.
import CleanRoomCrypto

final class EnrichmentSender: RoleExchange {
    private let context: SessionContext
    private let spec: EnrichmentSpec

    private enum Phase: String {
        case awaitingHello = "waiting for HELLO"
        case awaitingSetSize = "waiting for SET_SIZE"
        case evaluating = "evaluating the receiver's blinded elements"
        case awaitingDone = "waiting for the receiver to finish"
        case done = "finished"
    }
    private var phase = Phase.awaitingHello
    private var nonce: [UInt8] = []
    private var peerNonce: [UInt8] = []
    private var peerCount = 0
    private var peerReceived = 0
    private var key: OPRFServerKey?
    /// Own records (tag ‖ sealed record), sorted by tag; built when the first batch is taken.
    private var records: [UInt8] = []
    private var recordsSent = 0
    private var recordCipherContext: [UInt8] = []

    init(context: SessionContext, spec: EnrichmentSpec) {
        self.context = context
        self.spec = spec
    }

    var phaseDescription: String { phase.rawValue }
    /// The sender opens nothing of the receiver's, so it finds no deviations without aborting.
    var anomalies: [String] { [] }
    var elementProgress: (done: Int, total: Int) { (recordsSent + peerReceived, context.ownCount + peerCount) }

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
                digest: context.digest, receiverNonce: peerNonce, senderNonce: nonce, receiverCount: count, senderCount: context.ownCount)
            key = try OPRFServerKey(using: context.random)
            let width = spec.recordWidth
            outbox.stream(context.batchRanges(total: context.ownCount, width: width)) { [unowned self] range in
                if range.lowerBound == 0 { try self.buildRecords() }
                let frame = ElementBatch(
                    type: .enrichmentRecords, count: range.count,
                    records: Array(self.records[(range.lowerBound * width)..<(range.upperBound * width)])
                ).frame()
                self.recordsSent = range.upperBound
                if range.upperBound == self.context.ownCount { self.records = [] }
                return frame
            }
            phase = .evaluating
        case (.evaluating, .oprfBlinded):
            try onBlinded(frame, outbox: &outbox)
        case (.awaitingDone, .oprfBlinded):
            throw CleanRoomProtocolError.tooManyElements(message: "OPRF_BLINDED", announced: peerCount)
        case (.awaitingDone, .done):
            guard frame.payload.isEmpty else { throw CleanRoomProtocolError.malformedMessage(type: "DONE", problem: "unexpected payload") }
            phase = .done
            // The receiver's DONE closes the session; ours lets it finish after its matching, so that
            // how long that takes (how much matched) never reaches this side.
            return .finished(context.baseResult(peerCount: peerCount), [Frame(type: .done, payload: [])])
        default:
            throw CleanRoomProtocolError.unexpectedMessage(type: frame.type.description, state: phase.rawValue)
        }
        return .continuing
    }

    /// Evaluates F(k, y) for every own identifier, seals its payload, and sorts the records by tag.
    private func buildRecords() throws {
        guard let key else { throw CleanRoomProtocolError.unexpectedMessage(type: "records", state: "no OPRF key yet") }
        let n = context.ownCount, width = spec.recordWidth, tagBytes = EnrichmentRecordCipher.matchTagBytes
        var unsorted = [UInt8](repeating: 0, count: n * width)
        let prepared = context.prepared
        let cipherContext = recordCipherContext
        let payloadWidth = spec.payloadWidth
        try unsorted.withUnsafeMutableBytes { out in
            let shared = UnsafeSendable(out)
            try parallelFor(n, parallelism: context.parallelism) { range, _ in
                let cipher = try EnrichmentRecordCipher(context: cipherContext, payloadWidth: payloadWidth)
                var outputs = [UInt8](repeating: 0, count: range.count * OPRFRistretto255.outputBytes)
                defer { secureWipe(&outputs) }
                try outputs.withUnsafeMutableBytes { try key.evaluate(range.map { Array(prepared.identifiers[$0]) }, into: $0) }
                try outputs.withUnsafeBytes { ys in
                    for (k, i) in range.enumerated() {
                        let y = UnsafeRawBufferPointer(rebasing: ys[(k * 64)..<((k + 1) * 64)])
                        let record = UnsafeMutableRawBufferPointer(rebasing: shared.value[(i * width)..<((i + 1) * width)])
                        try Array(prepared.payloads[i]).withUnsafeBytes { payload in
                            try cipher.seal(
                                payload, prfOutput: y, tag: UnsafeMutableRawBufferPointer(rebasing: record[0..<tagBytes]),
                                sealed: UnsafeMutableRawBufferPointer(rebasing: record[tagBytes...]))
                        }
                    }
                }
            }
        }
        // Sorted by tag: the order says nothing about the sender's rows.
        let order = unsorted.withUnsafeBytes { b in (0..<n).sorted { MatchTag(b, at: $0 * width) < MatchTag(b, at: $1 * width) } }
        records = [UInt8](repeating: 0, count: n * width)
        for (k, i) in order.enumerated() {
            records.replaceSubrange((k * width)..<((k + 1) * width), with: unsorted[(i * width)..<((i + 1) * width)])
        }
    }

    private func onBlinded(_ frame: Frame, outbox: inout Outbox) throws {
        guard let key else { throw CleanRoomProtocolError.unexpectedMessage(type: "OPRF_BLINDED", state: "no OPRF key yet") }
        let batch = try ElementBatch.decode(frame, width: 32, remaining: peerCount - peerReceived, announced: peerCount)
        var evaluated = [UInt8](repeating: 0, count: batch.records.count)
        do {
            try batch.records.withUnsafeBytes { input in
                try evaluated.withUnsafeMutableBytes { out in
                    let shared = UnsafeSendable(out)
                    try parallelFor(batch.count, parallelism: context.parallelism) { range, _ in
                        let bytes = (range.lowerBound * 32)..<(range.upperBound * 32)
                        try key.blindEvaluate(
                            UnsafeRawBufferPointer(rebasing: input[bytes]),
                            into: UnsafeMutableRawBufferPointer(rebasing: shared.value[bytes]))
                    }
                }
            }
        } catch CleanRoomCryptoError.invalidGroupElement(let index, let reason) {
            // The index within the worker's chunk is not the batch position: name the message instead.
            _ = index
            throw CleanRoomProtocolError.invalidPeerCryptography(
                problem: "an OPRF_BLINDED element is not a valid ristretto255 element (\(reason))")
        }
        peerReceived += batch.count
        outbox.send(ElementBatch(type: .oprfEvaluated, count: batch.count, records: evaluated).frame())
        if peerReceived == peerCount { phase = .awaitingDone }
    }

    func wipe() {
        key = nil
        records = []
    }
}

/// The session context bound into every record key: SHA-256 over a label, the collaboration digest,
/// both nonces and both announced sizes, so that records of one session open in no other.
enum EnrichmentContext {
    static func bytes(digest: [UInt8], receiverNonce: [UInt8], senderNonce: [UInt8], receiverCount: Int, senderCount: Int) throws
        -> [UInt8]
    {
        // The receiver is P1 and the sender P2: the handshake binding's layout under its own label.
        try HandshakeBinding(digest: digest, p1Nonce: receiverNonce, p2Nonce: senderNonce, p1Count: receiverCount, p2Count: senderCount)
            .bytes(label: "CleanRoom-v1 enrichment context")
    }
}
