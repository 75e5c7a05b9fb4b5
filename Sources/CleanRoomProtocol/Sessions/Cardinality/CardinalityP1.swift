// Cardinality, P1: matches and learns the overlap size; sends it to P2 if P2 receives the result
// (CARDINALITY), else DONE. P1 learns nothing else: its own set comes back shuffled.
import CleanRoomCrypto

/// P1 of a cardinality analysis: with differential privacy, the noise it adds to the count.
final class CardinalityP1: P1Strategy {
    private let context: SessionContext
    /// Drawn when the session is created, before any element flows: the sampler's running time
    /// depends on the value drawn.
    private let noise: (value: Int64, report: NoiseReport)?

    init(context: SessionContext) throws {
        self.context = context
        if let spec = context.analysis.privacy {
            let release = try ReleaseNoise(spec)
            noise = (try release.distribution.sample(using: context.random), try release.report())
        } else {
            noise = nil
        }
    }

    func matched(ownPosition: Int, peerPosition: Int, records: [UInt8], offset: Int) throws {}

    func finish(_ outcome: P1Outcome) throws -> P1Step {
        let release = Release(analysis: context.analysis)
        // With privacy, the released count (to the peer and in this party's result) is noisy; this
        // party's process computed the exact one, which is inherent (docs/privacy.md).
        let overlap =
            noise.map { release.overlap(outcome.overlap, noise: $0.value, ceiling: min(context.ownCount, outcome.peerCount)) }
            ?? release.overlap(outcome.overlap)
        var result = context.baseResult(peerCount: outcome.peerCount)
        result.intersectionSize = overlap
        result.privacy = noise?.report
        let answer =
            context.peerReceives
            ? CardinalityMessage(suppressed: overlap.value == nil, count: UInt64(overlap.value ?? 0)).frame()
            : Frame(type: .done, payload: [])
        return .finished(result, [answer])
    }
}
