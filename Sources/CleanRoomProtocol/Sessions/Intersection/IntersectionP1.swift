// Intersection, P1: its set comes back in its own order, so it learns which of its rows are in
// the overlap; sends P2 the positions of P2's matching elements (MATCHES) if P2 receives, else
// DONE.
import CleanRoomCrypto

/// P1 of an intersection: the matched positions of both lists.
final class IntersectionP1: P1Strategy {
    private let context: SessionContext
    /// P2_REBLINDED positions (= P1_ELEMENTS positions) in the overlap.
    private var matchedOwn: [Int] = []
    /// P2_ELEMENTS positions in the overlap.
    private var matchedPeer: [UInt32] = []

    init(context: SessionContext) { self.context = context }

    func matched(ownPosition: Int, peerPosition: Int, records: [UInt8], offset: Int) throws {
        matchedOwn.append(ownPosition)
        matchedPeer.append(UInt32(peerPosition))
    }

    func finish(_ outcome: P1Outcome) throws -> P1Step {
        let overlap = Release(analysis: context.analysis).overlap(outcome.overlap)
        var result = context.baseResult(peerCount: outcome.peerCount)
        result.intersectionSize = overlap
        let suppressed = overlap.value == nil
        if !suppressed {
            result.matchedRows = matchedOwn.flatMap { context.rowReferences(ofIdentifier: outcome.sentOrder[$0]) }.sorted()
        }
        let answer =
            context.peerReceives
            ? MatchesMessage.frames(suppressed: suppressed, indices: matchedPeer.sorted()) : [Frame(type: .done, payload: [])]
        matchedOwn = []
        matchedPeer = []
        return .finished(result, answer)
    }
}
