// Intersection, P2: receives the positions of its matching elements (MATCHES, possibly in several
// frames) if it is a receiver, else DONE, and maps them back to its own rows.
import CleanRoomCrypto

/// P2 of an intersection: the MATCHES frames received so far.
final class IntersectionP2: P2Strategy {
    private let context: SessionContext
    private var received: [Int32] = []

    init(context: SessionContext) { self.context = context }

    var returnsInOrder: Bool { true }

    func onAnswer(_ frame: Frame, ownOrder: [Int], peerCount: Int) throws -> ExchangeStep {
        var result = context.baseResult(peerCount: peerCount)
        switch frame.type {
        case .done where !context.receives && received.isEmpty:
            try ByteReader(frame).finish()
            return .finished(result, [])
        case .matches where context.receives:
            let m = try MatchesMessage.decode(frame, limit: context.ownCount, after: Int64(received.last ?? -1))
            guard !m.suppressed || received.isEmpty else {
                throw CleanRoomProtocolError.malformedMessage(type: "MATCHES", problem: "suppressed after matches were sent")
            }
            received += m.indices.map { Int32($0) }
            if m.more { return .continuing }
            let all = received
            received = []
            let minimum = context.analysis.minIntersection
            guard m.suppressed || all.count >= minimum else {
                throw CleanRoomProtocolError.malformedMessage(
                    type: "MATCHES", problem: "fewer matches than the threshold, yet not suppressed")
            }
            result.intersectionSize = m.suppressed ? .suppressed(below: minimum) : .revealed(all.count)
            if !m.suppressed {
                result.matchedRows = all.flatMap { context.rowReferences(ofIdentifier: ownOrder[Int($0)]) }.sorted()
            }
            return .finished(result, [])
        default:
            throw CleanRoomProtocolError.unexpectedMessage(type: frame.type.description, state: "waiting for the result")
        }
    }
}
