// What one party learned from a session. Values below a threshold are never present: they are
// reported as suppressed with the threshold, so a result file cannot leak them.

/// A number that is either revealed or suppressed because it was below a threshold.
public struct RevealedCount: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The number, when revealed.
    public var value: Int?
    /// The threshold it fell below, when suppressed.
    public var suppressedBelow: Int?

    public static func revealed(_ v: Int) -> RevealedCount { RevealedCount(value: v, suppressedBelow: nil) }
    public static func suppressed(below t: Int) -> RevealedCount { RevealedCount(value: nil, suppressedBelow: t) }

    enum CodingKeys: String, CodingKey {
        case value
        case suppressedBelow = "suppressed_below_threshold"
    }

    public var description: String {
        if let value { return String(value) }
        return "suppressed (below threshold \(suppressedBelow ?? 0))"
    }
}

/// Sums over the overlap, for one group (or for the whole overlap when ungrouped).
public struct GroupResult: Sendable, Equatable, Codable {
    /// The group label (nil when ungrouped, or when the receiver must not learn labels).
    public var label: String?
    /// Identifiers of the overlap in this group.
    public var count: Int?
    /// Rows of the value owner's data behind those identifiers (duplicates are summed).
    public var valueRows: Int?
    /// Sum of each value column, as exact decimals with the column's scale.
    public var sums: [String: String]?
    /// Mean per identifier of each value column (scale + 2 digits, rounded half away from zero).
    public var means: [String: String]?

    enum CodingKeys: String, CodingKey {
        case label, count
        case valueRows = "value_rows"
        case sums, means
    }
}

/// Differential-privacy noise on a result's released values (docs/privacy.md).
public struct NoiseReport: Sendable, Equatable, Codable {
    /// `laplace`: discrete Laplace.
    public var mechanism: String
    /// ε of the session, as the collaboration file gives it.
    public var epsilon: String
    /// δ of this party's session (partition selection and clamping), when not zero.
    public var delta: String?
    /// The noise scale t = Δ/ε of a released count (a fraction when not whole).
    public var scale: String
    /// A released count is within ± this of the exact one with probability ≥ 95% (before the
    /// clamp to [0, min(|X|, |Y|)], which only moves it closer).
    public var interval95: Int
    /// intersection-sum: the smallest noisy count a released group has.
    public var threshold: Int?
    /// intersection-sum: the most rows one identifier adds to a sum.
    public var maxRowsPerIdentifier: Int?
    /// intersection-sum: per value column, the noise on its sums.
    public var sums: [String: Column]?

    /// The noise on one value column's sums.
    public struct Column: Sendable, Equatable, Codable {
        /// The value owner's noise scale on the column's slot, in units of 10^-scale.
        public var scale: String
        /// The other party's noise scale on it, when it adds noise (the owner receives the sums).
        public var peerScale: String?
        /// A released sum is within ± this of the exact one with probability ≥ 95%.
        public var interval95: String

        enum CodingKeys: String, CodingKey {
            case scale
            case peerScale = "other_party_scale"
            case interval95 = "interval_95"
        }
    }

    public init(
        mechanism: String, epsilon: String, delta: String? = nil, scale: String, interval95: Int, threshold: Int? = nil,
        maxRowsPerIdentifier: Int? = nil, sums: [String: Column]? = nil
    ) {
        self.mechanism = mechanism
        self.epsilon = epsilon
        self.delta = delta
        self.scale = scale
        self.interval95 = interval95
        self.threshold = threshold
        self.maxRowsPerIdentifier = maxRowsPerIdentifier
        self.sums = sums
    }

    enum CodingKeys: String, CodingKey {
        case mechanism, epsilon, delta, scale
        case interval95 = "interval_95"
        case threshold
        case maxRowsPerIdentifier = "max_rows_per_identifier"
        case sums
    }
}

/// One of the receiver's rows enriched with the sender's allowed cells.
public struct EnrichedRow: Sendable, Equatable, Codable {
    /// The row's reference (its CSV line number).
    public var row: Int
    /// The sender's cells, in the policy's column order.
    public var values: [String]

    public init(row: Int, values: [String]) {
        self.row = row
        self.values = values
    }
}

/// What the receiver of an enrichment learned: the matched rows with the sender's cells.
public struct EnrichmentResult: Sendable, Equatable, Codable {
    /// The sender's column names, in the order the values are given.
    public var columns: [String]
    /// Every own row whose identifier the sender has, ascending by row; empty when the overlap is
    /// below `min_intersection`.
    public var rows: [EnrichedRow]

    public init(columns: [String], rows: [EnrichedRow]) {
        self.columns = columns
        self.rows = rows
    }
}

/// The outcome of a session for one party.
public struct SessionResult: Sendable, Equatable, Codable {
    public var collaborationDigest: String
    public var analysis: String
    public var kind: AnalysisKind
    public var party: String
    public var peer: String
    public var role: Role
    /// Rows read, rows skipped under `bad_rows: skip`, unique identifiers sent.
    public var inputRows: Int
    public var skippedRows: Int
    public var uniqueIdentifiers: Int
    /// The peer's number of unique identifiers (always learned: it is announced).
    public var peerUniqueIdentifiers: Int
    /// Size of the overlap, when this party learns it.
    public var intersectionSize: RevealedCount?
    /// intersection: this party's row numbers that are in the overlap, ascending.
    public var matchedRows: [Int]?
    /// intersection-sum: sums per reported group.
    public var groups: [GroupResult]?
    /// intersection-sum with groups: how many groups were below `min_group_size` (P1 only).
    public var suppressedGroups: Int?
    /// intersection-sum with groups, P1 only: how many of its own groups had fewer than
    /// `min_group_size` of its identifiers, and so were left out of the session.
    public var ownGroupsBelowMinimum: Int?
    /// What the peer sent that an honest peer cannot (group tags that open to no group, sums that
    /// do not decode), found without aborting: an abort would tell the peer which entries were
    /// real. The runner freezes the collaboration after such a session. nil when nothing was found.
    public var anomalies: [String]?
    /// What the peer sent that an honest peer cannot, noted without any reaction the peer could
    /// observe (no freeze): where a reaction would itself leak (enrichment records that match but
    /// do not open). nil when nothing was found.
    public var warnings: [String]?
    /// The noise the released counts carry, when the analysis asks for differential privacy.
    public var privacy: NoiseReport?
    /// intersection-sum with privacy, value owner: rows left out because their identifier already
    /// had `max_rows_per_identifier` rows (the first rows in file order are kept).
    public var rowsOverContributionBound: Int?
    /// enrichment, receiver only: its matched rows with the sender's cells.
    public var enrichment: EnrichmentResult?

    enum CodingKeys: String, CodingKey {
        case collaborationDigest = "collaboration_digest"
        case analysis, kind, party, peer, role
        case inputRows = "input_rows"
        case skippedRows = "skipped_rows"
        case uniqueIdentifiers = "unique_identifiers"
        case peerUniqueIdentifiers = "peer_unique_identifiers"
        case intersectionSize = "intersection_size"
        case matchedRows = "matched_rows"
        case groups
        case suppressedGroups = "suppressed_groups"
        case ownGroupsBelowMinimum = "own_groups_below_min_group_size"
        case anomalies, warnings, privacy, enrichment
        case rowsOverContributionBound = "rows_over_contribution_bound"
    }
}
