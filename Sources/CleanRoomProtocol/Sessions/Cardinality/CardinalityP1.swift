// Cardinality, P1: matches and learns the overlap size; sends it to P2 if P2 receives the result
// (CARDINALITY), else DONE. P1 learns nothing else: its own set comes back shuffled.
import CleanRoomCrypto

/// P1 of a cardinality analysis: no state beyond the shared exchange.
final class CardinalityP1: P1Strategy {
    private let context: SessionContext

    init(context: SessionContext) { self.context = context }

    func matched(ownPosition: Int, peerPosition: Int, records: [UInt8], offset: Int) throws {}

    func finish(_ outcome: P1Outcome) throws -> P1Step {
        let overlap = Release(analysis: context.analysis).overlap(outcome.overlap)
        var result = context.baseResult(peerCount: outcome.peerCount)
        result.intersectionSize = overlap
        let answer =
            context.peerReceives
            ? CardinalityMessage(suppressed: overlap.value == nil, count: UInt64(overlap.value ?? 0)).frame()
            : Frame(type: .done, payload: [])
        return .finished(result, [answer])
    }
}
