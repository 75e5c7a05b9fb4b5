// Cardinality, P2: receives the overlap size (CARDINALITY) if it is a receiver, else DONE, and
// checks it against what the policy and the set sizes allow.
import CleanRoomCrypto

/// P2 of a cardinality analysis: no state beyond the shared exchange.
final class CardinalityP2: P2Strategy {
    private let context: SessionContext

    init(context: SessionContext) { self.context = context }

    func onAnswer(_ frame: Frame, ownOrder: [Int], peerCount: Int) throws -> ExchangeStep {
        var result = context.baseResult(peerCount: peerCount)
        switch frame.type {
        case .done where !context.receives:
            try ByteReader(frame).finish()
        case .cardinality where context.receives:
            let m = try CardinalityMessage.decode(frame)
            let minimum = context.analysis.minIntersection
            guard m.suppressed || (m.count >= UInt64(minimum) && m.count <= UInt64(min(context.ownCount, peerCount))) else {
                throw CleanRoomProtocolError.malformedMessage(
                    type: "CARDINALITY", problem: "overlap outside what the policy and the set sizes allow")
            }
            result.intersectionSize = m.suppressed ? .suppressed(below: minimum) : .revealed(Int(m.count))
            // P1 added the noise; the policy says how much.
            result.privacy = try context.analysis.privacy.map { try ReleaseNoise($0).report() }
        default:
            throw CleanRoomProtocolError.unexpectedMessage(type: frame.type.description, state: "waiting for the result")
        }
        return .finished(result, [])
    }
}
