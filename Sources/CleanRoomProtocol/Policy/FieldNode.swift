// A YAML node with its path in the document, so that every problem in a collaboration file names
// its field and line.
import Foundation
import Yams

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

extension Dictionary where Key == String, Value == FieldNode {
    /// A field that `mapping(allowed:required:)` has already required (throws instead of trapping
    /// if a caller forgot to list it).
    func required(_ key: String) throws -> FieldNode {
        guard let v = self[key] else {
            throw CleanRoomProtocolError.invalidCollaboration(path: key, problem: "missing required field '\(key)'")
        }
        return v
    }
}
