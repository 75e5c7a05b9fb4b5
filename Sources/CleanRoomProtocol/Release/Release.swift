// The release step: the one place every kind passes what it computed before anything is encoded
// for the peer or written as this party's result. It adds differential-privacy noise where the
// analysis asks for it (cardinality in this version: docs/privacy.md), then applies the policy's
// thresholds (min_intersection, min_group_size) to the noisy value and decides suppression.
//
// Thresholds protect against accidents and follow AWS Clean Rooms' aggregation constraints; they
// are not a guarantee against the party that does the matching (it computes exact counts), and
// docs/protocol.md says so.
import CleanRoomCrypto

/// Applies an analysis's release rules.
struct Release {
    let analysis: Analysis

    /// The overlap as released: its size, or suppressed below `min_intersection`.
    func overlap(_ size: Int) -> RevealedCount {
        size < analysis.minIntersection ? .suppressed(below: analysis.minIntersection) : .revealed(size)
    }

    /// The overlap as released with noise `noise` added (drawn before the session started) and
    /// the sum clamped to [0, `ceiling`] (public: the smaller set size), then thresholded: the
    /// suppression is decided on the noisy value.
    func overlap(_ size: Int, noise: Int64, ceiling: Int) -> RevealedCount {
        overlap(Self.noisy(size, noise: noise, ceiling: ceiling))
    }

    /// A count with noise added, clamped to [0, `ceiling`] (public: the smaller set size).
    static func noisy(_ size: Int, noise: Int64, ceiling: Int) -> Int {
        let (sum, overflow) = Int64(size).addingReportingOverflow(noise)
        return Int(overflow ? (noise > 0 ? Int64(ceiling) : 0) : min(max(sum, 0), Int64(ceiling)))
    }

    /// The groups that may be released, in the order given: those of at least `min_group_size`
    /// identifiers (1 when ungrouped), and none when the overlap itself is suppressed.
    func groups(_ candidates: [UInt32], counts: [UInt32: Int], overlap: RevealedCount) -> [UInt32] {
        guard overlap.suppressedBelow == nil else { return [] }
        let threshold = analysis.sumSpec?.grouping?.minGroupSize ?? 1
        return candidates.filter { (counts[$0] ?? 0) >= threshold }
    }
}

/// The noise a cardinality's released count carries, as the result reports it.
struct ReleaseNoise {
    let spec: PrivacySpec
    /// Sensitivity 1 (one person changes an identifier count by at most one: identifiers are
    /// unique in each set): discrete Laplace with scale t = 1/ε, or the discrete Gaussian of
    /// (ε, δ) through zCDP.
    let distribution: NoiseDistribution

    init(_ spec: PrivacySpec) throws {
        self.spec = spec
        distribution = try NoiseDistribution(
            spec.mechanism, sensitivity: 1, epsilonMicros: spec.epsilonMicros, gaussianDelta: spec.delta ?? 0, shares: 1)
    }

    /// What a result says about it.
    func report() throws -> NoiseReport {
        let half = try distribution.halfWidth(confidence: 0.95)
        return NoiseReport(
            mechanism: spec.mechanism.rawValue, epsilon: spec.epsilonText,
            delta: spec.mechanism == .gaussian ? spec.deltaFemtos.map { PrivacySpec.deltaText(femtos: $0) } : nil,
            scale: distribution.parameterText, interval95: Int(half))
    }
}
