// `cleanroom audit verify`: checks an audit log's hash chain and signatures, and with the peer's
// log, that both parties recorded the same sessions.
import ArgumentParser
import CleanRoomRunner
import Foundation

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Check audit logs.",
        subcommands: [Verify.self]
    )

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify an audit log's chain and signatures, and optionally check it against the peer's log.",
            discussion: """
                Every line must chain to the one before it (prev = SHA-256 of that line, seq counting \
                from 0) and carry a valid signature by the certificate it names. With --certificate, \
                every line must be signed by that certificate (the one the collaboration file pins \
                for this party); --allow-unsigned then accepts unsigned lines. With --peer-log, the peer's log is verified too, and every \
                completed session in either log must appear in the other with the same transcript \
                hash. A log can still be deleted or cut short by whoever can write it: only the \
                peer's log shows a session missing from the tail. Exit status 0 when everything \
                verifies, 1 otherwise.
                """
        )

        @Argument(help: "The audit log (JSON Lines) to verify.")
        var file: String

        @Option(help: "The peer's audit log, to check the two against each other.")
        var peerLog: String?

        @Option(help: "PEM certificate that must have signed every line of FILE.")
        var certificate: String?

        @Flag(help: "With --certificate, accept unsigned lines (runs that failed before the key could be read).")
        var allowUnsigned = false

        func run() throws {
            var failed = false
            func load(_ path: String) throws -> [UInt8] {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw ValidationError("cannot read \(path)")
                }
                return Array(data)
            }
            var pinned: String?
            if let certificate {
                guard let pem = try? String(contentsOfFile: certificate, encoding: .utf8), let fp = try? Identity.fingerprint(pem: pem)
                else {
                    throw ValidationError("cannot read the certificate \(certificate)")
                }
                pinned = fp
            }
            func show(_ path: String, _ report: AuditLog.Report) {
                let signed = report.records.count - report.unsigned.count
                print(
                    "\(path): \(report.records.count) record(s), \(signed) signed by \(report.signers.joined(separator: ", ").nilIfEmpty ?? "nobody")"
                )
                if !report.unsigned.isEmpty {
                    print(
                        "  unsigned (runs that failed before the key was read): line(s) \(report.unsigned.map(String.init).joined(separator: ", "))"
                    )
                }
                for p in report.problems { print("  FAIL \(p)") }
                if report.problems.isEmpty { print("  chain and signatures verify") }
                failed = failed || !report.problems.isEmpty
            }
            let ours = AuditLog.verify(contentsOf: try load(file), certificateSHA256: pinned, allowUnsigned: allowUnsigned)
            show(file, ours)
            if let peerLog {
                let theirs = AuditLog.verify(contentsOf: try load(peerLog))
                show(peerLog, theirs)
                let problems = AuditLog.crossCheck(ours, theirs)
                for p in problems { print("  FAIL \(p)") }
                if problems.isEmpty {
                    let sessions = ours.records.filter { $0.outcome == "completed" }.count
                    print("both logs record the same \(sessions) completed session(s)")
                }
                failed = failed || !problems.isEmpty
            }
            if failed { throw ExitCode(1) }
        }
    }
}

extension String {
    fileprivate var nilIfEmpty: String? { isEmpty ? nil : self }
}
