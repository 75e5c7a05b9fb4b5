// The plaintext answer to an analysis, computed directly from both parties' tables with the same
// normalisation, de-duplication and thresholds as the protocol: what an ideal trusted party would
// reveal. Only the demo and the tests use it: in a real collaboration no one holds both tables. It
// sits beside SessionResult, with no I/O, so that the protocol tests, the runner tests and
// `cleanroom demo` all check against this one oracle.
import CleanRoomCrypto
import Foundation

/// What an analysis should reveal, computed in the clear.
public struct ReferenceAnswer: Equatable, Sendable {
    /// One group of an intersection-sum ("" labels the whole overlap when ungrouped).
    public struct Group: Equatable, Sendable {
        /// Identifiers of the overlap in this group.
        public var count: Int
        /// Rows of the value owner's table behind those identifiers (duplicates are summed).
        public var valueRows: Int
        /// Sum of each value column, as a decimal string with the column's scale.
        public var sums: [String: String]

        public init(count: Int, valueRows: Int, sums: [String: String]) {
            self.count = count
            self.valueRows = valueRows
            self.sums = sums
        }
    }

    public var intersectionSize: RevealedCount
    /// The groups at or above `min_group_size`, by label ("" when ungrouped); empty unless the
    /// analysis is an intersection-sum whose overlap reaches `min_intersection`.
    public var groups: [String: Group]
    /// enrichment: the receiver's matched rows (by row reference) with the sender's cells (first
    /// sender row wins); nil for the other kinds, empty when the overlap is below `min_intersection`.
    public var enrichedRows: [Int: [String]]?

    public init(intersectionSize: RevealedCount, groups: [String: Group], enrichedRows: [Int: [String]]? = nil) {
        self.intersectionSize = intersectionSize
        self.groups = groups
        self.enrichedRows = enrichedRows
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
            return ReferenceAnswer(
                intersectionSize: .suppressed(below: a.minIntersection), groups: [:], enrichedRows: a.enrichmentSpec.map { _ in [:] })
        }
        if let e = a.enrichmentSpec {
            let sender = names.first { $0 != e.receiver }!
            let senderTable = tables[sender]!, receiverTable = tables[e.receiver]!
            let cols = e.columns.map { senderTable.columns.firstIndex(of: $0.name)! }
            var rows: [Int: [String]] = [:]
            for id in overlap {
                let first = ids[sender]![id]!.min()!  // the sender's first row wins
                let cells = cols.map { senderTable.rows[first][$0] }
                for r in ids[e.receiver]![id]! { rows[receiverTable.rowNumber(r)] = cells }
            }
            return ReferenceAnswer(intersectionSize: .revealed(overlap.count), groups: [:], enrichedRows: rows)
        }
        var groups: [String: Group] = [:]
        if let sum = a.sumSpec {
            let owner = sum.valueOwner, other = names.first { $0 != owner }!
            let ownerTable = tables[owner]!, otherTable = tables[other]!
            let groupCol = sum.grouping.map { otherTable.columns.firstIndex(of: $0.column)! }
            var acc: [String: (count: Int, rows: Int, sums: [Int64])] = [:]
            for id in overlap {
                let label = groupCol.map { otherTable.rows[ids[other]![id]![0]][$0].trimmingCharacters(in: .whitespaces) } ?? ""
                var entry = acc[label] ?? (0, 0, [Int64](repeating: 0, count: sum.values.count))
                entry.count += 1
                for r in ids[owner]![id]! {
                    entry.rows += 1
                    for (k, v) in sum.values.enumerated() {
                        entry.sums[k] += v.parse(ownerTable.rows[r][ownerTable.columns.firstIndex(of: v.name)!]) ?? 0
                    }
                }
                acc[label] = entry
            }
            for (label, entry) in acc where entry.count >= (sum.grouping?.minGroupSize ?? 1) {
                var s: [String: String] = [:]
                for (k, v) in sum.values.enumerated() { s[v.name] = DecimalFormat.format(BigInteger(Int(entry.sums[k])), scale: v.scale) }
                groups[label] = Group(count: entry.count, valueRows: entry.rows, sums: s)
            }
        }
        return ReferenceAnswer(intersectionSize: .revealed(overlap.count), groups: groups)
    }

    /// The part of a session result this answer can be compared with (a count or row count the
    /// result leaves out is -1).
    public static func from(_ r: SessionResult) -> ReferenceAnswer {
        var groups: [String: Group] = [:]
        for g in r.groups ?? [] { groups[g.label ?? ""] = Group(count: g.count ?? -1, valueRows: g.valueRows ?? -1, sums: g.sums ?? [:]) }
        var enriched: [Int: [String]]?
        if let e = r.enrichment { enriched = Dictionary(uniqueKeysWithValues: e.rows.map { ($0.row, $0.values) }) }
        return ReferenceAnswer(intersectionSize: r.intersectionSize ?? .suppressed(below: 0), groups: groups, enrichedRows: enriched)
    }
}
