// Writes collaboration files: the one builder behind every file CleanRoom writes itself (`cleanroom
// demo`, `cleanroom bench psi`, the golden transcripts and the tests), so that none of them
// hand-writes YAML. It lives beside the loader because it is the loader's inverse and does no I/O:
// the vector generator and the protocol tests use it without the runner.
//
// The output is block-style YAML in the order of docs/collaboration.md. A file's digest depends only
// on its meaning, never on this layout (Collaboration+Digest.swift), but the layout is kept stable:
// the golden transcripts record the text verbatim, and tests edit it by search and replace.

/// A collaboration file between parties that join on one column each, as YAML text.
public struct CollaborationTemplate: Sendable, Equatable {
    /// A party: its name, the SHA-256 fingerprint of its certificate, and `host:port` for the one
    /// that listens.
    public struct Party: Sendable, Equatable {
        public var name: String
        public var certificateSHA256: String
        public var listen: String?

        public init(name: String, certificateSHA256: String, listen: String? = nil) {
            self.name = name
            self.certificateSHA256 = certificateSHA256
            self.listen = listen
        }
    }

    /// A value column of an intersection-sum. Bounds are decimal strings; they are written quoted
    /// when the column has a scale (decimals), as plain numbers otherwise.
    public struct ValueColumn: Sendable, Equatable {
        public var name: String
        public var scale: Int
        public var min: String?
        public var max: String

        public init(name: String, scale: Int = 0, min: String? = nil, max: String) {
            self.name = name
            self.scale = scale
            self.min = min
            self.max = max
        }
    }

    /// Grouping of an intersection-sum by a column of the party without the values.
    public struct Grouping: Sendable, Equatable {
        public var party: String
        public var column: String
        public var minGroupSize: Int
        /// nil: the default (`max_groups` not written).
        public var maxGroups: Int?

        public init(party: String, column: String, minGroupSize: Int, maxGroups: Int? = nil) {
            self.party = party
            self.column = column
            self.minGroupSize = minGroupSize
            self.maxGroups = maxGroups
        }
    }

    /// One analysis. Every party joins on the same column with the same normalisation, and has the
    /// same set-size bounds.
    public struct Analysis: Sendable, Equatable {
        public var name: String
        public var kind: AnalysisKind
        public var joinColumn: String
        public var normalize: Normalization
        public var receivers: [String]
        public var minIntersection: Int
        public var setSize: ClosedRange<Int>
        /// intersection-sum: the party whose columns are summed, and the columns.
        public var valueOwner: String?
        public var values: [ValueColumn]
        public var grouping: Grouping?
        /// intersection-sum: nil leaves the default (count and sum).
        public var statistics: [Statistic]?
        /// cardinality: `privacy: { mechanism: laplace, epsilon: <this> }` when set.
        public var laplaceEpsilon: String?
        /// `privacy: { <these fields> }` when set (for example
        /// `mechanism: laplace, epsilon: 1, delta: 1e-9, max_rows_per_identifier: 1`).
        public var privacyFields: String?
        /// enrichment: the sender's columns the receiver may learn, with their widths.
        public var enrichmentColumns: [EnrichmentSpec.Column] = []

        public init(
            name: String, kind: AnalysisKind, joinColumn: String = "email", normalize: Normalization = .email, receivers: [String],
            minIntersection: Int, setSize: ClosedRange<Int>, valueOwner: String? = nil, values: [ValueColumn] = [],
            grouping: Grouping? = nil, statistics: [Statistic]? = nil
        ) {
            self.name = name
            self.kind = kind
            self.joinColumn = joinColumn
            self.normalize = normalize
            self.receivers = receivers
            self.minIntersection = minIntersection
            self.setSize = setSize
            self.valueOwner = valueOwner
            self.values = values
            self.grouping = grouping
            self.statistics = statistics
        }

        /// Only the size of the overlap; with `laplaceEpsilon`, released with discrete Laplace noise.
        public static func cardinality(
            _ name: String, receivers: [String], minIntersection: Int, setSize: ClosedRange<Int>, laplaceEpsilon: String? = nil
        ) -> Analysis {
            var a = Analysis(name: name, kind: .cardinality, receivers: receivers, minIntersection: minIntersection, setSize: setSize)
            a.laplaceEpsilon = laplaceEpsilon
            return a
        }

        /// Which rows are in the overlap.
        public static func intersection(_ name: String, receivers: [String], minIntersection: Int, setSize: ClosedRange<Int>) -> Analysis {
            Analysis(name: name, kind: .intersection, receivers: receivers, minIntersection: minIntersection, setSize: setSize)
        }

        /// The sender's `columns` for the matched rows of `receiver`.
        public static func enrichment(
            _ name: String, receiver: String, columns: [EnrichmentSpec.Column], minIntersection: Int, setSize: ClosedRange<Int>
        ) -> Analysis {
            var a = Analysis(name: name, kind: .enrichment, receivers: [receiver], minIntersection: minIntersection, setSize: setSize)
            a.enrichmentColumns = columns
            return a
        }

        /// Sums of `owner`'s `values` over the overlap, optionally grouped.
        public static func intersectionSum(
            _ name: String, owner: String, values: [ValueColumn], grouping: Grouping? = nil, statistics: [Statistic]? = nil,
            receivers: [String], minIntersection: Int, setSize: ClosedRange<Int>, privacyFields: String? = nil
        ) -> Analysis {
            var a = Analysis(
                name: name, kind: .intersectionSum, receivers: receivers, minIntersection: minIntersection, setSize: setSize,
                valueOwner: owner, values: values, grouping: grouping, statistics: statistics)
            a.privacyFields = privacyFields
            return a
        }
    }

    public var name: String
    /// A comment written as the first line.
    public var comment: String?
    public var parties: [Party]
    public var analyses: [Analysis]

    /// `privacy_budget.max_sessions`, when set.
    public var maxSessions: Int?

    public init(name: String, comment: String? = nil, parties: [Party], analyses: [Analysis], maxSessions: Int? = nil) {
        self.name = name
        self.comment = comment
        self.parties = parties
        self.analyses = analyses
        self.maxSessions = maxSessions
    }

    /// The file's text (no trailing newline).
    public var yaml: String {
        var lines: [String] = []
        if let comment { lines.append("# \(comment)") }
        lines.append("collaboration: \(name)")
        lines.append("parties:")
        for p in parties {
            lines.append("  - name: \(p.name)")
            lines.append("    certificate_sha256: \"\(p.certificateSHA256)\"")
            if let listen = p.listen { lines.append("    listen: \(listen)") }
        }
        if let maxSessions { lines += ["privacy_budget:", "  max_sessions: \(maxSessions)"] }
        lines.append("analyses:")
        for a in analyses { lines += analysisLines(a) }
        return lines.joined(separator: "\n")
    }

    func analysisLines(_ a: Analysis) -> [String] {
        var lines = ["  - name: \(a.name)", "    kind: \(a.kind.rawValue)", "    join:"]
        for p in parties { lines.append("      \(p.name): { column: \(a.joinColumn), normalize: \(a.normalize.rawValue) }") }
        if let owner = a.valueOwner {
            lines += ["    values:", "      owner: \(owner)", "      columns:"]
            for v in a.values {
                func bound(_ s: String) -> String { v.scale > 0 ? "\"\(s)\"" : s }
                var fields = ["name: \(v.name)", "scale: \(v.scale)"]
                if let min = v.min { fields.append("min: \(bound(min))") }
                fields.append("max: \(bound(v.max))")
                lines.append("        - { \(fields.joined(separator: ", ")) }")
            }
        }
        if let g = a.grouping {
            lines.append("    group_by: { party: \(g.party), column: \(g.column) }")
            lines.append("    min_group_size: \(g.minGroupSize)")
            if let maxGroups = g.maxGroups { lines.append("    max_groups: \(maxGroups)") }
        }
        if let statistics = a.statistics { lines.append("    statistics: [\(statistics.map(\.rawValue).joined(separator: ", "))]") }
        if let epsilon = a.laplaceEpsilon { lines.append("    privacy: { mechanism: laplace, epsilon: \(epsilon) }") }
        if let fields = a.privacyFields { lines.append("    privacy: { \(fields) }") }
        if !a.enrichmentColumns.isEmpty {
            lines.append("    columns:")
            for c in a.enrichmentColumns { lines.append("      - { name: \(c.name), max_bytes: \(c.maxBytes) }") }
        }
        lines.append("    receivers: [\(a.receivers.joined(separator: ", "))]")
        lines.append("    min_intersection: \(a.minIntersection)")
        lines.append("    set_size:")
        for p in parties { lines.append("      \(p.name): { min: \(a.setSize.lowerBound), max: \(a.setSize.upperBound) }") }
        return lines
    }
}
