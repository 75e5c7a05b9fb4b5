// `cleanroom demo`: the whole thing on one machine. Sample data and throwaway keys in a temporary
// folder, a collaboration file with a cardinality, a grouped intersection-sum and an enrichment analysis, two
// separate `cleanroom run` processes per analysis talking TLS over loopback, and what each party
// learned beside the answer computed directly from the sample files.
import ArgumentParser
import CleanRoomCSV
import CleanRoomProtocol
import CleanRoomRunner
import Foundation

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a two-party demo over loopback TLS and check it against the plaintext answer."
    )

    @Option(help: "Rows per party.")
    var rows: Int = 5_000

    @Option(help: "Fraction of shared customers (0...1).")
    var overlap: Double = 0.3

    @Option(help: "Seed of the sample data.")
    var seed: UInt64 = 7

    @Flag(help: "Keep the temporary folder (data, keys, results, audit log).")
    var keep = false

    func run() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cleanroom-demo-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { if !keep { try? FileManager.default.removeItem(atPath: dir) } }
        func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

        print("CleanRoom demo — working in \(dir)\(keep ? "" : " (removed afterwards; --keep to keep it)")")
        let (adCSV, pubCSV) = try SampleData.write(rows: rows, overlap: overlap, seed: seed, to: dir)
        print("sample data: \(rows) advertiser rows (email, purchase_amount, quantity), \(rows) publisher rows (email, campaign)")
        let keys = path("keys")
        let adFP = try Identity.generate(party: "advertiser", directory: keys)
        let pubFP = try Identity.generate(party: "publisher", directory: keys)
        let port = try freeLoopbackPort()
        let yaml = Self.collaboration(advertiser: adFP, publisher: pubFP, port: port, rows: rows)
        try yaml.write(toFile: path("collaboration.yaml"), atomically: true, encoding: .utf8)
        let collaboration = try Collaboration(yaml: yaml)
        print(
            "collaboration \(collaboration.name), digest \(try collaboration.digestHex().prefix(16))…, advertiser listens on 127.0.0.1:\(port)\n"
        )

        let tables = [
            "advertiser": try CSVReader.read(path: adCSV, columns: ["email", "purchase_amount", "quantity"]),
            "publisher": try CSVReader.read(path: pubCSV, columns: ["email", "campaign"]),
        ]
        var allMatch = true
        var noisyAgree = true
        for analysis in ["overlap", "overlap-dp", "spend-by-campaign", "spend-by-campaign-dp", "campaign-for-matches"] {
            let start = ContinuousClock.now
            var processes: [(String, Process, Pipe)] = []
            for (party, csv) in [("advertiser", adCSV), ("publisher", pubCSV)] {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
                p.arguments =
                    [
                        "run", path("collaboration.yaml"), "--as", party, "--data", csv, "--analysis", analysis,
                        "--out", path("\(analysis)-\(party).json"), "--identity", keys, "--audit", path("audit-\(party).jsonl"),
                        "--ledger", path("ledger-\(party).sqlite"), "--quiet",
                    ]
                    + (analysis == "campaign-for-matches" && party == "advertiser"
                        ? ["--enriched-out", path("enriched-advertiser.csv")] : [])
                let out = Pipe()
                p.standardOutput = out
                p.standardError = out
                try p.run()
                processes.append((party, p, out))
            }
            var failed = false
            for (party, p, out) in processes {
                let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                p.waitUntilExit()
                if p.terminationStatus != 0 {
                    failed = true
                    print("\(party) failed (exit \(p.terminationStatus)):\n\(text)")
                }
            }
            let seconds =
                Double((ContinuousClock.now - start).components.seconds) + Double((ContinuousClock.now - start).components.attoseconds)
                * 1e-18
            guard !failed else { throw ExitCode(1) }
            let expected = try ReferenceAnswer.compute(collaboration, analysis: analysis, tables: tables)
            let spec = try collaboration.analysis(named: analysis)
            print("== \(analysis) (\(spec.kind.rawValue)), two processes over TLS: \(String(format: "%.2f", seconds)) s")
            if spec.kind == .enrichment {
                let ok = try Self.showEnrichment(
                    expected: expected, receiver: path("\(analysis)-advertiser.json"), sender: path("\(analysis)-publisher.json"),
                    enriched: path("enriched-advertiser.csv"), original: adCSV)
                allMatch = allMatch && ok
                continue
            }
            if spec.privacy != nil {
                // Differential privacy: the released count is noisy by design. Both parties must hold
                // the same value; the exact answer is shown beside it with the 95% interval.
                let results = try ["advertiser", "publisher"].map {
                    try JSONDecoder().decode(
                        ResultDocument.self, from: Data(contentsOf: URL(fileURLWithPath: path("\(analysis)-\($0).json")))
                    )
                    .result
                }
                if spec.kind == .intersectionSum {
                    noisyAgree = try Self.printNoisySums(results, expected: expected) && noisyAgree
                    continue
                }
                let agree = results[0].intersectionSize == results[1].intersectionSize && results[0].privacy == results[1].privacy
                noisyAgree = noisyAgree && agree
                let released = results[0].intersectionSize?.description ?? "-"
                let report = results[0].privacy
                let exact = expected.intersectionSize.value
                let within = results[0].intersectionSize?.value.flatMap { v in exact.map { abs(v - $0) <= (report?.interval95 ?? 0) } }
                print(
                    "both parties learned: overlap \(released) (\(agree ? "the same value" : "DIFFERENT VALUES")), discrete Laplace noise, ε = \(report?.epsilon ?? "?"), scale \(report?.scale ?? "?")"
                )
                print(
                    "plaintext answer computed from both files: overlap \(expected.intersectionSize); 95% interval ± \(report?.interval95 ?? 0): \(within.map { $0 ? "inside" : "outside (happens 1 time in 20 or less)" } ?? "suppressed")\n"
                )
                continue
            }
            for party in ["advertiser", "publisher"] {
                let data = try Data(contentsOf: URL(fileURLWithPath: path("\(analysis)-\(party).json")))
                let doc = try JSONDecoder().decode(ResultDocument.self, from: data)
                let learned = ReferenceAnswer.from(doc.result)
                let ok = learned == expected
                allMatch = allMatch && ok
                print(
                    "\(party) learned: overlap \(doc.result.intersectionSize?.description ?? "-")  [\(ok ? "matches" : "DIFFERS FROM") the plaintext answer]"
                )
            }
            print("plaintext answer computed from both files: overlap \(expected.intersectionSize)")
            if !expected.groups.isEmpty {
                // Each party's learned sums beside the plaintext ones, per campaign.
                var learned: [String: ReferenceAnswer] = [:]
                for party in ["advertiser", "publisher"] {
                    let data = try Data(contentsOf: URL(fileURLWithPath: path("\(analysis)-\(party).json")))
                    learned[party] = ReferenceAnswer.from(try JSONDecoder().decode(ResultDocument.self, from: data).result)
                }
                print("  campaign           source        count   purchase_amount sum   quantity sum")
                for label in expected.groups.keys.sorted() {
                    for (source, answer) in [
                        ("plaintext", expected), ("advertiser", learned["advertiser"]!), ("publisher", learned["publisher"]!),
                    ] {
                        let g = answer.groups[label]
                        print(
                            "  " + (source == "plaintext" ? label : "").padding(toLength: 18, withPad: " ", startingAt: 0) + " "
                                + source.padding(toLength: 12, withPad: " ", startingAt: 0)
                                + (g.map { String(format: "%6d", $0.count) } ?? "     -") + "   "
                                + (g?.sums["purchase_amount"] ?? "-").leftPad(19) + "   " + (g?.sums["quantity"] ?? "-").leftPad(12))
                    }
                }
            }
            print("")
        }
        // Each party's audit log is chained and signed with its TLS key; the two agree on every session.
        let adLog = AuditLog.verify(
            contentsOf: Array(try Data(contentsOf: URL(fileURLWithPath: path("audit-advertiser.jsonl")))), certificateSHA256: adFP)
        let pubLog = AuditLog.verify(
            contentsOf: Array(try Data(contentsOf: URL(fileURLWithPath: path("audit-publisher.jsonl")))), certificateSHA256: pubFP)
        let auditProblems = adLog.problems + pubLog.problems + AuditLog.crossCheck(adLog, pubLog)
        print(
            auditProblems.isEmpty
                ? "audit logs: \(adLog.records.count) + \(pubLog.records.count) signed records; chains, signatures and transcript hashes agree"
                : "audit logs DO NOT VERIFY:\n  " + auditProblems.joined(separator: "\n  "))
        allMatch = allMatch && auditProblems.isEmpty
        allMatch = allMatch && noisyAgree
        print(
            allMatch
                ? "Both parties learned exactly the plaintext answer (the noisy figures aside, by design), and nothing else left either process."
                : "MISMATCH between what the parties learned and the plaintext answer.")
        if !allMatch { throw ExitCode(1) }
    }

    /// Prints what each party of the enrichment learned beside the plaintext answer; true when the
    /// receiver's result and enriched file hold exactly that answer and the sender learned nothing.
    static func showEnrichment(expected: ReferenceAnswer, receiver: String, sender: String, enriched: String, original: String) throws
        -> Bool
    {
        func result(_ path: String) throws -> SessionResult {
            try JSONDecoder().decode(ResultDocument.self, from: Data(contentsOf: URL(fileURLWithPath: path))).result
        }
        let (r, s) = (try result(receiver), try result(sender))
        let answer = expected.enrichedRows ?? [:]
        let learned = ReferenceAnswer.from(r)
        let table = try CSVReader.readAll(path: enriched)
        let originalTable = try CSVReader.readAll(path: original)
        var fileMatches = table.rows.count == originalTable.rows.count
        for (i, row) in table.rows.enumerated() where fileMatches {
            fileMatches =
                Array(row.dropLast()) == originalTable.rows[i] && row.last == (answer[table.rowNumber(i)]?.first ?? "")
        }
        let receiverOK = learned == expected && fileMatches
        let senderOK = s.intersectionSize == nil && s.enrichment == nil && s.peerUniqueIdentifiers == r.uniqueIdentifiers
        print(
            "advertiser learned: the campaign of \(r.enrichment?.rows.count ?? 0) of its rows (overlap \(r.intersectionSize?.description ?? "-"))  [\(receiverOK ? "matches" : "DIFFERS FROM") the plaintext answer]"
        )
        print("  enriched-advertiser.csv: its \(originalTable.rows.count) rows with a campaign column; the first lines:")
        for row in table.rows.prefix(3) { print("    " + row.joined(separator: ",")) }
        print(
            "publisher learned: the advertiser's set size (\(s.peerUniqueIdentifiers)), nothing else  [\(senderOK ? "as it should" : "MORE THAN IT SHOULD")]"
        )
        print("plaintext answer computed from both files: \(answer.count) rows enriched\n")
        return receiverOK && senderOK
    }

    static func collaboration(advertiser: String, publisher: String, port: Int, rows: Int) -> String {
        let both = ["advertiser", "publisher"], setSize = 10...max(rows, 10)
        return CollaborationTemplate(
            name: "demo-advertiser-publisher", comment: "Written by `cleanroom demo`.",
            parties: [
                .init(name: "advertiser", certificateSHA256: advertiser, listen: "127.0.0.1:\(port)"),
                .init(name: "publisher", certificateSHA256: publisher),
            ],
            analyses: [
                .cardinality("overlap", receivers: both, minIntersection: 10, setSize: setSize),
                .cardinality("overlap-dp", receivers: both, minIntersection: 10, setSize: setSize, laplaceEpsilon: "0.5"),
                .intersectionSum(
                    "spend-by-campaign", owner: "advertiser",
                    values: [
                        .init(name: "purchase_amount", scale: 2, min: "0", max: "1000.00"),
                        .init(name: "quantity", scale: 0, min: "0", max: "100"),
                    ],
                    grouping: .init(party: "publisher", column: "campaign", minGroupSize: 5), statistics: [.count, .sum, .mean],
                    receivers: both, minIntersection: 10, setSize: setSize),
                .intersectionSum(
                    "spend-by-campaign-dp", owner: "advertiser",
                    values: [.init(name: "purchase_amount", scale: 2, min: "0", max: "1000.00")],
                    grouping: .init(party: "publisher", column: "campaign", minGroupSize: 5, maxGroups: 5),
                    statistics: [.count, .sum, .mean],
                    receivers: both, minIntersection: 10, setSize: setSize,
                    privacyFields: "mechanism: laplace, epsilon: 4, delta: 1e-9, max_rows_per_identifier: 1"),
                // Labeled PSI: the advertiser's rows get the publisher's campaign; the publisher learns only the set size.
                .enrichment(
                    "campaign-for-matches", receiver: "advertiser", columns: [.init(name: "campaign", maxBytes: 16)], minIntersection: 10,
                    setSize: setSize),
            ]
        ).yaml
    }

    /// A grouped sum with differential privacy: both parties must hold the same noisy figures;
    /// they are printed beside the plaintext answer with each figure's 95% interval.
    /// - Returns: whether both parties hold the same figures.
    static func printNoisySums(_ results: [SessionResult], expected: ReferenceAnswer) throws -> Bool {
        let agree = results[0].groups == results[1].groups && results[0].intersectionSize == results[1].intersectionSize
        let report = results[1].privacy
        print(
            "both parties learned \(results[0].groups?.count ?? 0) campaign(s) (\(agree ? "the same figures" : "DIFFERENT FIGURES")), discrete Laplace, ε = \(report?.epsilon ?? "?") per party, δ = \(report?.delta ?? "0"); campaigns released from a noisy count of \(report?.threshold ?? 0); advertiser rows over max_rows_per_identifier: \(results[0].rowsOverContributionBound ?? 0)"
        )
        print("  campaign           source          count        ±   purchase_amount sum            ±")
        let learned = Dictionary((results[0].groups ?? []).map { ($0.label ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        for label in expected.groups.keys.sorted() {
            let exact = expected.groups[label]
            let noisy = learned[label]
            print(
                "  " + label.padding(toLength: 18, withPad: " ", startingAt: 0) + " plaintext    "
                    + (exact.map { String($0.count) } ?? "-").leftPad(8)
                    + "".leftPad(9) + (exact?.sums["purchase_amount"] ?? "-").leftPad(22))
            print(
                "  " + "".padding(toLength: 18, withPad: " ", startingAt: 0) + " both (noisy) "
                    + (noisy?.count.map(String.init) ?? "-").leftPad(8)
                    + "\(report?.interval95 ?? 0)".leftPad(9) + (noisy?.sums?["purchase_amount"] ?? "suppressed").leftPad(22)
                    + (report?.sums?["purchase_amount"]?.interval95 ?? "-").leftPad(14))
        }
        print("")
        return agree
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
