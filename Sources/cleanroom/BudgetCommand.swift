// `cleanroom budget show`: what this party's ledger counts, per collaboration and analysis.
import ArgumentParser
import CleanRoomProtocol
import CleanRoomRunner
import Foundation

struct BudgetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "budget", abstract: "This party's ledger: sessions counted against privacy_budget.", subcommands: [Show.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sessions run per collaboration and analysis, and the freezes in force.",
            discussion: """
                Reads this party's ledger (the other party keeps its own). A session counts once this \
                party sent anything beyond HELLO and SET_SIZE, failed or not; one still `reserved` is \
                running or was killed. ε and δ are what this party spent on differential privacy; with \
                --collaboration, what is left of that file's privacy_budget too.
                """)

        @Option(help: "A collaboration file: also show what is left of its privacy_budget.")
        var collaboration: String?

        @Option(help: "This party's ledger (default: ~/.cleanroom/ledger.sqlite).")
        var ledger: String = PartyLedger.defaultPath

        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            guard FileManager.default.fileExists(atPath: ledger) else {
                print(json ? #"{"freezes":[],"sessions":[]}"# : "no ledger at \(ledger): no session was counted yet")
                return
            }
            let tallies: [PartyLedger.SessionTally]
            let freezes: [(peerCertificateSHA256: String, freeze: Freeze)]
            do {
                let opened = try PartyLedger(path: ledger)
                tallies = try opened.tallies()
                freezes = try opened.freezes()
            } catch {
                FileHandle.standardError.write(Data("cleanroom budget show: \(error)\n".utf8))
                throw ExitCode(1)
            }
            if json {
                struct Document: Encodable {
                    var sessions: [PartyLedger.SessionTally]
                    var freezes: [[String: String]]
                }
                let document = Document(
                    sessions: tallies,
                    freezes: freezes.map {
                        [
                            "peer_certificate_sha256": $0.peerCertificateSHA256, "collaboration": $0.freeze.collaboration,
                            "since": $0.freeze.since, "reason": $0.freeze.reason,
                        ]
                    })
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(document), as: UTF8.self))
                return
            }
            var file: Collaboration?
            if let collaboration {
                do { file = try Collaboration(contentsOf: URL(fileURLWithPath: collaboration)) } catch {
                    FileHandle.standardError.write(Data("cleanroom budget show: \(error)\n".utf8))
                    throw ExitCode(2)
                }
            }
            print("ledger \(ledger)")
            if tallies.isEmpty { print("no sessions counted") }
            for t in tallies {
                print(
                    "\(t.collaboration) / \(t.analysis) with peer \(t.peerCertificateSHA256.prefix(16))…: \(t.sessions) session(s) counted, \(t.completed) completed, last started \(t.lastStarted); ε spent \(t.epsilonSpent), δ spent \(t.deltaSpent)"
                )
            }
            if let file, let budget = file.privacyBudget {
                // Spent per peer over every analysis of this collaboration, against its budget.
                var spent: [String: (epsilon: Int, delta: Int64)] = [:]
                for t in tallies where t.collaboration == file.name {
                    spent[t.peerCertificateSHA256, default: (0, 0)].epsilon += t.epsilonSpentMicros
                    spent[t.peerCertificateSHA256, default: (0, 0)].delta += t.deltaSpentFemtos
                }
                for (peer, s) in spent.sorted(by: { $0.key < $1.key }) {
                    var parts: [String] = []
                    if let e = budget.epsilonMicros {
                        parts.append(
                            "ε \(PrivacySpec.decimal(micros: s.epsilon)) of \(PrivacySpec.decimal(micros: e)), \(PrivacySpec.decimal(micros: max(0, e - s.epsilon))) left"
                        )
                    }
                    if let d = budget.deltaFemtos {
                        parts.append(
                            "δ \(PrivacySpec.deltaText(femtos: s.delta)) of \(PrivacySpec.deltaText(femtos: d)), \(PrivacySpec.deltaText(femtos: max(0, d - s.delta))) left"
                        )
                    }
                    if !parts.isEmpty { print("\(file.name) with peer \(peer.prefix(16))…: \(parts.joined(separator: "; "))") }
                }
            }
            for (peer, f) in freezes {
                print(
                    "FROZEN: sessions with peer \(peer.prefix(16))… since \(f.since) (in '\(f.collaboration)'): \(PeerText.display(f.reason))"
                )
            }
        }
    }
}
