// The release step: the one place every kind passes what it computed before anything is encoded
// for the peer or written as this party's result. Today it applies the policy's thresholds
// (min_intersection, min_group_size) and decides suppression; differential-privacy noise and the
// privacy-budget ledger are meant to plug in here, so that no kind can release a number without it.
//
// Thresholds protect against accidents and follow AWS Clean Rooms' aggregation constraints; they
// are not a guarantee against the party that does the matching (it computes exact counts), and
// docs/protocol.md says so.

/// Applies an analysis's release rules.
struct Release {
    let analysis: Analysis

    /// The overlap as released: its size, or suppressed below `min_intersection`.
    func overlap(_ size: Int) -> RevealedCount {
        size < analysis.minIntersection ? .suppressed(below: analysis.minIntersection) : .revealed(size)
    }

    /// The groups that may be released, in the order given: those of at least `min_group_size`
    /// identifiers (1 when ungrouped), and none when the overlap itself is suppressed.
    func groups(_ candidates: [UInt32], counts: [UInt32: Int], overlap: RevealedCount) -> [UInt32] {
        guard overlap.suppressedBelow == nil else { return [] }
        let threshold = analysis.sumSpec?.grouping?.minGroupSize ?? 1
        return candidates.filter { (counts[$0] ?? 0) >= threshold }
    }
}
