// The plaintext answer to an analysis, computed directly from both parties' tables with the same
// normalisation, de-duplication and thresholds as the protocol. Only the demo and the tests use
// it: in a real collaboration no one holds both tables.
import CleanRoomCrypto
import CleanRoomProtocol
import Foundation

/// What an analysis should reveal, computed in the clear.
public struct ReferenceAnswer: Equatable, Sendable {
    public var intersectionSize: RevealedCount
    /// Per group label ("" when ungrouped): count and per-column sums as decimal strings.
    public var groups: [String: (count: Int, sums: [String: String])]

    public static func == (a: ReferenceAnswer, b: ReferenceAnswer) -> Bool {
        a.intersectionSize == b.intersectionSize && a.groups.keys == b.groups.keys
            && a.groups.allSatisfy { k, v in b.groups[k]!.count == v.count && b.groups[k]!.sums == v.sums }
    }

    /// Computes the answer for `analysis` from the two tables (keyed by party name).
    public static func compute(_ c: Collaboration, analysis name: String, tables: [String: PartyTable]) throws -> ReferenceAnswer {
        let a = try c.analysis(named: name)
        var ids: [String: [String: [Int]]] = [:]  // party → normalised id → row indices
        for p in c.parties.map(\.name) {
            let join = a.joinColumn(of: p)
            let t = tables[p]!
            let col = t.columns.firstIndex(of: join.column)!
            var m: [String: [Int]] = [:]
            for (r, row) in t.rows.enumerated() {
                if case .success(let id) = join.normalize.apply(row[col]) { m[String(decoding: id, as: UTF8.self), default: []].append(r) }
            }
            ids[p] = m
        }
        let names = c.parties.map(\.name)
        let overlap = Set(ids[names[0]]!.keys).intersection(ids[names[1]]!.keys)
        guard overlap.count >= a.minIntersection else {
            return ReferenceAnswer(intersectionSize: .suppressed(below: a.minIntersection), groups: [:])
        }
        var groups: [String: (count: Int, sums: [String: String])] = [:]
        if let sum = a.sumSpec {
            let owner = sum.valueOwner, other = names.first { $0 != owner }!
            let ownerTable = tables[owner]!, otherTable = tables[other]!
            let groupCol = sum.grouping.map { otherTable.columns.firstIndex(of: $0.column)! }
            var acc: [String: (Int, [Int64])] = [:]
            for id in overlap {
                let label = groupCol.map { otherTable.rows[ids[other]![id]![0]][$0].trimmingCharacters(in: .whitespaces) } ?? ""
                var entry = acc[label] ?? (0, [Int64](repeating: 0, count: sum.values.count))
                entry.0 += 1
                for r in ids[owner]![id]! {
                    for (k, v) in sum.values.enumerated() {
                        entry.1[k] += v.parse(ownerTable.rows[r][ownerTable.columns.firstIndex(of: v.name)!]) ?? 0
                    }
                }
                acc[label] = entry
            }
            for (label, (count, sums)) in acc where count >= (sum.grouping?.minGroupSize ?? 1) {
                var s: [String: String] = [:]
                for (k, v) in sum.values.enumerated() { s[v.name] = DecimalFormat.format(BigInteger(Int(sums[k])), scale: v.scale) }
                groups[label] = (count, s)
            }
        }
        return ReferenceAnswer(intersectionSize: .revealed(overlap.count), groups: groups)
    }

    /// The part of a session result this answer can be compared with.
    public static func from(_ r: SessionResult) -> ReferenceAnswer {
        var groups: [String: (count: Int, sums: [String: String])] = [:]
        for g in r.groups ?? [] { groups[g.label ?? ""] = (g.count ?? -1, g.sums ?? [:]) }
        return ReferenceAnswer(intersectionSize: r.intersectionSize ?? .suppressed(below: 0), groups: groups)
    }
}
