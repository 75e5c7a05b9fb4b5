// The collaboration file: who the parties are, which analyses they allow and under which policy.
// Both parties hold the same file; its canonical digest names it in every session. The YAML
// format is documented field by field in docs/collaboration.md.
import CleanRoomCrypto
import Foundation

/// A two-party collaboration: parties and allowed analyses.
public struct Collaboration: Sendable, Equatable {
    /// Human-readable name of the collaboration.
    public var name: String
    /// The two parties.
    public var parties: [Party]
    /// The analyses the parties allow, by unique name.
    public var analyses: [Analysis]
    /// Limits each party enforces on its own across sessions (`privacy_budget:`); nil: none.
    public var privacyBudget: PrivacyBudget? = nil

    /// What each party will spend on this collaboration, counted in its own ledger.
    public struct PrivacyBudget: Sendable, Equatable {
        /// The most sessions of each analysis between the two parties (a differencing limit that
        /// works without noise: two sessions whose inputs differ by one person reveal that
        /// person's membership).
        public var maxSessions: Int?

        /// The total ε each party will spend on this collaboration, in millionths.
        public var epsilonMicros: Int?
        /// The total δ each party will spend on this collaboration, in units of 10^-15.
        public var deltaFemtos: Int64?

        public init(maxSessions: Int? = nil, epsilonMicros: Int? = nil) {
            self.maxSessions = maxSessions
            self.epsilonMicros = epsilonMicros
        }
    }

    /// The analysis called `name`.
    /// - Throws: `unknownAnalysis`.
    public func analysis(named name: String) throws -> Analysis {
        guard let a = analyses.first(where: { $0.name == name }) else {
            throw CleanRoomProtocolError.unknownAnalysis(name: name, available: analyses.map(\.name))
        }
        return a
    }

    /// The party called `name`.
    /// - Throws: `unknownParty`.
    public func party(named name: String) throws -> Party {
        guard let p = parties.first(where: { $0.name == name }) else { throw CleanRoomProtocolError.unknownParty(name: name) }
        return p
    }

    /// The other party's name.
    public func peer(of name: String) throws -> String {
        _ = try party(named: name)
        guard let other = parties.first(where: { $0.name != name }) else { throw CleanRoomProtocolError.unknownParty(name: name) }
        return other.name
    }
}

/// One organisation taking part.
public struct Party: Sendable, Equatable, Codable {
    /// Unique party name (used on the command line with `--as`).
    public var name: String
    /// SHA-256 fingerprint of the party's TLS certificate, 64 lowercase hex digits.
    public var certificateSHA256: String
    /// Where this party listens (`host:port`); exactly one party listens.
    public var listen: String?

    enum CodingKeys: String, CodingKey {
        case name
        case certificateSHA256 = "certificate_sha256"
        case listen
    }
}

/// What an analysis computes.
public enum AnalysisKind: String, Sendable, Equatable, Codable, CaseIterable {
    /// Which rows are in the overlap (private set intersection).
    case intersection
    /// Only the size of the overlap.
    case cardinality
    /// Count and sums of the value owner's columns over the overlap (Private Join and Compute),
    /// optionally grouped by a column of the other party.
    case intersectionSum = "intersection-sum"
    /// The receiver learns chosen columns of the sender's rows for its own matched rows (labeled
    /// PSI, on the RFC 9497 OPRF).
    case enrichment
}

/// How identifiers are normalised before hashing.
public enum Normalization: String, Sendable, Equatable, Codable, CaseIterable {
    /// Trim surrounding whitespace, Unicode NFC, lowercase.
    case email
    /// Digits only, country code included (8–15 digits, E.164); a leading `00` is dropped.
    case phone
    /// The identifier's bytes as given.
    case none
}

/// The identifier column of one party.
public struct JoinColumn: Sendable, Equatable, Codable {
    public var party: String
    public var column: String
    public var normalize: Normalization
}

/// A numeric column that is summed.
public struct ValueColumn: Sendable, Equatable, Codable {
    /// Column name in the owner's data.
    public var name: String
    /// Digits after the decimal point (0...9); values are handled as integers of 10^-scale.
    public var scale: Int
    /// Smallest allowed value, in units of 10^-scale.
    public var min: Int64
    /// Largest allowed value, in units of 10^-scale.
    public var max: Int64

    /// Parses a cell of this column into units of 10^-scale (nil when it is not a decimal with at
    /// most `scale` fraction digits; bounds are not checked here).
    public func parse(_ text: String) -> Int64? { DecimalParser.parse(text.trimmingCharacters(in: .whitespaces), scale: scale) }
}

/// Set-size bounds of one party: `min` applies to its unique identifiers (after normalisation and
/// de-duplication), `max` to the rows it uses (so it also bounds how many rows a sum can add);
/// the peer checks the announced number of unique identifiers against both.
public struct SetSizeBounds: Sendable, Equatable, Codable {
    public var party: String
    public var min: Int
    public var max: Int
}

/// Statistics an intersection-sum reports.
public enum Statistic: String, Sendable, Equatable, Codable, CaseIterable {
    case count, sum, mean
}

/// What to do with input rows that fail validation.
public enum BadRowPolicy: String, Sendable, Equatable, Codable {
    /// Stop before anything is sent (default).
    case abort
    /// Leave the row out and count it.
    case skip
}

/// One allowed analysis and its policy: what every kind has, and a spec with what only its kind has.
public struct Analysis: Sendable, Equatable {
    public var name: String
    /// Join column of each party (two entries, sorted by party name).
    public var join: [JoinColumn]
    /// Parties that receive the result (sorted by name).
    public var receivers: [String]
    /// Smallest overlap that is revealed; smaller overlaps are reported as suppressed.
    public var minIntersection: Int
    /// Set-size bounds of each party (two entries, sorted by party name).
    public var setSize: [SetSizeBounds]
    /// Rows that fail validation: abort (default) or skip.
    public var badRows: BadRowPolicy
    /// What only this analysis's kind has.
    public var spec: AnalysisSpec

    public init(
        name: String, join: [JoinColumn], receivers: [String], minIntersection: Int, setSize: [SetSizeBounds],
        badRows: BadRowPolicy, spec: AnalysisSpec
    ) {
        self.name = name
        self.join = join
        self.receivers = receivers
        self.minIntersection = minIntersection
        self.setSize = setSize
        self.badRows = badRows
        self.spec = spec
    }

    /// The analysis kind (from the spec).
    /// Differential privacy on what this analysis releases (`privacy:`); nil: none.
    public var privacy: PrivacySpec? = nil

    public var kind: AnalysisKind { spec.kind }

    /// The intersection-sum spec, or nil for the other kinds.
    public var sumSpec: IntersectionSumSpec? {
        if case .intersectionSum(let s) = spec { return s }
        return nil
    }

    /// The enrichment spec, or nil for the other kinds.
    public var enrichmentSpec: EnrichmentSpec? {
        if case .enrichment(let e) = spec { return e }
        return nil
    }

    /// The join column of `party` (a party of the collaboration: the loader requires both).
    public func joinColumn(of party: String) -> JoinColumn {
        join.first { $0.party == party } ?? join[0]
    }
    /// The set-size bounds of `party` (a party of the collaboration: the loader requires both).
    public func bounds(of party: String) -> SetSizeBounds {
        setSize.first { $0.party == party } ?? SetSizeBounds(party: party, min: 1, max: 0)
    }
}

/// What an analysis of one kind adds to the common policy.
public enum AnalysisSpec: Sendable, Equatable {
    /// Only the size of the overlap.
    case cardinality
    /// Which rows are in the overlap.
    case intersection
    /// Count and sums of the value owner's columns over the overlap.
    case intersectionSum(IntersectionSumSpec)
    /// The sender's allowed columns for the receiver's matched rows.
    case enrichment(EnrichmentSpec)

    /// The kind this spec belongs to.
    public var kind: AnalysisKind {
        switch self {
        case .cardinality: return .cardinality
        case .intersection: return .intersection
        case .intersectionSum: return .intersectionSum
        case .enrichment: return .enrichment
        }
    }
}

/// The policy of an enrichment: who receives, and which of the sender's columns it may learn, each
/// with the most bytes a cell may hold. Every record is padded to the sum of these widths, so its
/// length says nothing.
public struct EnrichmentSpec: Sendable, Equatable {
    /// One column the receiver may learn.
    public struct Column: Sendable, Equatable {
        /// Column name in the sender's data.
        public var name: String
        /// The most UTF-8 bytes a cell may hold (1...4,096); longer cells are bad rows.
        public var maxBytes: Int

        public init(name: String, maxBytes: Int) {
            self.name = name
            self.maxBytes = maxBytes
        }
    }

    /// The largest `max_bytes` of one column.
    public static let maxColumnBytes = 4096
    /// The receiver (P1, the OPRF client); the other party is the sender (P2).
    public var receiver: String
    /// The sender's columns, in the order they are appended to the receiver's rows.
    public var columns: [Column]

    public init(receiver: String, columns: [Column]) {
        self.receiver = receiver
        self.columns = columns
    }

    /// Bytes of an encoded payload: each column as a 2-byte length and up to `maxBytes` bytes.
    public var payloadWidth: Int { columns.reduce(0) { $0 + 2 + $1.maxBytes } }
}

/// The policy of an intersection-sum (Private Join and Compute): who owns the values, which
/// columns are summed, grouping, statistics and the Paillier key size.
public struct IntersectionSumSpec: Sendable, Equatable {
    /// The party owning the value columns (P2, the Paillier key owner).
    public var valueOwner: String
    /// The summed columns, in slot order.
    public var values: [ValueColumn]
    /// The other party's column to group by, and the smallest group that is revealed.
    public var grouping: Grouping?
    /// Statistics to report (sorted).
    public var statistics: [Statistic]
    /// Paillier modulus size (2048 or 3072).
    public var keyBits: Int

    public init(valueOwner: String, values: [ValueColumn], grouping: Grouping?, statistics: [Statistic], keyBits: Int) {
        self.valueOwner = valueOwner
        self.values = values
        self.grouping = grouping
        self.statistics = statistics
        self.keyBits = keyBits
    }

    /// The non-owner's group column, its threshold and the most groups a session may carry.
    public struct Grouping: Sendable, Equatable {
        /// `max_groups` when the file does not say.
        public static let defaultMaxGroups = 1_000
        /// The largest `max_groups` a file may set.
        public static let maxMaxGroups = 100_000
        /// Column of the party without the values.
        public var column: String
        /// Smallest group that is revealed; also the fewest of its own identifiers a group must
        /// have for P1 to put it in the session at all.
        public var minGroupSize: Int
        /// The most group entries P2 decrypts in one session (P1's groups of at least
        /// `minGroupSize` own identifiers may not exceed it).
        public var maxGroups: Int

        public init(column: String, minGroupSize: Int, maxGroups: Int = Grouping.defaultMaxGroups) {
            self.column = column
            self.minGroupSize = minGroupSize
            self.maxGroups = maxGroups
        }
    }

    /// The packing layout both parties derive from the policy: one slot per value column and a
    /// final slot counting the value owner's rows; each slot holds max-rows × (max − min).
    /// - Parameter maxRows: the value owner's largest allowed set size.
    public func slotLayout(maxRows: Int) -> PaillierSlotLayout {
        var rangeBits = 1
        for c in values {
            let range = UInt64(c.max - c.min)
            rangeBits = Swift.max(rangeBits, range == 0 ? 1 : 64 - range.leadingZeroBitCount)
        }
        return PaillierSlotLayout(valueBits: rangeBits, maxAddends: maxRows + 1, guardBits: 1, slotCount: values.count + 1)
    }
}

/// The two roles of a session (as in Private Join and Compute). On the wire a role is its raw
/// byte; in JSON it is "P1" or "P2".
public enum Role: UInt8, Sendable, Equatable, Codable, CustomStringConvertible {
    /// Sends its blinded identifiers first; computes the overlap; in intersection-sum, adds the
    /// value owner's ciphertexts over the overlap.
    case p1 = 1
    /// Re-blinds P1's set and sends its own; in intersection-sum, owns the Paillier key and values.
    case p2 = 2

    public var description: String { "P\(rawValue)" }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        switch text {
        case "P1": self = .p1
        case "P2": self = .p2
        default: throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "role must be P1 or P2"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension Analysis {
    /// Which party plays `role` in this analysis, given the collaboration's parties.
    ///
    /// - intersection-sum: P2 is the value owner.
    /// - enrichment: P1 is the receiver (the OPRF client), P2 the sender (the key holder).
    /// - intersection / cardinality: P1 is the party that computes the overlap, so it must be a
    ///   receiver; when both receive, P1 is the party that listens.
    public func party(for role: Role, in collaboration: Collaboration) -> String {
        let names = collaboration.parties.map(\.name)
        let p1: String
        switch spec {
        case .intersectionSum(let sum):
            p1 = names.first { $0 != sum.valueOwner } ?? names[0]
        case .enrichment(let e):
            p1 = e.receiver
        case .intersection, .cardinality:
            if receivers.count == 1 {
                p1 = receivers[0]
            } else {
                p1 = collaboration.parties.first { $0.listen != nil }?.name ?? names.sorted()[0]
            }
        }
        return role == .p1 ? p1 : names.first { $0 != p1 } ?? p1
    }

    /// The role `party` plays.
    public func role(of party: String, in collaboration: Collaboration) -> Role {
        self.party(for: .p1, in: collaboration) == party ? .p1 : .p2
    }
}

/// Differential privacy on an analysis's released values: each party adds noise to what it
/// releases, drawn before any element flows (docs/privacy.md).
public struct PrivacySpec: Sendable, Equatable {
    public enum Mechanism: String, Sendable, CaseIterable {
        /// Discrete Laplace: pure ε-DP (before truncation to a slot).
        case laplace
        /// Discrete Gaussian: (ε, δ)-DP through zero-concentrated DP.
        case gaussian
    }
    public var mechanism: Mechanism
    /// ε per session, in millionths (the file gives a decimal with at most 6 digits after the point).
    public var epsilonMicros: Int
    /// δ per session, in units of 10^-15 (`delta:`); nil when the file gives none. A grouped
    /// intersection-sum needs it: which group labels are released is decided on noisy counts, and
    /// a group that one person creates passes the threshold with probability at most δ.
    public var deltaFemtos: Int64?
    /// intersection-sum: the most rows one identifier contributes to a sum
    /// (`max_rows_per_identifier`); rows beyond it are dropped in file order and counted.
    public var maxRowsPerIdentifier: Int?

    public init(mechanism: Mechanism, epsilonMicros: Int, deltaFemtos: Int64? = nil, maxRowsPerIdentifier: Int? = nil) {
        self.mechanism = mechanism
        self.epsilonMicros = epsilonMicros
        self.deltaFemtos = deltaFemtos
        self.maxRowsPerIdentifier = maxRowsPerIdentifier
    }

    /// ε as written: a decimal with the trailing zeros of its 6 fraction digits dropped.
    public var epsilonText: String { Self.decimal(micros: epsilonMicros) }

    /// δ as a Double (nil when the file gives none).
    public var delta: Double? { deltaFemtos.map { Double($0) / 1e15 } }

    public static func decimal(micros: Int) -> String {
        let whole = micros / 1_000_000, fraction = micros % 1_000_000
        guard fraction > 0 else { return String(whole) }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 6 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits)"
    }

    /// A δ in units of 10^-15 as text: `1e-9` for a power of ten, else a plain decimal.
    public static func deltaText(femtos: Int64) -> String {
        var v = femtos, zeros = 0
        while v > 0 && v % 10 == 0 {
            v /= 10
            zeros += 1
        }
        if v == 1 { return zeros == 15 ? "1" : "1e-\(15 - zeros)" }
        var digits = String(femtos)
        digits = String(repeating: "0", count: max(0, 16 - digits.count)) + digits
        let whole = digits.dropLast(15),
            fraction = String(digits.suffix(15)).replacingOccurrences(of: "0+$", with: "", options: .regularExpression)
        return fraction.isEmpty ? String(whole) : "\(whole).\(fraction)"
    }
}
