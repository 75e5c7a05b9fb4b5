// `cleanroom collaboration check`: validate a collaboration file and say who learns what;
// `cleanroom collaboration unfreeze`: lift this party's freeze on a collaboration.
import ArgumentParser
import CleanRoomCrypto
import CleanRoomProtocol
import CleanRoomRunner
import Foundation

struct CollaborationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collaboration", abstract: "Collaboration files.", subcommands: [Check.self, Unfreeze.self])

    struct Unfreeze: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lift this party's freeze on sessions with the peer after reviewing the session that caused it.",
            discussion: """
                After a session in which the peer deviated in a way the protocol detects without \
                aborting (an altered group tag, a sum that does not decode), `cleanroom run` leaves \
                the affected values out, exits with status 4 and freezes sessions with that peer (in \
                every collaboration): further runs are refused. This lifts the freeze and appends a signed audit record saying who \
                lifted it and which freeze it was.
                """)

        @Argument(help: "The collaboration file.")
        var file: String

        @Option(name: .customLong("as"), help: "This party's name in the collaboration file.")
        var party: String

        @Option(help: "This party's ledger (default: ~/.cleanroom/ledger.sqlite).")
        var ledger: String = PartyLedger.defaultPath

        @Option(help: "Append the audit record (JSON Lines) here.")
        var audit: String = "cleanroom-audit.jsonl"

        @Option(help: "Folder with PARTY.key.pem and PARTY.cert.pem, to sign the audit record.")
        var identity: String = "keys"

        func run() throws {
            do {
                let c = try Collaboration(contentsOf: URL(fileURLWithPath: file))
                _ = try c.party(named: party)
                try AuditRecord.checkWritable(audit)
                guard let lifted = try PartyLedger(path: ledger).unfreeze(try CollaborationKey(c, party: party)) else {
                    print("sessions with \(try c.peer(of: party)) are not frozen in \(ledger)")
                    return
                }
                var record = AuditRecord(party: party, outcome: "unfrozen")
                record.collaboration = c.name
                record.collaborationDigest = try? c.digestHex()
                let who = ProcessInfo.processInfo.environment["USER"] ?? "unknown user"
                record.reason = "freeze of \(lifted.since) lifted by \(who): \(lifted.reason)"
                try record.append(to: audit, signer: Identity.recordSigner(party: party, folder: identity))
                print(
                    "sessions with \(try c.peer(of: party)) unfrozen (frozen since \(lifted.since) in '\(PeerText.display(lifted.collaboration))': \(PeerText.display(lifted.reason)))"
                )
            } catch {
                FileHandle.standardError.write(Data("cleanroom collaboration unfreeze: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
    }

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
            if let budget = c.privacyBudget {
                print(
                    "budget        "
                        + [
                            budget.maxSessions.map { "at most \($0) sessions of each analysis" },
                            budget.epsilonMicros.map { "ε = \(PrivacySpec.decimal(micros: $0)) per party in all" },
                        ]
                        .compactMap { $0 }.joined(separator: "; "))
            }
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
                if let privacy = a.privacy {
                    lines.append(
                        "  released with discrete Laplace noise, ε = \(privacy.epsilonText) per session (\(p1) adds it; its process still computes the exact overlap)"
                    )
                }
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
                if let privacy = a.privacy, let noise = try? a.sumNoiseSummary() {
                    lines.append(
                        "  differential privacy: discrete Laplace, ε = \(privacy.epsilonText) per session for each party"
                            + (privacy.deltaFemtos.map { ", δ = \(PrivacySpec.deltaText(femtos: $0))" } ?? "")
                            + "; at most \(privacy.maxRowsPerIdentifier ?? 1) row(s) per identifier")
                    lines.append(
                        "  \(p1) adds noise to every count (groups released from a noisy count of \(noise.threshold))"
                            + (noise.p1AddsSlotNoise ? " and to every sum \(p2) reads" : "")
                            + "; \(p2) adds noise to each of up to \(noise.entries) decrypted entries (ε split across them)")
                }
            case .enrichment(let e):
                let cols = e.columns.map { "\($0.name) (≤ \($0.maxBytes) bytes)" }.joined(separator: ", ")
                lines.append("  \(p1) learns \(p2)'s \(cols) for each of its own rows whose identifier \(p2) has (first row wins)")
                lines.append(
                    "  \(p1) also learns how many rows \(p2) has; \(p2) learns only \(p1)'s set size, not the overlap; records are padded to \(e.payloadWidth) bytes"
                )
                lines.append(
                    "  \(p1) does the matching, so min_intersection (\(a.minIntersection)) only guards it against accidents; set_size and max_sessions bound how many guessed identifiers it can try"
                )
            }
            return lines.joined(separator: "\n")
        }
    }
}
