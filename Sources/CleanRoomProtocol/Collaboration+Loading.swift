// Loading and validating a collaboration file (YAML 1.1 via Yams; JSON is valid YAML). Every
// problem names the field by its path, e.g. `analyses[1].values.columns[0].scale`, and its line.
import Foundation
import Yams

extension Collaboration {
    /// Parses and validates a collaboration file.
    /// - Throws: `invalidCollaboration(path:problem:)` for anything malformed, unknown, missing or
    ///   contradictory.
    public init(yaml text: String) throws {
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

/// A YAML node with its path in the document, for error messages.
struct FieldNode {
    let path: String
    let node: Node

    func fail(_ problem: String) -> CleanRoomProtocolError {
        var where_ = path.isEmpty ? "(top level)" : path
        if let mark = node.mark { where_ += " (line \(mark.line))" }
        return .invalidCollaboration(path: where_, problem: problem)
    }

    func child(_ key: String, _ node: Node) -> FieldNode {
        FieldNode(path: path.isEmpty ? key : "\(path).\(key)", node: node)
    }

    /// The mapping's entries; rejects keys outside `allowed`, duplicate keys and non-string keys.
    func mapping(allowed: Set<String>, required: Set<String>) throws -> [String: FieldNode] {
        guard case .mapping(let m) = node else { throw fail("expected a mapping of fields") }
        var out: [String: FieldNode] = [:]
        for (k, v) in m {
            guard case .scalar(let s) = k else { throw fail("field names must be plain text") }
            let key = s.string
            guard allowed.contains(key) else {
                throw child(key, v).fail("unknown field (allowed here: \(allowed.sorted().joined(separator: ", ")))")
            }
            guard out[key] == nil else { throw child(key, v).fail("field appears twice") }
            out[key] = child(key, v)
        }
        for key in required.sorted() where out[key] == nil {
            throw fail("missing required field '\(key)'")
        }
        return out
    }

    /// The mapping's entries keyed by arbitrary names (e.g. party names).
    func namedMapping() throws -> [(String, FieldNode)] {
        guard case .mapping(let m) = node else { throw fail("expected a mapping keyed by party name") }
        var out: [(String, FieldNode)] = []
        for (k, v) in m {
            guard case .scalar(let s) = k else { throw fail("keys must be party names") }
            guard !out.contains(where: { $0.0 == s.string }) else { throw child(s.string, v).fail("party appears twice") }
            out.append((s.string, child(s.string, v)))
        }
        return out
    }

    func sequence() throws -> [FieldNode] {
        guard case .sequence(let s) = node else { throw fail("expected a list") }
        return s.enumerated().map { FieldNode(path: "\(path)[\($0.offset)]", node: $0.element) }
    }

    func string() throws -> String {
        guard case .scalar(let s) = node else { throw fail("expected text") }
        let v = s.string
        guard !v.trimmingCharacters(in: .whitespaces).isEmpty else { throw fail("must not be empty") }
        return v
    }

    func int(in range: ClosedRange<Int>) throws -> Int {
        guard case .scalar(let s) = node, s.style == .plain, let v = Int(s.string.replacingOccurrences(of: "_", with: "")) else {
            throw fail("expected a whole number")
        }
        guard range.contains(v) else { throw fail("\(v) is outside \(range.lowerBound)...\(range.upperBound)") }
        return v
    }

    /// A decimal number (plain or quoted) with at most `scale` fraction digits, in units of 10^-scale.
    func decimal(scale: Int) throws -> Int64 {
        guard case .scalar(let s) = node else { throw fail("expected a decimal number") }
        guard let v = DecimalParser.parse(s.string, scale: scale) else {
            throw fail("'\(s.string)' is not a decimal with at most \(scale) digits after the point")
        }
        return v
    }
}

enum CollaborationParser {
    static let maxSetSize = 100_000_000

    static func parse(_ root: FieldNode) throws -> Collaboration {
        let top = try root.mapping(allowed: ["collaboration", "parties", "analyses"], required: ["collaboration", "parties", "analyses"])
        let name = try top["collaboration"]!.string()
        let parties = try top["parties"]!.sequence().map(parseParty)
        guard parties.count == 2 else { throw top["parties"]!.fail("exactly two parties are required, found \(parties.count)") }
        guard parties[0].name != parties[1].name else { throw top["parties"]!.fail("the two parties must have different names") }
        guard parties[0].certificateSHA256 != parties[1].certificateSHA256 else {
            throw top["parties"]!.fail("the two parties must have different certificates")
        }
        let listeners = parties.filter { $0.listen != nil }
        guard listeners.count == 1 else {
            throw top["parties"]!.fail("exactly one party must have 'listen: host:port' (found \(listeners.count))")
        }
        let names = Set(parties.map(\.name))
        let analysisNodes = try top["analyses"]!.sequence()
        guard !analysisNodes.isEmpty else { throw top["analyses"]!.fail("at least one analysis is required") }
        var analyses: [Analysis] = []
        for node in analysisNodes {
            let a = try parseAnalysis(node, parties: names)
            guard !analyses.contains(where: { $0.name == a.name }) else { throw node.fail("analysis name '\(a.name)' is used twice") }
            analyses.append(a)
        }
        return Collaboration(name: name, parties: parties.sorted { $0.name < $1.name }, analyses: analyses.sorted { $0.name < $1.name })
    }

    static func parseParty(_ node: FieldNode) throws -> Party {
        let m = try node.mapping(allowed: ["name", "certificate_sha256", "listen"], required: ["name", "certificate_sha256"])
        let name = try partyName(m["name"]!)
        let fpNode = m["certificate_sha256"]!
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
                "min_group_size", "statistics", "key_bits",
            ],
            required: ["name", "kind", "join", "receivers", "min_intersection", "set_size"])
        let name = try m["name"]!.string()
        guard name.utf8.count <= 128 else { throw m["name"]!.fail("at most 128 bytes") }
        guard let kind = AnalysisKind(rawValue: try m["kind"]!.string()) else {
            throw m["kind"]!.fail("expected one of: \(AnalysisKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        // join: { party: { column, normalize } } for both parties
        var join: [JoinColumn] = []
        for (party, jn) in try m["join"]!.namedMapping() {
            guard parties.contains(party) else { throw jn.fail("'\(party)' is not a party of this collaboration") }
            let jm = try jn.mapping(allowed: ["column", "normalize"], required: ["column", "normalize"])
            guard let norm = Normalization(rawValue: try jm["normalize"]!.string()) else {
                throw jm["normalize"]!.fail("expected one of: \(Normalization.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            join.append(JoinColumn(party: party, column: try jm["column"]!.string(), normalize: norm))
        }
        guard join.count == 2 else { throw m["join"]!.fail("give the join column of both parties") }
        let norms = Set(join.map(\.normalize))
        guard norms.count == 1 else {
            throw m["join"]!.fail("both parties must normalise identifiers the same way, or nothing would match")
        }
        var receivers: [String] = []
        for r in try m["receivers"]!.sequence() {
            let p = try r.string()
            guard parties.contains(p) else { throw r.fail("receiver '\(p)' is not a party of this collaboration") }
            guard !receivers.contains(p) else { throw r.fail("receiver '\(p)' is listed twice") }
            receivers.append(p)
        }
        guard !receivers.isEmpty else { throw m["receivers"]!.fail("at least one party must receive the result") }
        let minIntersection = try m["min_intersection"]!.int(in: 1...maxSetSize)
        var setSize: [SetSizeBounds] = []
        for (party, sn) in try m["set_size"]!.namedMapping() {
            guard parties.contains(party) else { throw sn.fail("'\(party)' is not a party of this collaboration") }
            let sm = try sn.mapping(allowed: ["min", "max"], required: ["min", "max"])
            let lo = try sm["min"]!.int(in: 1...maxSetSize)
            let hi = try sm["max"]!.int(in: 1...maxSetSize)
            guard lo <= hi else { throw sn.fail("min (\(lo)) is larger than max (\(hi))") }
            setSize.append(SetSizeBounds(party: party, min: lo, max: hi))
        }
        guard setSize.count == 2 else { throw m["set_size"]!.fail("give min and max set size for both parties") }
        var badRows = BadRowPolicy.abort
        if let b = m["bad_rows"] {
            guard let v = BadRowPolicy(rawValue: try b.string()) else { throw b.fail("expected 'abort' or 'skip'") }
            badRows = v
        }
        var analysis = Analysis(
            name: name, kind: kind, join: join.sorted { $0.party < $1.party }, receivers: receivers.sorted(),
            minIntersection: minIntersection, setSize: setSize.sorted { $0.party < $1.party }, badRows: badRows)

        let sumOnly = ["values", "group_by", "min_group_size", "statistics", "key_bits"]
        guard kind == .intersectionSum else {
            if let extra = sumOnly.first(where: { m[$0] != nil }) {
                throw m[extra]!.fail("only an intersection-sum analysis takes '\(extra)'")
            }
            return analysis
        }
        guard let valuesNode = m["values"] else { throw node.fail("an intersection-sum needs 'values' (owner and columns)") }
        let vm = try valuesNode.mapping(allowed: ["owner", "columns"], required: ["owner", "columns"])
        let owner = try vm["owner"]!.string()
        guard parties.contains(owner) else { throw vm["owner"]!.fail("'\(owner)' is not a party of this collaboration") }
        var columns: [ValueColumn] = []
        for cn in try vm["columns"]!.sequence() {
            let cm = try cn.mapping(allowed: ["name", "scale", "min", "max"], required: ["name", "max"])
            let scale = try cm["scale"]?.int(in: 0...9) ?? 0
            let lo = try cm["min"]?.decimal(scale: scale) ?? 0
            let hi = try cm["max"]!.decimal(scale: scale)
            guard lo <= hi else { throw cn.fail("min is larger than max") }
            let (range, overflow) = hi.subtractingReportingOverflow(lo)
            guard !overflow, range < (1 << 52) else { throw cn.fail("max − min must be below 2^52 units of 10^-\(scale)") }
            let colName = try cm["name"]!.string()
            guard !columns.contains(where: { $0.name == colName }) else { throw cm["name"]!.fail("column '\(colName)' is listed twice") }
            guard colName != analysis.joinColumn(of: owner).column else {
                throw cm["name"]!.fail("'\(colName)' is the owner's join column; it cannot also be summed")
            }
            columns.append(ValueColumn(name: colName, scale: scale, min: lo, max: hi))
        }
        guard !columns.isEmpty else { throw vm["columns"]!.fail("list at least one value column") }
        guard columns.count <= 32 else { throw vm["columns"]!.fail("at most 32 value columns") }
        analysis.valueOwner = owner
        analysis.values = columns
        if let g = m["group_by"] {
            let gm = try g.mapping(allowed: ["party", "column"], required: ["party", "column"])
            let gp = try gm["party"]!.string()
            guard parties.contains(gp) else { throw gm["party"]!.fail("'\(gp)' is not a party of this collaboration") }
            guard gp != owner else {
                throw gm["party"]!.fail("the group column must belong to the party without the values ('\(owner)' owns the values)")
            }
            analysis.groupBy = try gm["column"]!.string()
            guard let mg = m["min_group_size"] else { throw g.fail("grouping needs 'min_group_size' (at least 1)") }
            analysis.minGroupSize = try mg.int(in: 1...maxSetSize)
        } else if let mg = m["min_group_size"] {
            throw mg.fail("'min_group_size' needs 'group_by'")
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
        analysis.statistics = stats.sorted { $0.rawValue < $1.rawValue }
        let bits = try m["key_bits"]?.int(in: 2048...3072) ?? 2048
        guard bits == 2048 || bits == 3072 else { throw m["key_bits"]!.fail("Paillier keys are 2048 or 3072 bits") }
        analysis.keyBits = bits
        // The packed plaintext (one slot per column plus a row counter) must fit the key.
        let layout = PartySession.slotLayout(for: analysis)
        guard layout.totalBits <= bits - 2 else {
            throw node.fail(
                "the value columns need \(layout.totalBits) bits of Paillier plaintext (\(layout.slotCount) slots of \(layout.slotBits) bits: value range plus log2 of the owner's max set size), but a \(bits)-bit key offers \(bits - 2); narrow min/max, lower the max set size, drop columns or use key_bits: 3072"
            )
        }
        return analysis
    }
}

/// Parses decimal text into integer units of 10^-scale.
enum DecimalParser {
    enum BytesResult: Equatable {
        case value(Int64)
        case malformed
        /// A byte above 0x7F: the caller parses the string (Unicode spaces may need trimming).
        case notASCII
    }

    /// The same grammar as `parse(_:scale:)` on an ASCII cell, after trimming spaces and tabs
    /// (the ASCII members of `CharacterSet.whitespaces`), without making a string.
    static func parse(asciiBytes cell: UnsafeRawBufferPointer, scale: Int) -> BytesResult {
        var lo = 0, hi = cell.count
        for b in cell where b >= 0x80 { _ = b; return .notASCII }
        while lo < hi, cell[lo] == 0x20 || cell[lo] == 0x09 { lo += 1 }
        while hi > lo, cell[hi - 1] == 0x20 || cell[hi - 1] == 0x09 { hi -= 1 }
        var negative = false
        if lo < hi, cell[lo] == UInt8(ascii: "-") || cell[lo] == UInt8(ascii: "+") {
            negative = cell[lo] == UInt8(ascii: "-")
            lo += 1
        }
        var value: Int64 = 0
        var wholeDigits = 0, fractionDigits = 0, sawPoint = false
        for i in lo..<hi {
            let b = cell[i]
            if b == UInt8(ascii: ".") && !sawPoint {
                sawPoint = true
                continue
            }
            guard b >= 0x30 && b <= 0x39 else { return .malformed }
            if sawPoint { fractionDigits += 1 } else { wholeDigits += 1 }
            guard fractionDigits <= scale else { return .malformed }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(b - 0x30))
            guard !o1, !o2 else { return .malformed }
            value = a
        }
        guard wholeDigits + fractionDigits > 0, !sawPoint || fractionDigits > 0 else { return .malformed }
        for _ in fractionDigits..<scale {
            let (m, o) = value.multipliedReportingOverflow(by: 10)
            guard !o else { return .malformed }
            value = m
        }
        return .value(negative ? -value : value)
    }

    /// "12.5" with scale 2 → 1250; nil when malformed, with more fraction digits than `scale`,
    /// or out of Int64 range. Accepts an optional sign and no exponent or grouping.
    static func parse<S: StringProtocol>(_ text: S, scale: Int) -> Int64? {
        var s = Substring(text)
        var negative = false
        if s.first == "-" || s.first == "+" {
            negative = s.first == "-"
            s = s.dropFirst()
        }
        let parts = s.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count == 2 ? parts[1] : ""
        guard !(whole.isEmpty && fraction.isEmpty), fraction.count <= scale,
            whole.allSatisfy({ $0.isASCII && $0.isNumber }), fraction.allSatisfy({ $0.isASCII && $0.isNumber }),
            parts.count == 1 || !fraction.isEmpty
        else { return nil }
        var value: Int64 = 0
        for c in whole {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(c.asciiValue! - 48))
            guard !o1, !o2 else { return nil }
            value = a
        }
        let padded = fraction + String(repeating: "0", count: scale - fraction.count)
        for c in padded {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(c.asciiValue! - 48))
            guard !o1, !o2 else { return nil }
            value = a
        }
        return negative ? -value : value
    }
}
