// `cleanroom run`: one party's side of an analysis, over mutually authenticated TLS.
import ArgumentParser
import CleanRoomCrypto
import CleanRoomProtocol
import CleanRoomRunner
import Foundation
import Logging

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run an analysis of a collaboration file against the other party.",
        discussion: """
            Loads and checks the collaboration file, reads this party's CSV, connects to (or waits \
            for) the peer over mutually authenticated TLS, runs the session, prints what this party \
            learned, writes it to --out (atomically) and appends an audit record.
            """
    )

    @Argument(help: "The collaboration file (YAML or JSON), identical on both sides.")
    var file: String

    @Option(name: .customLong("as"), help: "This party's name in the collaboration file.")
    var party: String

    @Option(help: "This party's CSV file (header row; columns named as in the collaboration file).")
    var data: String

    @Option(help: "The analysis to run (required when the file has more than one).")
    var analysis: String?

    @Option(help: "Write the result as JSON here (atomically).")
    var out: String?

    @Option(help: "enrichment, receiver: write your CSV with the sender's allowed columns appended here (atomically).")
    var enrichedOut: String?

    @Option(help: "Folder with PARTY.key.pem and PARTY.cert.pem (from `cleanroom keys generate`).")
    var identity: String = "keys"

    @Option(help: "Append the audit record (JSON Lines) here.")
    var audit: String = "cleanroom-audit.jsonl"

    @Option(help: "This party's ledger (frozen collaborations), SQLite (default: ~/.cleanroom/ledger.sqlite).")
    var ledger: String = PartyLedger.defaultPath

    @Option(help: "Seconds to keep trying to reach the peer (or to wait for it when listening).")
    var connectTimeout: Int = 60

    @Option(help: "Seconds to wait for the peer's next complete frame while this party has nothing to send.")
    var idleTimeout: Int = 120

    @Option(
        help: "Seconds the whole session may take once connected (0: derived from the policy's set sizes; docs/protocol.md)."
    )
    var sessionTimeout: Int = 0

    @Option(help: "Elements per frame (1...65536).")
    var batchSize: Int = 16_384

    @Flag(help: "No progress output.")
    var quiet = false

    @Flag(help: "Print progress lines even when stderr is not a terminal.")
    var progress = false

    @Option(help: "Write measurements (stage times, traffic, CPU, peak memory) as JSON here; used by `bench psi`.")
    var stats: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "warning"

    func validate() throws {
        guard (1...65_536).contains(batchSize) else { throw ValidationError("--batch-size must be 1...65536") }
        guard sessionTimeout >= 0 else { throw ValidationError("--session-timeout must be 0 (derived) or a number of seconds") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level '\(logLevel)'") }
    }

    func run() async throws {
        SessionRunner.limitHeapArenas()
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = Logger.Level(rawValue: logLevel)!
            return h
        }
        let logger = Logger(label: "cleanroom.run")
        var record = AuditRecord(party: party, outcome: "failed")
        // A run that cannot record itself does not start.
        do { try AuditRecord.checkWritable(audit) } catch {
            FileHandle.standardError.write(Data("cleanroom run: \(error)\n".utf8))
            throw ExitCode(1)
        }
        // The record is signed with this party's TLS key. Without a readable key (the run then fails
        // at the identity stage) the record goes in unsigned, and `audit verify` lists it as such.
        let signer = Identity.recordSigner(party: party, folder: identity)
        func appendAudit(_ record: AuditRecord) throws {
            do { try record.append(to: audit, signer: signer) } catch {
                FileHandle.standardError.write(Data("cleanroom run: the audit record was not written: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
        do {
            let result = try await runSession(logger: logger, record: &record)
            record.outcome = "completed"
            record.learned = AuditRecord.learned(result)
            do { try appendAudit(record) } catch {
                // The run failed after all: no result file may outlive it.
                if let out { try? FileManager.default.removeItem(atPath: out) }
                if let enrichedOut { try? FileManager.default.removeItem(atPath: enrichedOut) }
                throw error
            }
            if let warnings = result.warnings {
                // No freeze here: the peer would see it, and a freeze would answer its question.
                let text = warnings.map { "  - \(PeerText.display($0))" }.joined(separator: "\n")
                FileHandle.standardError.write(
                    Data(
                        "cleanroom run: the session completed, but the peer sent what an honest peer does not (left out of the result as missing):\n\(text)\n"
                            .utf8))
            }
            if let anomalies = result.anomalies {
                let text = anomalies.map { "  - \(PeerText.display($0))" }.joined(separator: "\n")
                FileHandle.standardError.write(
                    Data(
                        """
                        cleanroom run: the session completed, but the peer deviated from the protocol:
                        \(text)
                        The affected values are left out of the result. Sessions with \(record.peer ?? "the peer") are frozen in \(ledger): \
                        further runs are refused until a person runs `cleanroom collaboration unfreeze`.

                        """.utf8))
                throw ExitCode(4)
            }
        } catch let error as RunnerError {
            record.outcome = error.stage == .policy ? "refused" : "failed"
            record.stage = error.stage.rawValue
            record.reason = error.message
            FileHandle.standardError.write(Data("cleanroom run: \(error)\n".utf8))
            if let anomalies = error.anomalies {
                // The peer deviated before the session failed: it is frozen all the same.
                let text = anomalies.map { "  - \(PeerText.display($0))" }.joined(separator: "\n")
                FileHandle.standardError.write(
                    Data(
                        """
                        cleanroom run: before it failed, the peer deviated from the protocol:
                        \(text)
                        Sessions with \(record.peer ?? "the peer") are frozen in \(ledger) until a person runs `cleanroom collaboration unfreeze`.

                        """.utf8))
            }
            try appendAudit(record)
            throw ExitCode(error.stage == .policy ? 3 : 1)
        }
    }

    private func runSession(logger: Logger, record: inout AuditRecord) async throws -> SessionResult {
        let job = RunJob(
            collaborationPath: file, party: party, dataPath: data, analysis: analysis, resultPath: out, identityFolder: identity,
            connectTimeout: .seconds(connectTimeout), idleTimeout: .seconds(idleTimeout), batchSize: batchSize,
            sessionTimeout: sessionTimeout > 0 ? .seconds(sessionTimeout) : nil, ledgerPath: ledger, enrichedPath: enrichedOut)
        let statistics = RunStatistics(stage: "reading input")
        let showProgress = !quiet && (progress || isatty(2) == 1)
        let reporter = ProgressReporter(enabled: showProgress, terminal: isatty(2) == 1)
        let outcome: RunJob.Outcome
        do {
            outcome = try await job.run(record: &record, logger: logger, statistics: statistics) { p in
                reporter.report(p)
                statistics.record(p)
            }
        } catch {
            reporter.finish()
            throw error
        }
        reporter.finish()
        if let stats {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try ResultOutput.writeAtomically(try encoder.encode(statistics.document()), to: stats)
        }
        let valueColumns = outcome.analysis.sumSpec?.values.map(\.name) ?? []
        print(ResultOutput.table(outcome.result, collaboration: outcome.collaboration.name, valueColumns: valueColumns))
        return outcome.result
    }
}

/// Progress on stderr: a rewritten line on a terminal, throttled lines otherwise.
final class ProgressReporter: @unchecked Sendable {
    let enabled: Bool
    let terminal: Bool
    private let start = ContinuousClock.now
    private var last = ContinuousClock.now - .seconds(10)
    private let lock = NSLock()

    init(enabled: Bool, terminal: Bool) {
        self.enabled = enabled
        self.terminal = terminal
    }

    func report(_ p: RunProgress) {
        guard enabled else { return }
        lock.withLock {
            let now = ContinuousClock.now
            guard now - last >= .milliseconds(terminal ? 100 : 500) else { return }
            last = now
            let elapsed = Double((now - start).components.seconds) + Double((now - start).components.attoseconds) * 1e-18
            var line = String(
                format: "[%@] frames %d in / %d out, %.1f MB in / %.1f MB out, %.1f s",
                p.stage as NSString, p.framesIn, p.framesOut, Double(p.bytesIn) / 1e6, Double(p.bytesOut) / 1e6, elapsed)
            if p.elementsTotal > 0 {
                let rate = Double(p.elementsDone) / max(elapsed, 0.001)
                let eta = rate > 0 ? Double(p.elementsTotal - p.elementsDone) / rate : 0
                line += String(format: "; elements %d / %d, %.0f/s, ETA %.0f s", p.elementsDone, p.elementsTotal, rate, eta)
            }
            FileHandle.standardError.write(Data((terminal ? "\r\u{1B}[K" + line : line + "\n").utf8))
        }
    }

    func finish() {
        if enabled && terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
