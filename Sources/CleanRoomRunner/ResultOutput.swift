// Writing what a session produced: the result file (JSON, written atomically: a temporary file in
// the same folder, then rename, so a failed run never leaves a partial file), a readable table for
// the terminal, and one audit line per session.
import CleanRoomProtocol
import Foundation

/// The result file: the session result plus its context.
public struct ResultDocument: Codable, Sendable {
    public var schema = "cleanroom-result/v1"
    public var collaboration: String
    public var finishedAt: String
    public var result: SessionResult

    public init(collaboration: String, finishedAt: Date, result: SessionResult) {
        self.collaboration = collaboration
        self.finishedAt = ISO8601DateFormatter().string(from: finishedAt)
        self.result = result
    }

    enum CodingKeys: String, CodingKey {
        case schema, collaboration
        case finishedAt = "finished_at"
        case result
    }
}

public enum ResultOutput {
    /// Writes `data` to `path` atomically (temporary file in the same folder, then rename).
    public static func writeAtomically(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        do {
            try data.write(to: temp)
            if rename(temp.path, url.path) != 0 {
                let reason = String(cString: strerror(errno))
                try? FileManager.default.removeItem(at: temp)
                throw RunnerError(.output, "cannot move the result into \(path): \(reason)")
            }
        } catch let error as RunnerError {
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw RunnerError(.output, "cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// The result document as pretty JSON with sorted keys.
    public static func json(_ document: ResultDocument) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(document)
    }

    /// A readable summary of what this party learned.
    public static func table(_ r: SessionResult, collaboration: String, valueColumns: [String]) -> String {
        var lines: [String] = []
        lines.append("CleanRoom — \(r.analysis) (\(r.kind.rawValue)) as \(r.party), \(r.role)")
        lines.append("collaboration   \(collaboration) (digest \(r.collaborationDigest.prefix(16))…)")
        lines.append("your data       \(r.inputRows) rows, \(r.uniqueIdentifiers) unique identifiers, \(r.skippedRows) skipped")
        lines.append("peer            \(r.peer): \(r.peerUniqueIdentifiers) unique identifiers")
        lines.append("overlap         \(r.intersectionSize?.description ?? "not revealed to you")")
        if let rows = r.matchedRows { lines.append("matched rows    \(rows.count) of yours (row numbers in the result file)") }
        if let e = r.enrichment {
            lines.append(
                "enriched rows   \(e.rows.count) of yours, with \(e.columns.joined(separator: ", ")) (--enriched-out writes your CSV with them)"
            )
        }
        if let p = r.privacy {
            // Every released figure is noisy: the mechanism, the noise and each figure's 95% interval.
            let mechanism = p.mechanism == "gaussian" ? "discrete Gaussian, σ²" : "discrete Laplace, scale"
            lines.append(
                "privacy         \(mechanism) \(p.scale) on counts, ε = \(p.epsilon)" + (p.delta.map { ", δ = \($0)" } ?? "")
                    + "; a count is within ± \(p.interval95) of the exact one with 95% probability"
                    + (p.threshold.map { "; groups released from a noisy count of \($0)" } ?? ""))
            for (column, noise) in (p.sums ?? [:]).sorted(by: { $0.key < $1.key }) {
                lines.append("                \(column) sums: ± \(noise.interval95) (95%)")
            }
        }
        if let over = r.rowsOverContributionBound, over > 0 {
            lines.append("rows left out   \(over) (beyond max_rows_per_identifier)")
        }
        if let suppressed = r.suppressedGroups, suppressed > 0 {
            lines.append("groups          \(suppressed) suppressed (below the minimum group size)")
        }
        if let groups = r.groups, !groups.isEmpty {
            var header = ["group", "count"]
            for c in valueColumns {
                if groups.first?.sums != nil { header.append("\(c) sum") }
                if groups.first?.means != nil { header.append("\(c) mean") }
            }
            var rows = [header]
            for g in groups {
                var row = [g.label.map(PeerText.display) ?? "(all)", g.count.map(String.init) ?? "-"]
                for c in valueColumns {
                    if let s = g.sums { row.append(s[c] ?? "-") }
                    if let m = g.means { row.append(m[c] ?? "-") }
                }
                rows.append(row)
            }
            let widths = header.indices.map { i in rows.map { $0[i].count }.max()! }
            lines.append("")
            for (k, row) in rows.enumerated() {
                lines.append(
                    row.enumerated().map { i, cell in
                        i < 1
                            ? cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                            : String(repeating: " ", count: widths[i] - cell.count) + cell
                    }.joined(separator: "  "))
                if k == 0 { lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
            }
        }
        return lines.joined(separator: "\n")
    }
}
