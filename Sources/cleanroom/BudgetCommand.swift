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
                running or was killed. The privacy budget of differential privacy (ε, δ) will be shown \
                here too.
                """)

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
            print("ledger \(ledger)")
            if tallies.isEmpty { print("no sessions counted") }
            for t in tallies {
                print(
                    "\(t.collaboration) / \(t.analysis) with peer \(t.peerCertificateSHA256.prefix(16))…: \(t.sessions) session(s) counted, \(t.completed) completed, last started \(t.lastStarted)"
                )
            }
            for (peer, f) in freezes {
                print(
                    "FROZEN: sessions with peer \(peer.prefix(16))… since \(f.since) (in '\(f.collaboration)'): \(PeerText.display(f.reason))"
                )
            }
        }
    }
}
