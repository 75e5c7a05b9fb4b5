// P1's side of the exchange every kind shares (Private Join and Compute, Ion et al. EuroS&P 2020):
// send H(x)^a for its own set in a random order, receive it back as H(x)^ab, receive P2's H(y)^b
// and re-blind it to H(y)^ab, then match. What a kind adds (tags, ciphertexts, the answer) comes
// from its `P1Strategy`. Every message is accepted only in the phase where the protocol allows it,
// and P2_REBLINDED is counted against what this party has actually sent.
// Thread safety: not thread-safe; one session drives it from one task.
import CleanRoomCrypto

/// P1's exchange, generic over the kind's strategy and the element store.
final class P1Exchange<Strategy: P1Strategy, Store: ElementStore>: RoleExchange {
    private let context: SessionContext
    private let strategy: Strategy
    private let blinder: Blinder

    private enum Phase: String {
        case awaitingHello = "waiting for HELLO"
        case awaitingSetSize = "waiting for SET_SIZE"
        case exchanging = "exchanging elements"
        case awaitingAnswer
        case done = "finished"
    }
    private var phase = Phase.awaitingHello
    private var nonce: [UInt8] = []
    private var peerNonce: [UInt8] = []
    private var peerCount = 0
    /// P1_ELEMENTS position → own identifier.
    private var sentOrder: [Int] = []
    private var ownSent = 0
    private var reblinded = Store()
    private var reblindedCount = 0
    private var peerElements = Store()
    private var peerReceived = 0
    private var overlap = 0

    init(context: SessionContext, strategy: Strategy, blinder: Blinder) {
        self.context = context
        self.strategy = strategy
        self.blinder = blinder
    }

    var anomalies: [String] { strategy.anomalies }
    var phaseDescription: String { phase == .awaitingAnswer ? strategy.awaitingDescription : phase.rawValue }
    var elementProgress: (done: Int, total: Int) { blinder.progress(ownCount: context.ownCount, peerCount: peerCount) }
    private var ownWidth: Int { 32 + strategy.tagBytes }

    func hello(nonce: [UInt8]) -> Frame {
        self.nonce = nonce
        return Handshake.hello(context, nonce: nonce)
    }

    func handle(_ frame: Frame, outbox: inout Outbox) throws -> ExchangeStep {
        switch (phase, frame.type) {
        case (.awaitingHello, .hello):
            let (setSize, peerNonce) = try Handshake.reply(toHello: frame, context, nonce: nonce, keys: strategy.setSizeKeys)
            self.peerNonce = peerNonce
            outbox.send(setSize)
            phase = .awaitingSetSize
        case (.awaitingSetSize, .setSize):
            let (count, message) = try Handshake.setSize(
                frame, context, expectsPaillierKey: strategy.expectsPaillierKey, expectsGroupKey: false)
            peerCount = count
            let binding = HandshakeBinding(
                digest: context.digest, p1Nonce: nonce, p2Nonce: peerNonce, p1Count: context.ownCount, p2Count: count)
            try strategy.acceptSetSize(message, binding: binding)
            phase = .exchanging
            // Both counts are known and within the policy: size the lists once.
            reblinded.reserve(context.ownCount)
            peerElements.reserve(peerCount)
            sentOrder = try SecureRandom.permutation(count: context.ownCount, using: context.random)
            outbox.stream(context.batchRanges(total: sentOrder.count, width: ownWidth)) { [unowned self] in try self.ownBatch($0) }
        case (.exchanging, .p2Reblinded):
            try onReblinded(frame)
            return try completeIfReady(outbox: &outbox)
        case (.exchanging, .p2Elements):
            try onPeerElements(frame)
            return try completeIfReady(outbox: &outbox)
        case (.awaitingAnswer, .p2Elements):
            throw CleanRoomProtocolError.tooManyElements(message: "P2_ELEMENTS", announced: peerCount)
        case (.awaitingAnswer, .p2Reblinded):
            throw CleanRoomProtocolError.tooManyElements(message: "P2_REBLINDED", announced: context.ownCount)
        case (.awaitingAnswer, _):
            let result = try strategy.onPeerAnswer(frame)
            phase = .done
            return .finished(result, [])
        default:
            throw CleanRoomProtocolError.unexpectedMessage(type: frame.type.description, state: phaseDescription)
        }
        return .continuing
    }

    func wipe() {
        blinder.wipe()
        strategy.wipe()
        reblinded.removeAll()
        peerElements.removeAll()
    }

    /// The P1_ELEMENTS batch of positions `range` of the shuffled order.
    private func ownBatch(_ range: Range<Int>) throws -> Frame {
        let width = ownWidth
        let ids = sentOrder[range]
        let blinded = try blinder.hashAndBlind(ids, of: context.prepared.identifiers)
        var records = blinded
        if width != 32 {
            records = [UInt8](repeating: 0, count: width * ids.count)
            for k in 0..<ids.count {
                records.replaceSubrange((width * k)..<(width * k + 32), with: blinded[(32 * k)..<(32 * k + 32)])
            }
            try strategy.sealTags(ids: ids, records: &records, width: width)
        }
        ownSent += ids.count
        return ElementBatch(type: .p1Elements, count: ids.count, records: records).frame()
    }

    private func onReblinded(_ frame: Frame) throws {
        let width = ownWidth
        let batch = try ElementBatch.decode(
            frame, width: width, remaining: context.ownCount - reblindedCount, announced: context.ownCount)
        // Counted against what this party has sent so far, not against its whole set: a peer
        // cannot return elements it has not been given.
        guard reblindedCount + batch.count <= ownSent else {
            throw CleanRoomProtocolError.unexpectedMessage(
                type: "P2_REBLINDED", state: "\(ownSent) of \(context.ownCount) elements sent, \(reblindedCount + batch.count) returned")
        }
        try Blinder.requireCanonical(batch.records, count: batch.count, width: width, context: "P2_REBLINDED")
        for k in 0..<batch.count {
            reblinded.append(ElementKey(batch.records, at: width * k), position: Int32(reblindedCount + k))
        }
        // Every tag is opened on arrival, matched or not, so a bad tag cannot reveal membership.
        try strategy.openTags(batch.records, count: batch.count, width: width)
        reblindedCount += batch.count
        if reblindedCount == context.ownCount {
            guard reblinded.seal() else { throw CleanRoomProtocolError.duplicateBlindedElement(message: "P2_REBLINDED") }
        }
    }

    private func onPeerElements(_ frame: Frame) throws {
        // Where sums stream in, an honest P2 returns P1's set first; refusing the other order
        // keeps P1 from having to hold every ciphertext.
        guard !strategy.matchesOnArrival || reblindedCount == context.ownCount else {
            throw CleanRoomProtocolError.unexpectedMessage(type: "P2_ELEMENTS", state: "waiting for all of P2_REBLINDED")
        }
        let width = 32 + strategy.peerExtraBytes
        var batch = try ElementBatch.decode(frame, width: width, remaining: peerCount - peerReceived, announced: peerCount)
        try strategy.checkPeerRecords(batch.records, count: batch.count, width: width)
        try blinder.reblind(records: &batch.records, count: batch.count, width: width, context: "P2_ELEMENTS")
        for k in 0..<batch.count {
            let key = ElementKey(batch.records, at: width * k)
            peerElements.append(key, position: Int32(peerReceived + k))
            guard strategy.matchesOnArrival else { continue }
            if let position = reblinded.position(of: key) {
                overlap += 1
                try strategy.matched(ownPosition: Int(position), peerPosition: peerReceived + k, records: batch.records, offset: width * k)
            } else {
                try strategy.unmatched(peerPosition: peerReceived + k, records: batch.records, offset: width * k)
            }
        }
        peerReceived += batch.count
    }

    /// Once both lists are complete: checks P2's for duplicates, matches (unless matched on the
    /// way) and lets the strategy answer.
    private func completeIfReady(outbox: inout Outbox) throws -> ExchangeStep {
        guard reblindedCount == context.ownCount && peerReceived == peerCount else { return .continuing }
        guard peerElements.seal() else { throw CleanRoomProtocolError.duplicateBlindedElement(message: "P2_ELEMENTS") }
        if !strategy.matchesOnArrival {
            try reblinded.forEachCommon(with: peerElements) { mine, theirs in
                overlap += 1
                try strategy.matched(ownPosition: Int(mine), peerPosition: Int(theirs), records: [], offset: 0)
            }
        }
        peerElements.removeAll()
        reblinded.removeAll()
        switch try strategy.finish(P1Outcome(overlap: overlap, sentOrder: sentOrder, peerCount: peerCount)) {
        case .finished(let result, let frames):
            phase = .done
            return .finished(result, frames)
        case .awaiting(let frames):
            phase = .awaitingAnswer
            outbox.send(frames)
            return .continuing
        }
    }
}
