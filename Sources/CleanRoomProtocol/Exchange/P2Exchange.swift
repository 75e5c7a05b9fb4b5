// P2's side of the exchange every kind shares: re-blind P1's H(x)^a to H(x)^ab and return it
// (in P1's order when P1 is to learn its matching rows, shuffled otherwise), send H(y)^b for its
// own set in a random order, then wait for P1's answer. What a kind adds (tags, ciphertexts, the
// answer) comes from its `P2Strategy`. P1's answer is accepted only once all of P1's set has
// arrived; the lifecycle also refuses it while own frames are still unsent.
// Thread safety: not thread-safe; one session drives it from one task.
import CleanRoomCrypto

/// P2's exchange, generic over the kind's strategy. (P2 keeps no list to match: only P1's keys
/// for the duplicate check.)
final class P2Exchange<Strategy: P2Strategy>: RoleExchange {
    private let context: SessionContext
    private let strategy: Strategy
    private let blinder: Blinder

    private enum Phase: String {
        case awaitingHello = "waiting for HELLO"
        case awaitingSetSize = "waiting for SET_SIZE"
        case exchanging = "exchanging elements"
        case awaitingAnswer = "waiting for the result"
        case done = "finished"
    }
    private var phase = Phase.awaitingHello
    private var nonce: [UInt8] = []
    private var peerNonce: [UInt8] = []
    private var peerCount = 0
    private var peerReceived = 0
    /// P1's elements as re-blinded, for the duplicate check (keys only: 16 bytes each).
    private var peerKeys: [ElementKey] = []
    /// P1's records, re-blinded, held until all arrived (when returned shuffled).
    private var held: [UInt8] = []
    /// P2_ELEMENTS position → own identifier.
    private var ownOrder: [Int] = []
    private var sentOwn = false

    init(context: SessionContext, strategy: Strategy, blinder: Blinder) {
        self.context = context
        self.strategy = strategy
        self.blinder = blinder
    }

    var anomalies: [String] { strategy.anomalies }
    var phaseDescription: String { phase.rawValue }
    var elementProgress: (done: Int, total: Int) { blinder.progress(ownCount: context.ownCount, peerCount: peerCount) }
    private var peerWidth: Int { 32 + strategy.peerTagBytes }

    func hello(nonce: [UInt8]) -> Frame {
        self.nonce = nonce
        return Handshake.hello(context, nonce: nonce)
    }

    func handle(_ frame: Frame, outbox: inout Outbox) throws -> ExchangeStep {
        switch (phase, frame.type) {
        case (.awaitingHello, .hello):
            if strategy.repliesToSetSize {
                // Our SET_SIZE waits for P1's, so that what it carries is bound to both counts.
                peerNonce = try Handshake.check(frame, context, nonce: nonce)
            } else {
                let (setSize, peerNonce) = try Handshake.reply(toHello: frame, context, nonce: nonce) {
                    try self.strategy.setSizeKeys(binding: nil)
                }
                self.peerNonce = peerNonce
                outbox.send(setSize)
            }
            phase = .awaitingSetSize
        case (.awaitingSetSize, .setSize):
            let (count, message) = try Handshake.setSize(
                frame, context, expectsPaillierKey: false, expectsGroupKey: strategy.expectsGroupKey)
            peerCount = count
            try strategy.acceptSetSize(message)
            if strategy.repliesToSetSize {
                let binding = HandshakeBinding(
                    digest: context.digest, p1Nonce: peerNonce, p2Nonce: nonce, p1Count: count, p2Count: context.ownCount)
                outbox.send(Handshake.setSize(context, keys: try strategy.setSizeKeys(binding: binding)))
            }
            phase = .exchanging
            peerKeys.reserveCapacity(peerCount)
            if !strategy.returnsInOrder { held.reserveCapacity(peerCount * peerWidth) }
            if !strategy.sendsOwnAfterPeer { try sendOwnElements(&outbox) }
        case (.exchanging, .p1Elements):
            try onPeerElements(frame, outbox: &outbox)
        case (.awaitingAnswer, .p1Elements):
            throw CleanRoomProtocolError.tooManyElements(message: "P1_ELEMENTS", announced: peerCount)
        case (.awaitingAnswer, _):
            let step = try strategy.onAnswer(frame, ownOrder: ownOrder, peerCount: peerCount)
            if case .finished = step { phase = .done }
            return step
        default:
            throw CleanRoomProtocolError.unexpectedMessage(type: frame.type.description, state: phase.rawValue)
        }
        return .continuing
    }

    func wipe() {
        blinder.wipe()
        strategy.wipe()
        peerKeys = []
        held = []
    }

    private func sendOwnElements(_ outbox: inout Outbox) throws {
        sentOwn = true
        ownOrder = try SecureRandom.permutation(count: context.ownCount, using: context.random)
        let width = 32 + strategy.ownExtraBytes
        outbox.stream(context.batchRanges(total: ownOrder.count, width: width)) { [unowned self] in try self.ownBatch($0) }
    }

    /// The P2_ELEMENTS batch of positions `range` of the shuffled order.
    private func ownBatch(_ range: Range<Int>) throws -> Frame {
        let ids = ownOrder[range]
        let blinded = try blinder.hashAndBlind(ids, of: context.prepared.identifiers)
        let width = 32 + strategy.ownExtraBytes
        guard width != 32 else { return ElementBatch(type: .p2Elements, count: ids.count, records: blinded).frame() }
        var records = [UInt8](repeating: 0, count: width * ids.count)
        for k in 0..<ids.count {
            records.replaceSubrange((width * k)..<(width * k + 32), with: blinded[(32 * k)..<(32 * k + 32)])
        }
        try strategy.fillOwnRecords(ids: ids, records: &records, width: width)
        return ElementBatch(type: .p2Elements, count: ids.count, records: records).frame()
    }

    private func onPeerElements(_ frame: Frame, outbox: inout Outbox) throws {
        let width = peerWidth
        var batch = try ElementBatch.decode(frame, width: width, remaining: peerCount - peerReceived, announced: peerCount)
        try blinder.reblind(records: &batch.records, count: batch.count, width: width, context: "P1_ELEMENTS")
        // Re-blinding is injective on honest elements, so duplicates show in the outputs too
        // (and so do aliases that differ by a small-order point).
        for k in 0..<batch.count { peerKeys.append(ElementKey(batch.records, at: width * k)) }
        try strategy.rerandomizeTags(&batch.records, count: batch.count, width: width)
        peerReceived += batch.count
        if strategy.returnsInOrder {
            outbox.send(ElementBatch(type: .p2Reblinded, count: batch.count, records: batch.records).frame())
        } else {
            held += batch.records
        }
        guard peerReceived == peerCount else { return }
        peerKeys.sort()
        guard !zip(peerKeys, peerKeys.dropFirst()).contains(where: { $0 == $1 }) else {
            throw CleanRoomProtocolError.duplicateBlindedElement(message: "P1_ELEMENTS")
        }
        peerKeys = []
        if !strategy.returnsInOrder {
            // P1 must not learn which of its elements matched: its set goes back shuffled.
            try held.withUnsafeMutableBytes { try SecureRandom.shuffle(records: $0, width: width, using: context.random) }
            outbox.stream(context.batchRanges(total: peerCount, width: width)) { [unowned self] range in
                let frame = ElementBatch(
                    type: .p2Reblinded, count: range.count,
                    records: Array(self.held[(range.lowerBound * width)..<(range.upperBound * width)])
                ).frame()
                if range.upperBound == self.peerCount { self.held = [] }
                return frame
            }
        }
        if !sentOwn { try sendOwnElements(&outbox) }
        phase = .awaitingAnswer
    }
}
