// `cleanroom collaboration check`: validate a collaboration file and say who learns what.
import ArgumentParser
import CleanRoomProtocol
import Foundation

struct CollaborationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collaboration", abstract: "Collaboration files.", subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate a collaboration file; print its digest and who learns what.")

        @Argument(help: "The collaboration file.")
        var file: String

        func run() throws {
            let c: Collaboration
            do { c = try Collaboration(contentsOf: URL(fileURLWithPath: file)) } catch {
                FileHandle.standardError.write(Data("\(file): \(error)\n".utf8))
                throw ExitCode(1)
            }
            print("collaboration \(c.name)")
            print("digest        \(try c.digestHex())")
            for p in c.parties {
                print(
                    "party         \(p.name) (certificate \(p.certificateSHA256.prefix(16))…)\(p.listen.map { ", listens on \($0)" } ?? "")"
                )
            }
            for a in c.analyses { print(""); print(Self.summary(a, in: c)) }
        }

        static func summary(_ a: Analysis, in c: Collaboration) -> String {
            let p1 = a.party(for: .p1, in: c), p2 = a.party(for: .p2, in: c)
            var lines = ["analysis \(a.name): \(a.kind.rawValue)"]
            lines.append("  join: " + a.join.map { "\($0.party).\($0.column) (\($0.normalize.rawValue))" }.joined(separator: " = "))
            lines.append("  roles: P1 = \(p1), P2 = \(p2); receivers: \(a.receivers.joined(separator: ", "))")
            lines.append(
                "  set sizes: " + a.setSize.map { "\($0.party) \($0.min)...\($0.max)" }.joined(separator: ", ")
                    + "; both sizes are announced to the peer")
            let threshold = "overlaps below \(a.minIntersection) are reported as suppressed"
            switch a.spec {
            case .cardinality:
                lines.append(
                    "  \(p1) learns the overlap size; " + (a.receivers.contains(p2) ? "\(p2) learns it too" : "\(p2) learns nothing more")
                        + "; \(threshold)")
            case .intersection:
                lines.append(
                    "  \(p1) learns which of its rows are shared"
                        + (a.receivers.contains(p2) ? "; \(p2) learns which of its rows are shared" : "; \(p2) learns nothing more")
                        + "; \(threshold)")
            case .intersectionSum(let sum):
                let cols = sum.values.map(\.name).joined(separator: ", ")
                let grouping = sum.grouping.map { " per \(p1).\($0.column) (groups below \($0.minGroupSize) suppressed)" } ?? ""
                lines.append(
                    "  sums of \(p2)'s \(cols) over the overlap\(grouping); statistics: \(sum.statistics.map(\.rawValue).joined(separator: ", "))"
                )
                lines.append(
                    "  \(p1) computes the overlap size and per-group counts"
                        + (a.receivers.contains(p1) ? " and receives the sums" : " but not the sums"))
                lines.append(
                    "  \(p2) decrypts"
                        + (a.receivers.contains(p2)
                            ? " and learns the sums, counts and group labels" : " only masked values and learns nothing of the sums")
                        + "; \(threshold)")
                lines.append("  Paillier \(sum.keyBits) bits, owned by \(p2)")
            }
            return lines.joined(separator: "\n")
        }
    }
}
