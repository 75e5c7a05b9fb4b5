// Loading and validating a collaboration file (YAML 1.1 via Yams; JSON is valid YAML). Every
// problem names the field by its path, e.g. `analyses[1].values.columns[0].scale`, and its line.
import CleanRoomCrypto
import Foundation
import Yams

extension Collaboration {
    /// Parses and validates a collaboration file.
    /// - Throws: `invalidCollaboration(path:problem:)` for anything malformed, unknown, missing or
    ///   contradictory.
    public init(yaml text: String) throws {
        try YAMLBounds.check(text)
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw CleanRoomProtocolError.invalidCollaboration(path: "(file)", problem: "the file is empty")
            }
            root = node
        } catch let error as CleanRoomProtocolError {
            throw error
        } catch {
            throw CleanRoomProtocolError.invalidCollaboration(path: "(file)", problem: "not valid YAML or JSON: \(error)")
        }
        self = try CollaborationParser.parse(FieldNode(path: "", node: root))
    }

    /// Loads a collaboration file from disk.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CleanRoomProtocolError.invalidCollaboration(
                path: "(file)", problem: "cannot read \(url.path): \(error.localizedDescription)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CleanRoomProtocolError.invalidCollaboration(path: "(file)", problem: "\(url.path) is not UTF-8 text")
        }
        try self.init(yaml: text)
    }
}

enum CollaborationParser {
    static let maxSetSize = 100_000_000

    static func parse(_ root: FieldNode) throws -> Collaboration {
        let top = try root.mapping(
            allowed: ["collaboration", "parties", "analyses", "privacy_budget"], required: ["collaboration", "parties", "analyses"])
        let name = try top.required("collaboration").string()
        let parties = try top.required("parties").sequence().map(parseParty)
        guard parties.count == 2 else { throw try top.required("parties").fail("exactly two parties are required, found \(parties.count)") }
        guard parties[0].name != parties[1].name else {
            throw try top.required("parties").fail("the two parties must have different names")
        }
        guard parties[0].certificateSHA256 != parties[1].certificateSHA256 else {
            throw try top.required("parties").fail("the two parties must have different certificates")
        }
        let listeners = parties.filter { $0.listen != nil }
        guard listeners.count == 1 else {
            throw try top.required("parties").fail("exactly one party must have 'listen: host:port' (found \(listeners.count))")
        }
        let names = Set(parties.map(\.name))
        let analysisNodes = try top.required("analyses").sequence()
        guard !analysisNodes.isEmpty else { throw try top.required("analyses").fail("at least one analysis is required") }
        var analyses: [Analysis] = []
        for node in analysisNodes {
            let a = try parseAnalysis(node, parties: names)
            guard !analyses.contains(where: { $0.name == a.name }) else { throw node.fail("analysis name '\(a.name)' is used twice") }
            analyses.append(a)
        }
        var budget: Collaboration.PrivacyBudget?
        if let node = top["privacy_budget"] {
            let m = try node.mapping(allowed: ["max_sessions", "epsilon", "delta"], required: [])
            guard !m.isEmpty else { throw node.fail("give 'max_sessions', 'epsilon', 'delta' or several") }
            budget = .init(
                maxSessions: try m["max_sessions"]?.int(in: 1...1_000_000),
                epsilonMicros: try m["epsilon"].map { try epsilon($0, max: 1_000) })
            budget?.deltaFemtos = try m["delta"].map { try delta($0, max: 1_000_000_000_000_000) }
        }
        return Collaboration(
            name: name, parties: parties.sorted { $0.name < $1.name }, analyses: analyses.sorted { $0.name < $1.name },
            privacyBudget: budget)
    }

    static func parseParty(_ node: FieldNode) throws -> Party {
        let m = try node.mapping(allowed: ["name", "certificate_sha256", "listen"], required: ["name", "certificate_sha256"])
        let name = try partyName(m.required("name"))
        let fpNode = try m.required("certificate_sha256")
        let fp = try fpNode.string().lowercased().filter { $0 != ":" && $0 != " " }
        guard fp.utf8.count == 64, fp.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw fpNode.fail("expected a SHA-256 fingerprint: 64 hex digits (colons allowed)")
        }
        var listen: String?
        if let l = m["listen"] {
            let text = try l.string()
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port),
                colon != text.startIndex
            else { throw l.fail("expected host:port with a port in 1...65535") }
            listen = text
        }
        return Party(name: name, certificateSHA256: fp, listen: listen)
    }

    /// ε: a decimal in (0, max] with at most 6 digits after the point, in millionths.
    static func epsilon(_ node: FieldNode, max: Int) throws -> Int {
        let micros = try node.decimal(scale: 6)
        guard micros > 0, micros <= Int64(max) * 1_000_000 else { throw node.fail("ε must be above 0 and at most \(max)") }
        return Int(micros)
    }

    /// δ: `1e-N` (N from 3 to 15) or a decimal in (0, 0.001] with at most 15 digits after the
    /// point, in units of 10^-15.
    static func delta(_ node: FieldNode, max: Int64 = 1_000_000_000_000) throws -> Int64 {
        let text = try node.string().trimmingCharacters(in: .whitespaces)
        let femtos: Int64
        if text.hasPrefix("1e-"), let n = Int(text.dropFirst(3)), (1...15).contains(n) {
            femtos = (0..<(15 - n)).reduce(Int64(1)) { v, _ in v * 10 }
        } else {
            femtos = try node.decimal(scale: 15)
        }
        guard femtos > 0, femtos <= max else {
            throw node.fail("δ must be above 0 and at most \(PrivacySpec.deltaText(femtos: max))")
        }
        return femtos
    }

    /// `privacy:` of an analysis of `kind` (grouped or not).
    static func parsePrivacy(_ node: FieldNode, kind: AnalysisKind, grouped: Bool) throws -> PrivacySpec {
        let m = try node.mapping(
            allowed: ["mechanism", "epsilon", "delta", "max_rows_per_identifier"], required: ["mechanism", "epsilon"])
        let mechanismNode = try m.required("mechanism")
        guard let mechanism = PrivacySpec.Mechanism(rawValue: try mechanismNode.string()) else {
            throw mechanismNode.fail(
                "expected one of: \(PrivacySpec.Mechanism.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        var spec = PrivacySpec(mechanism: mechanism, epsilonMicros: try epsilon(try m.required("epsilon"), max: 10))
        spec.deltaFemtos = try m["delta"].map { try delta($0) }
        if mechanism == .gaussian && spec.deltaFemtos == nil {
            throw node.fail("the gaussian mechanism needs 'delta' (for example 1e-9): it gives (ε, δ)-DP")
        }
        switch kind {
        case .intersectionSum:
            guard let rows = m["max_rows_per_identifier"] else {
                throw node.fail(
                    "an intersection-sum with privacy needs 'max_rows_per_identifier' (the most rows one identifier may add to a sum; the noise is scaled to it)"
                )
            }
            spec.maxRowsPerIdentifier = try rows.int(in: 1...1_000)
            if grouped && spec.deltaFemtos == nil {
                throw node.fail(
                    "a grouped intersection-sum with privacy needs 'delta' (for example 1e-9): which groups are released is decided on noisy counts, and δ bounds the chance that one person's group passes"
                )
            }
        case .cardinality, .intersection, .enrichment:
            if let rows = m["max_rows_per_identifier"] {
                throw rows.fail(
                    "only an intersection-sum takes 'max_rows_per_identifier' (identifiers are unique in each set: one person changes a count by at most 1)"
                )
            }
        }
        return spec
    }

    static func partyName(_ node: FieldNode) throws -> String {
        let name = try node.string()
        guard name.utf8.count <= 64, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw node.fail("party names use letters, digits, '-', '_' and '.', at most 64 bytes of UTF-8")
        }
        return name
    }

    static func parseAnalysis(_ node: FieldNode, parties: Set<String>) throws -> Analysis {
        let m = try node.mapping(
            allowed: [
                "name", "kind", "join", "receivers", "min_intersection", "set_size", "bad_rows", "values", "group_by",
                "min_group_size", "max_groups", "statistics", "key_bits", "privacy", "columns",
            ],
            required: ["name", "kind", "join", "receivers", "min_intersection", "set_size"])
        let name = try m.required("name").string()
        guard name.utf8.count <= 128 else { throw try m.required("name").fail("at most 128 bytes") }
        guard let kind = AnalysisKind(rawValue: try m.required("kind").string()) else {
            throw try m.required("kind").fail("expected one of: \(AnalysisKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        // join: { party: { column, normalize } } for both parties
        var join: [JoinColumn] = []
        for (party, jn) in try m.required("join").namedMapping() {
            guard parties.contains(party) else { throw jn.fail("'\(party)' is not a party of this collaboration") }
            let jm = try jn.mapping(allowed: ["column", "normalize"], required: ["column", "normalize"])
            guard let norm = Normalization(rawValue: try jm.required("normalize").string()) else {
                throw try jm.required("normalize").fail(
                    "expected one of: \(Normalization.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            join.append(JoinColumn(party: party, column: try jm.required("column").string(), normalize: norm))
        }
        guard join.count == 2 else { throw try m.required("join").fail("give the join column of both parties") }
        let norms = Set(join.map(\.normalize))
        guard norms.count == 1 else {
            throw try m.required("join").fail("both parties must normalise identifiers the same way, or nothing would match")
        }
        var receivers: [String] = []
        for r in try m.required("receivers").sequence() {
            let p = try r.string()
            guard parties.contains(p) else { throw r.fail("receiver '\(p)' is not a party of this collaboration") }
            guard !receivers.contains(p) else { throw r.fail("receiver '\(p)' is listed twice") }
            receivers.append(p)
        }
        guard !receivers.isEmpty else { throw try m.required("receivers").fail("at least one party must receive the result") }
        let minIntersection = try m.required("min_intersection").int(in: 1...maxSetSize)
        var setSize: [SetSizeBounds] = []
        for (party, sn) in try m.required("set_size").namedMapping() {
            guard parties.contains(party) else { throw sn.fail("'\(party)' is not a party of this collaboration") }
            let sm = try sn.mapping(allowed: ["min", "max"], required: ["min", "max"])
            let lo = try sm.required("min").int(in: 1...maxSetSize)
            let hi = try sm.required("max").int(in: 1...maxSetSize)
            guard lo <= hi else { throw sn.fail("min (\(lo)) is larger than max (\(hi))") }
            setSize.append(SetSizeBounds(party: party, min: lo, max: hi))
        }
        guard setSize.count == 2 else { throw try m.required("set_size").fail("give min and max set size for both parties") }
        var badRows = BadRowPolicy.abort
        if let b = m["bad_rows"] {
            guard let v = BadRowPolicy(rawValue: try b.string()) else { throw b.fail("expected 'abort' or 'skip'") }
            badRows = v
        }
        var analysis = Analysis(
            name: name, join: join.sorted { $0.party < $1.party }, receivers: receivers.sorted(),
            minIntersection: minIntersection, setSize: setSize.sorted { $0.party < $1.party }, badRows: badRows,
            spec: .cardinality)
        let sumOnly = ["values", "group_by", "min_group_size", "max_groups", "statistics", "key_bits"]
        if kind != .enrichment, let field = m["columns"] { throw field.fail("only an enrichment analysis takes 'columns'") }
        switch kind {
        case .cardinality, .intersection, .enrichment:
            if let extra = sumOnly.first(where: { m[$0] != nil }), let field = m[extra] {
                throw field.fail("only an intersection-sum analysis takes '\(extra)'")
            }
            analysis.spec = kind == .cardinality ? .cardinality : .intersection
            if kind == .enrichment { analysis.spec = .enrichment(try parseEnrichment(node, m, analysis: analysis)) }
        case .intersectionSum:
            let sum = try parseIntersectionSum(node, m, analysis: analysis, parties: parties)
            analysis.spec = .intersectionSum(sum)
        }
        if let p = m["privacy"] {
            switch kind {
            case .cardinality, .intersectionSum:
                analysis.privacy = try parsePrivacy(p, kind: kind, grouped: analysis.sumSpec?.grouping != nil)
            case .intersection:
                throw p.fail(
                    "an intersection reveals rows, which noise cannot protect: it cannot carry 'privacy' (docs/privacy.md); use cardinality or intersection-sum"
                )
            case .enrichment:
                throw p.fail("an enrichment reveals values of matched rows, which noise cannot protect: it cannot carry 'privacy'")
            }
        }
        if let sum = analysis.sumSpec {
            // The packed plaintext (one slot per column plus a row counter, each with room for the
            // noise of both parties when privacy is on) must fit the key.
            let layout = try analysis.sumLayout()
            guard layout.totalBits <= sum.keyBits - 2 else {
                throw node.fail(
                    "the value columns need \(layout.totalBits) bits of Paillier plaintext (\(layout.slotCount) slots of \(layout.slotBits) bits: value range plus log2 of the owner's max set size\(analysis.privacy == nil ? "" : ", plus room for noise")), but a \(sum.keyBits)-bit key offers \(sum.keyBits - 2); narrow min/max, lower the max set size, drop columns or use key_bits: 3072"
                )
            }
        }
        return analysis
    }

    /// The fields only an enrichment has: exactly one receiver, and the sender's columns it may
    /// learn with their widths.
    static func parseEnrichment(_ node: FieldNode, _ m: [String: FieldNode], analysis: Analysis) throws -> EnrichmentSpec {
        guard analysis.receivers.count == 1, let receiver = analysis.receivers.first else {
            throw (m["receivers"] ?? node).fail("an enrichment has exactly one receiver: the party whose rows are enriched")
        }
        let sender = analysis.join.first { $0.party != receiver }?.party ?? receiver
        guard let columnsNode = m["columns"] else {
            throw node.fail("an enrichment needs 'columns': the sender's columns the receiver may learn, each with max_bytes")
        }
        var columns: [EnrichmentSpec.Column] = []
        for cn in try columnsNode.sequence() {
            let cm = try cn.mapping(allowed: ["name", "max_bytes"], required: ["name", "max_bytes"])
            let nameNode = try cm.required("name")
            let name = try nameNode.string()
            guard !name.isEmpty else { throw nameNode.fail("a column name cannot be empty") }
            guard !columns.contains(where: { $0.name == name }) else { throw nameNode.fail("column '\(name)' is listed twice") }
            guard name != analysis.joinColumn(of: sender).column else {
                throw nameNode.fail("'\(name)' is the sender's join column: the receiver already holds the identifier")
            }
            columns.append(.init(name: name, maxBytes: try cm.required("max_bytes").int(in: 1...EnrichmentSpec.maxColumnBytes)))
        }
        guard !columns.isEmpty else { throw columnsNode.fail("list at least one column") }
        guard columns.count <= 64 else { throw columnsNode.fail("at most 64 columns") }
        let spec = EnrichmentSpec(receiver: receiver, columns: columns)
        // Checked here, not first when a session seals its records.
        guard spec.payloadWidth <= EnrichmentRecordCipher.maxPayloadWidth else {
            throw columnsNode.fail(
                "the columns need \(spec.payloadWidth) bytes per record (2 + max_bytes each); a record holds at most \(EnrichmentRecordCipher.maxPayloadWidth)"
            )
        }
        return spec
    }

    /// The fields only an intersection-sum has: values (owner and columns), grouping,
    /// statistics and the key size.
    static func parseIntersectionSum(
        _ node: FieldNode, _ m: [String: FieldNode], analysis: Analysis, parties: Set<String>
    ) throws -> IntersectionSumSpec {
        guard let valuesNode = m["values"] else { throw node.fail("an intersection-sum needs 'values' (owner and columns)") }
        let vm = try valuesNode.mapping(allowed: ["owner", "columns"], required: ["owner", "columns"])
        let ownerNode = try vm.required("owner"), columnsNode = try vm.required("columns")
        let owner = try ownerNode.string()
        guard parties.contains(owner) else { throw ownerNode.fail("'\(owner)' is not a party of this collaboration") }
        var columns: [ValueColumn] = []
        for cn in try columnsNode.sequence() {
            let cm = try cn.mapping(allowed: ["name", "scale", "min", "max"], required: ["name", "max"])
            let scale = try cm["scale"]?.int(in: 0...9) ?? 0
            let lo = try cm["min"]?.decimal(scale: scale) ?? 0
            let hi = try cm.required("max").decimal(scale: scale)
            guard lo <= hi else { throw cn.fail("min is larger than max") }
            let (range, overflow) = hi.subtractingReportingOverflow(lo)
            guard !overflow, range < (1 << 52) else { throw cn.fail("max − min must be below 2^52 units of 10^-\(scale)") }
            let nameNode = try cm.required("name")
            let colName = try nameNode.string()
            guard !columns.contains(where: { $0.name == colName }) else { throw nameNode.fail("column '\(colName)' is listed twice") }
            guard colName != analysis.joinColumn(of: owner).column else {
                throw nameNode.fail("'\(colName)' is the owner's join column; it cannot also be summed")
            }
            columns.append(ValueColumn(name: colName, scale: scale, min: lo, max: hi))
        }
        guard !columns.isEmpty else { throw columnsNode.fail("list at least one value column") }
        guard columns.count <= 32 else { throw columnsNode.fail("at most 32 value columns") }
        var grouping: IntersectionSumSpec.Grouping?
        if let g = m["group_by"] {
            let gm = try g.mapping(allowed: ["party", "column"], required: ["party", "column"])
            let partyNode = try gm.required("party")
            let gp = try partyNode.string()
            guard parties.contains(gp) else { throw partyNode.fail("'\(gp)' is not a party of this collaboration") }
            guard gp != owner else {
                throw partyNode.fail("the group column must belong to the party without the values ('\(owner)' owns the values)")
            }
            let column = try gm.required("column").string()
            guard let mg = m["min_group_size"] else { throw g.fail("grouping needs 'min_group_size' (at least 1)") }
            let maxGroups = try m["max_groups"]?.int(in: 1...IntersectionSumSpec.Grouping.maxMaxGroups)
            grouping = .init(
                column: column, minGroupSize: try mg.int(in: 1...maxSetSize),
                maxGroups: maxGroups ?? IntersectionSumSpec.Grouping.defaultMaxGroups)
        } else if let mg = m["min_group_size"] {
            throw mg.fail("'min_group_size' needs 'group_by'")
        } else if let mx = m["max_groups"] {
            throw mx.fail("'max_groups' needs 'group_by'")
        }
        var stats: Set<Statistic> = [.count, .sum]
        if let s = m["statistics"] {
            stats = []
            for sn in try s.sequence() {
                guard let st = Statistic(rawValue: try sn.string()) else { throw sn.fail("expected count, sum or mean") }
                stats.insert(st)
            }
            guard !stats.isEmpty else { throw s.fail("list at least one statistic") }
        }
        let bits = try m["key_bits"]?.int(in: 2048...3072) ?? 2048
        guard bits == 2048 || bits == 3072 else { throw (m["key_bits"] ?? node).fail("Paillier keys are 2048 or 3072 bits") }
        return IntersectionSumSpec(
            valueOwner: owner, values: columns, grouping: grouping, statistics: stats.sorted { $0.rawValue < $1.rawValue },
            keyBits: bits)
    }
}
