// `cleanroom bench psi`: a whole session, by default two `cleanroom run` processes over loopback
// TLS exactly as users run them, measured against the X25519-only ideal from the same run.
import ArgumentParser
import CleanRoomCSV
import CleanRoomCrypto
import CleanRoomProtocol
import CleanRoomRunner
import Foundation

extension BenchCommand {
    struct PSI: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "psi",
            abstract: "Run a full session on synthetic data and report time, throughput, stages, CPU, memory and traffic.",
            discussion: """
                The ideal is the time of the unavoidable X25519 operations alone: 2·(N+M) of them at the \\
                rate measured in this run, spread over all cores. Build with -c release.
                """
        )

        @Option(help: "Rows of the first party (advertiser).")
        var size: Int = 100_000

        @Option(help: "Rows of the second party (publisher); default: --size.")
        var peerSize: Int?

        @Option(help: "cardinality, intersection-sum or enrichment (the advertiser receives the publisher's campaign).")
        var analysis: String = "cardinality"

        @Option(help: "Value columns summed in intersection-sum (1 or 2).")
        var columns: Int = 2

        @Option(
            name: .customLong("group-by"),
            help: "intersection-sum only: group the sums by a publisher column of this many labels (the demo's spend-by-campaign shape).")
        var groups: Int?

        @Option(help: "Fraction of the smaller set that both parties hold.")
        var overlap: Double = 0.5

        @Option(help: "tls (two processes, the real runner) or memory (one process, no network).")
        var transport: String = "tls"

        @Option(
            help:
                "Also run the session with differential privacy at this ε (discrete Laplace; intersection-sum: one row per identifier), between two runs without, and print the overhead."
        )
        var epsilon: String?

        @Flag(help: "Print one JSON object instead of the table.")
        var json = false

        func validate() throws {
            guard ["cardinality", "intersection-sum", "enrichment"].contains(analysis) else {
                throw ValidationError("--analysis: cardinality, intersection-sum or enrichment")
            }
            guard ["tls", "memory"].contains(transport) else { throw ValidationError("--transport: tls or memory") }
            guard (1...2).contains(columns) else { throw ValidationError("--columns: 1 or 2 (the sample data has two value columns)") }
            if let groups {
                guard analysis == "intersection-sum" else { throw ValidationError("--group-by: only with --analysis intersection-sum") }
                guard (1...IntersectionSumSpec.Grouping.maxMaxGroups).contains(groups) else {
                    throw ValidationError("--group-by: 1...\(IntersectionSumSpec.Grouping.maxMaxGroups) labels")
                }
            }
            guard size >= 1, (peerSize ?? 1) >= 1, (0...1).contains(overlap) else {
                throw ValidationError("sizes must be positive, overlap in 0...1")
            }
        }

        func run() async throws {
            let n = size, m = peerSize ?? size
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cleanroom-bench-\(getpid())").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }
            try SampleData.write(rows: n, publisherRows: m, overlap: overlap, seed: 11, to: dir)
            if analysis == "enrichment" { try Self.addColumn(path("publisher.csv"), name: "segment") { Self.segment(row: $0) } }
            if let groups { try Self.addColumn(path("publisher.csv"), name: "group") { "g\(($0 &* 2_654_435_761) % groups)" } }

            // The X25519 rate of this machine, measured before and after the session (three short
            // rounds each); the median of the six stands for the whole run.
            var x25519Samples: [Double] = []
            func sampleX25519() throws {
                for _ in 0..<3 { x25519Samples.append(try measure(0.3) { k in _ = try X25519Baseline.deriveFixedPeer(iterations: k) }) }
            }
            try sampleX25519()
            let cores = ProcessInfo.processInfo.activeProcessorCount

            let keys = path("keys")
            let adFP = try Identity.generate(party: "advertiser", directory: keys)
            let pubFP = try Identity.generate(party: "publisher", directory: keys)

            // Without privacy; with --epsilon, then with it and once more without (the overhead
            // is the noisy run against the mean of the two around it).
            var (wall, parties) = try session(adFP, pubFP, privacy: nil, path: path)
            // An enrichment is compared with cardinality sessions on the same files in this run
            // (one before and one after; their mean stands for cardinality).
            var enrichmentLine: String?
            var enrichmentRatio: Double?
            if analysis == "enrichment" {
                let (before, _) = try session(adFP, pubFP, privacy: nil, path: path, kind: "cardinality")
                let (after, _) = try session(adFP, pubFP, privacy: nil, path: path, kind: "cardinality")
                let cardinality = (before + after) / 2
                enrichmentRatio = wall / cardinality
                enrichmentLine = String(
                    format: "enrichment (two 16-byte columns) %.2f s against cardinality %.2f s and %.2f s on the same files → %.3f×",
                    wall, before, after, wall / cardinality)
            }
            var privacyLine: String?
            var privacyRatio: Double?
            if let epsilon {
                let fields =
                    analysis == "intersection-sum"
                    ? "mechanism: laplace, epsilon: \(epsilon), max_rows_per_identifier: 1" : "mechanism: laplace, epsilon: \(epsilon)"
                let (noisy, _) = try session(adFP, pubFP, privacy: fields, path: path)
                let (again, _) = try session(adFP, pubFP, privacy: nil, path: path)
                let plain = (wall + again) / 2
                privacyRatio = noisy / plain
                privacyLine = String(
                    format: "with privacy (%@): %.2f s against %.2f s and %.2f s without → %.3f× (%+.1f%%)", fields, noisy, wall, again,
                    noisy / plain, (noisy / plain - 1) * 100)
                wall = plain
            }
            try sampleX25519()
            let x25519 = x25519Samples.sorted()[x25519Samples.count / 2]
            let ideal = Double(2 * (n + m)) * x25519 / Double(cores)
            let elementsPerSecond = Double(n + m) / wall
            if json {
                struct Out: Encodable {
                    let analysis: String, transport: String, size: Int, peer_size: Int, columns: Int?, groups: Int?, cores: Int
                    let x25519_microseconds: Double, ideal_seconds: Double, wall_seconds: Double, ratio_to_ideal: Double,
                        elements_per_second: Double
                    let privacy_epsilon: String?, privacy_ratio: Double?, enrichment_to_cardinality: Double?
                    let parties: [String: RunStatistics.Document]
                }
                let out = Out(
                    analysis: analysis, transport: transport, size: n, peer_size: m,
                    columns: analysis == "intersection-sum" ? columns : nil, groups: groups, cores: cores,
                    x25519_microseconds: x25519 * 1e6, ideal_seconds: ideal, wall_seconds: wall, ratio_to_ideal: wall / ideal,
                    elements_per_second: elementsPerSecond, privacy_epsilon: epsilon, privacy_ratio: privacyRatio,
                    enrichment_to_cardinality: enrichmentRatio,
                    parties: Dictionary(uniqueKeysWithValues: parties.map { ($0.name, $0.stats) }))
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(out), as: UTF8.self))
                return
            }
            print(
                "cleanroom bench psi — \(analysis)\(analysis == "intersection-sum" ? " (\(columns) value column\(columns == 1 ? "" : "s")\(groups.map { ", grouped by \($0) labels" } ?? ""))" : ""), \(n) × \(m), overlap \(overlap), transport \(transport == "tls" ? "TLS, two processes" : "in memory, one process"), \(cores) cores"
            )
            print(
                String(
                    format: "X25519 (median of 6 rounds around the session): %.2f µs/op → ideal 2·(N+M) operations over %d cores = %.2f s",
                    x25519 * 1e6, cores, ideal))
            print(
                String(
                    format: "wall time %.2f s = %.2f× the ideal; %.0f elements/s (N+M over wall time)", wall, wall / ideal,
                    elementsPerSecond))
            if let enrichmentLine { print(enrichmentLine) }
            if let privacyLine { print(privacyLine) }
            printParties(parties)
        }

        /// One session on the sample files; wall time and each party's statistics.
        /// - Parameter kind: the analysis (default: `--analysis`).
        func session(
            _ adFP: String, _ pubFP: String, privacy: String?, path: (String) -> String, kind: String? = nil
        ) throws -> (Double, [(name: String, role: String, stats: RunStatistics.Document)]) {
            let n = size, m = peerSize ?? size
            let keys = path("keys")
            let analysis = kind ?? self.analysis
            let yaml = collaboration(adFP, pubFP, port: try freeLoopbackPort(), max: max(n, m), privacy: privacy, kind: analysis)
            try yaml.write(toFile: path("c.yaml"), atomically: true, encoding: .utf8)
            for party in ["advertiser", "publisher"] { try? FileManager.default.removeItem(atPath: path("\(party).ledger.sqlite")) }

            var parties: [(name: String, role: String, stats: RunStatistics.Document)] = []
            let wall: Double
            if transport == "tls" {
                let start = ContinuousClock.now
                var processes: [(String, Process, Pipe)] = []
                for party in ["advertiser", "publisher"] {
                    let p = Process()
                    p.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
                    p.arguments = [
                        "run", path("c.yaml"), "--as", party, "--data", path("\(party).csv"), "--analysis", "bench",
                        "--identity", keys, "--audit", path("audit.jsonl"), "--ledger", path("\(party).ledger.sqlite"), "--stats",
                        path("\(party).stats.json"), "--quiet",
                        "--idle-timeout", "600",
                    ]
                    let out = Pipe()
                    p.standardOutput = out
                    p.standardError = out
                    try p.run()
                    processes.append((party, p, out))
                }
                for (party, p, out) in processes {
                    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                    p.waitUntilExit()
                    guard p.terminationStatus == 0 else {
                        FileHandle.standardError.write(Data("\(party) failed:\n\(text)".utf8))
                        throw ExitCode(1)
                    }
                }
                wall = (ContinuousClock.now - start).seconds
                let c = try Collaboration(yaml: yaml)
                let spec = try c.analysis(named: "bench")
                for party in ["advertiser", "publisher"] {
                    let doc = try JSONDecoder().decode(
                        RunStatistics.Document.self, from: Data(contentsOf: URL(fileURLWithPath: path("\(party).stats.json"))))
                    parties.append((party, "\(spec.role(of: party, in: c))", doc))
                }
            } else {
                let c = try Collaboration(yaml: yaml)
                let spec = try c.analysis(named: "bench")
                let adColumns = ["email"] + (analysis == "intersection-sum" ? Array(["purchase_amount", "quantity"].prefix(columns)) : [])
                let ad = try CSVReader.read(path: path("advertiser.csv"), columns: adColumns)
                let pub = try CSVReader.read(
                    path: path("publisher.csv"),
                    columns: analysis == "enrichment" ? ["email", "campaign", "segment"] : groups == nil ? ["email"] : ["email", "group"])
                let start = ContinuousClock.now
                let a = try PartySession(collaboration: c, analysis: "bench", party: "advertiser", input: ad)
                let b = try PartySession(collaboration: c, analysis: "bench", party: "publisher", input: pub)
                let (_, _, transcript) = try InMemorySession.run(a, b)
                wall = (ContinuousClock.now - start).seconds
                let statistics = RunStatistics().document()
                for party in ["advertiser", "publisher"] {
                    var doc = statistics
                    doc.bytesOut = transcript.filter { $0.from == party }.reduce(0) { $0 + $1.bytes.count }
                    doc.bytesIn = transcript.filter { $0.from != party }.reduce(0) { $0 + $1.bytes.count }
                    doc.wallSeconds = wall
                    doc.stages = []
                    parties.append((party, "\(spec.role(of: party, in: c))", doc))
                }
            }
            return (wall, parties)
        }

        func printParties(_ parties: [(name: String, role: String, stats: RunStatistics.Document)]) {
            let n = size, m = peerSize ?? size
            print("")
            print("party        role  wall s   cpu s  peak RSS MB  B/row   sent MB  received MB")
            for p in parties {
                let rows = p.name == "advertiser" ? n : m
                print(
                    p.name.padding(toLength: 12, withPad: " ", startingAt: 0) + " "
                        + p.role.padding(toLength: 4, withPad: " ", startingAt: 0)
                        + String(
                            format: " %7.2f %7.2f %12.1f %6.0f %9.2f %12.2f", p.stats.wallSeconds,
                            p.stats.cpuUserSeconds + p.stats.cpuSystemSeconds,
                            Double(p.stats.peakResidentBytes) / 1e6, Double(p.stats.peakResidentBytes) / Double(rows),
                            Double(p.stats.bytesOut) / 1e6, Double(p.stats.bytesIn) / 1e6))
            }
            for p in parties where !p.stats.stages.isEmpty {
                print(
                    "stages of \(p.name): "
                        + p.stats.stages.filter { $0.seconds >= 0.005 }.map {
                            String(format: "%@ %.2f s", $0.stage, $0.seconds)
                                + ($0.peakResidentBytes.map { String(format: " (peak %.0f MB)", Double($0) / 1e6) } ?? "")
                        }.joined(separator: ", ")
                        + (p.stats.peakQueuedBytes.map { String(format: "; received frames waiting at most %.1f MB", Double($0) / 1e6) }
                            ?? ""))
            }
            if transport == "memory" { print("(in memory: both parties share one process, so CPU and memory are the process's totals)") }
        }

        /// Appends a column `name` to the sample publisher file, `value(row)` for rows 1, 2, …
        static func addColumn(_ file: String, name: String, value: (Int) -> String) throws {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            var out = ""
            out.reserveCapacity(text.utf8.count * 3 / 2)
            var row = 0
            for line in text.split(separator: "\r\n", omittingEmptySubsequences: true) {
                out += line
                out += "," + (row == 0 ? name : value(row)) + "\r\n"
                row += 1
            }
            try out.write(toFile: file, atomically: true, encoding: .utf8)
        }

        /// A segment of exactly 16 bytes, so that an enrichment carries two 16-byte columns (campaign
        /// names are at most 16 bytes).
        static func segment(row: Int) -> String {
            let hex = String((UInt64(row) &* 0x9E37_79B9_7F4A_7C15) >> 16, radix: 16)  // at most 12 digits
            return "seg-" + String(repeating: "0", count: 12 - hex.count) + hex
        }

        func collaboration(_ ad: String, _ pub: String, port: Int, max: Int, privacy: String?, kind analysis: String) -> String {
            let both = ["advertiser", "publisher"]
            let valueColumns: [CollaborationTemplate.ValueColumn] = [
                .init(name: "purchase_amount", scale: 2, max: "1000.00"), .init(name: "quantity", max: "100"),
            ]
            var bench: CollaborationTemplate.Analysis
            switch analysis {
            case "intersection-sum":
                bench = .intersectionSum(
                    "bench", owner: "advertiser", values: Array(valueColumns.prefix(columns)),
                    grouping: groups.map { .init(party: "publisher", column: "group", minGroupSize: 1, maxGroups: Swift.max($0, 2)) },
                    receivers: both, minIntersection: 1, setSize: 1...max)
            case "enrichment":
                // The publisher's campaign (at most 16 bytes) and the bench's segment (16 bytes).
                bench = .enrichment(
                    "bench", receiver: "advertiser",
                    columns: [.init(name: "campaign", maxBytes: 16), .init(name: "segment", maxBytes: 16)],
                    minIntersection: 1, setSize: 1...max)
            default:
                bench = .cardinality("bench", receivers: both, minIntersection: 1, setSize: 1...max)
            }
            bench.privacyFields = privacy
            return CollaborationTemplate(
                name: "bench",
                parties: [
                    .init(name: "advertiser", certificateSHA256: ad, listen: "127.0.0.1:\(port)"),
                    .init(name: "publisher", certificateSHA256: pub),
                ],
                analyses: [bench]
            ).yaml
        }
    }
}
