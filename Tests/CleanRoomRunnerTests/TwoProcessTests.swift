import CleanRoomCSV
import CleanRoomCrypto
import CleanRoomProtocol
import Foundation
import Testing

@testable import CleanRoomRunner

/// Two real `cleanroom run` processes talking TLS over loopback.
@Suite(.serialized) struct TwoProcessTests {
    /// The `cleanroom` binary next to the test bundle.
    static let binary: String = {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("cleanroom").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/cleanroom").path
    }()

    /// A fresh folder with sample data, two identities and a collaboration file.
    struct Workspace {
        let dir: String
        let collaboration: String
        let port: Int
        func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

        init(rows: Int = 300, overlap: Double = 0.4) throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("cleanroom-it-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try SampleData.write(rows: rows, overlap: overlap, seed: 3, to: dir)
            let ad = try Identity.generate(party: "advertiser", directory: (dir as NSString).appendingPathComponent("keys"))
            let pub = try Identity.generate(party: "publisher", directory: (dir as NSString).appendingPathComponent("keys"))
            port = try TwoProcessTests.freePort()
            collaboration = TwoProcessTests.yaml(ad: ad, pub: pub, port: port, rows: rows)
            try collaboration.write(toFile: (dir as NSString).appendingPathComponent("c.yaml"), atomically: true, encoding: .utf8)
        }

        func remove() { try? FileManager.default.removeItem(atPath: dir) }
    }

    static func yaml(ad: String, pub: String, port: Int, rows: Int, maxSessions: Int? = nil) -> String {
        let both = ["advertiser", "publisher"]
        return CollaborationTemplate(
            name: "integration",
            parties: [
                .init(name: "advertiser", certificateSHA256: ad, listen: "127.0.0.1:\(port)"),
                .init(name: "publisher", certificateSHA256: pub),
            ],
            analyses: [
                .cardinality("overlap", receivers: both, minIntersection: 1, setSize: 1...rows),
                .intersection("shared", receivers: both, minIntersection: 1, setSize: 1...rows),
                .intersectionSum(
                    "spend", owner: "advertiser",
                    values: [.init(name: "purchase_amount", scale: 2, max: "1000.00"), .init(name: "quantity", max: "100")],
                    grouping: .init(party: "publisher", column: "campaign", minGroupSize: 2), statistics: [.count, .sum, .mean],
                    receivers: both, minIntersection: 1, setSize: 1...rows),
                // Only the advertiser receives, so the publisher is P2 and gets DONE (TamperedPeerTests).
                .cardinality("overlap-ad", receivers: ["advertiser"], minIntersection: 1, setSize: 1...rows),
                // The advertiser (P1, the OPRF client) gets the publisher's campaign for its matched rows.
                .enrichment(
                    "enrich", receiver: "advertiser", columns: [.init(name: "campaign", maxBytes: 16)], minIntersection: 1,
                    setSize: 1...rows),
            ], maxSessions: maxSessions
        ).yaml
    }

    static func freePort() throws -> Int { try freeLoopbackPort() }

    /// A running party; output is collected in the background.
    final class Party: @unchecked Sendable {
        let process = Process()
        let output = Pipe()
        private var collected = Data()
        private let lock = NSLock()

        init(_ args: [String]) throws {
            process.executableURL = URL(fileURLWithPath: TwoProcessTests.binary)
            process.arguments = args
            process.standardOutput = output
            process.standardError = output
            output.fileHandleForReading.readabilityHandler = { [weak self] h in
                let d = h.availableData
                guard let self else { return }
                self.lock.withLock { self.collected.append(d) }
            }
            try process.run()
        }

        var text: String { lock.withLock { String(decoding: collected, as: UTF8.self) } }

        func wait() -> Int32 {
            process.waitUntilExit()
            output.fileHandleForReading.readabilityHandler = nil
            lock.withLock { collected.append(output.fileHandleForReading.readDataToEndOfFile()) }
            return process.terminationStatus
        }
    }

    static func party(
        _ w: Workspace, _ name: String, analysis: String, collaboration: String? = nil, audit: String = "audit.jsonl", extra: [String] = []
    ) throws -> Party {
        try Party(
            [
                "run", collaboration ?? w.path("c.yaml"), "--as", name, "--data", w.path("\(name).csv"), "--analysis", analysis,
                "--out", w.path("\(analysis)-\(name).json"), "--identity", w.path("keys"), "--audit", w.path(audit),
                "--ledger", w.path("\(name).ledger.sqlite"),
                "--connect-timeout", "30", "--idle-timeout", "30",
            ] + extra)
    }

    static func tables(_ w: Workspace) throws -> [String: PartyTable] {
        [
            "advertiser": try CSVReader.read(path: w.path("advertiser.csv"), columns: ["email", "purchase_amount", "quantity"]),
            "publisher": try CSVReader.read(path: w.path("publisher.csv"), columns: ["email", "campaign"]),
        ]
    }

    @Test(arguments: ["overlap", "shared", "spend"])
    func everyAnalysisMatchesThePlaintextAnswer(analysis: String) throws {
        let w = try Workspace()
        defer { w.remove() }
        let ad = try Self.party(w, "advertiser", analysis: analysis)
        let pub = try Self.party(w, "publisher", analysis: analysis)
        let (adStatus, pubStatus) = (ad.wait(), pub.wait())
        #expect(adStatus == 0, "advertiser: \(ad.text)")
        #expect(pubStatus == 0, "publisher: \(pub.text)")
        let c = try Collaboration(yaml: w.collaboration)
        let expected = try ReferenceAnswer.compute(c, analysis: analysis, tables: try Self.tables(w))
        for party in ["advertiser", "publisher"] {
            let doc = try JSONDecoder().decode(
                ResultDocument.self, from: Data(contentsOf: URL(fileURLWithPath: w.path("\(analysis)-\(party).json"))))
            #expect(ReferenceAnswer.from(doc.result) == expected, "\(party)")
            if analysis == "shared" {
                #expect(doc.result.matchedRows?.count == 120)
            }
        }
        let audit = try String(contentsOfFile: w.path("audit.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(audit.count == 2 && audit.allSatisfy { $0.contains("\"outcome\":\"completed\"") })
    }

    /// Each party's log is signed with its TLS key; `cleanroom audit verify` checks both logs and
    /// that they record the same sessions, and names the line an edit or a cut touched.
    @Test func auditLogsOfBothPartiesVerifyAgainstEachOther() throws {
        let w = try Workspace(rows: 100)
        defer { w.remove() }
        for analysis in ["overlap", "spend"] {
            let ad = try Self.party(w, "advertiser", analysis: analysis, audit: "ad.jsonl")
            let pub = try Self.party(w, "publisher", analysis: analysis, audit: "pub.jsonl")
            #expect(ad.wait() == 0 && pub.wait() == 0, "\(ad.text)\n\(pub.text)")
        }
        func verify(_ args: [String]) -> (Int32, String) {
            let p = try? Party(["audit", "verify"] + args)
            guard let p else { return (-1, "") }
            return (p.wait(), p.text)
        }
        var (status, text) = verify([
            w.path("ad.jsonl"), "--peer-log", w.path("pub.jsonl"), "--certificate", w.path("keys/advertiser.cert.pem"),
        ])
        #expect(status == 0, "\(text)")
        #expect(text.contains("both logs record the same 2 completed session(s)"), "\(text)")
        // The publisher's log loses its last line: the advertiser's log names the missing session.
        let pubLines = try String(contentsOfFile: w.path("pub.jsonl"), encoding: .utf8).split(separator: "\n")
        try (pubLines.dropLast().joined(separator: "\n") + "\n").write(toFile: w.path("pub-cut.jsonl"), atomically: true, encoding: .utf8)
        (status, text) = verify([w.path("ad.jsonl"), "--peer-log", w.path("pub-cut.jsonl")])
        #expect(status == 1 && text.contains("the peer log has no record of this session"), "\(text)")
        // An edit to the advertiser's first line.
        let adText = try String(contentsOfFile: w.path("ad.jsonl"), encoding: .utf8)
        try adText.replacingOccurrences(of: "\"seq\":0", with: "\"seq\":0 ").write(
            toFile: w.path("ad-edited.jsonl"), atomically: true, encoding: .utf8)
        (status, text) = verify([w.path("ad-edited.jsonl")])
        #expect(status == 1 && text.contains("line 1: the signature does not verify"), "\(text)")
        // The wrong pin.
        (status, text) = verify([w.path("ad.jsonl"), "--certificate", w.path("keys/publisher.cert.pem")])
        #expect(status == 1 && text.contains("line 1: signed by"), "\(text)")
    }

    /// A frozen collaboration is refused before connecting (exit 3, a "refused" audit record)
    /// until `cleanroom collaboration unfreeze`, which leaves its own signed audit record.
    @Test func aFrozenCollaborationIsRefusedUntilUnfrozen() throws {
        let w = try Workspace(rows: 60)
        defer { w.remove() }
        let c = try Collaboration(yaml: w.collaboration)
        try PartyLedger(path: w.path("advertiser.ledger.sqlite")).freeze(
            try CollaborationKey(c, party: "advertiser"), digest: try c.digestHex(), reason: "a test freeze")
        let refused = try Self.party(w, "advertiser", analysis: "overlap", audit: "ad.jsonl")
        #expect(refused.wait() == 3, "\(refused.text)")
        #expect(refused.text.contains("are frozen since") && refused.text.contains("a test freeze"), "\(refused.text)")
        #expect(!FileManager.default.fileExists(atPath: w.path("overlap-advertiser.json")))
        let unfreeze = try Party([
            "collaboration", "unfreeze", w.path("c.yaml"), "--as", "advertiser", "--ledger", w.path("advertiser.ledger.sqlite"),
            "--audit", w.path("ad.jsonl"), "--identity", w.path("keys"),
        ])
        #expect(unfreeze.wait() == 0 && unfreeze.text.contains("unfrozen"), "\(unfreeze.text)")
        let ad = try Self.party(w, "advertiser", analysis: "overlap", audit: "ad.jsonl")
        let pub = try Self.party(w, "publisher", analysis: "overlap", audit: "pub.jsonl")
        #expect(ad.wait() == 0 && pub.wait() == 0, "\(ad.text)\n\(pub.text)")
        let log = AuditLog.verify(contentsOf: Array(try Data(contentsOf: URL(fileURLWithPath: w.path("ad.jsonl")))))
        #expect(log.problems.isEmpty, "\(log.problems)")
        #expect(log.records.map(\.outcome) == ["refused", "unfrozen", "completed"])
        #expect(log.records[1].reason?.contains("a test freeze") == true)
    }

    /// Differencing: with `privacy_budget.max_sessions: 1`, a second session (here with the
    /// publisher's set one customer smaller, which would reveal that customer's membership) is
    /// refused by both parties (exit 3, "refused"). A party whose own ledger was reset is still
    /// refused by the other, in the handshake, before any element is sent.
    @Test func maxSessionsRefusesTheSecondSessionInTheHandshake() throws {
        let w = try Workspace(rows: 80)
        defer { w.remove() }
        let c = try Collaboration(yaml: w.collaboration)
        let limited = Self.yaml(
            ad: try c.party(named: "advertiser").certificateSHA256, pub: try c.party(named: "publisher").certificateSHA256, port: w.port,
            rows: 80, maxSessions: 1)
        try limited.write(toFile: w.path("limited.yaml"), atomically: true, encoding: .utf8)
        func session(audit: (String, String)) throws -> (ad: Party, pub: Party, codes: (Int32, Int32)) {
            let ad = try Self.party(w, "advertiser", analysis: "overlap", collaboration: w.path("limited.yaml"), audit: audit.0)
            let pub = try Self.party(w, "publisher", analysis: "overlap", collaboration: w.path("limited.yaml"), audit: audit.1)
            let codes = (ad.wait(), pub.wait())
            return (ad, pub, codes)
        }
        let first = try session(audit: ("ad.jsonl", "pub.jsonl"))
        #expect(first.codes == (0, 0), "\(first.ad.text)\n\(first.pub.text)")
        // The publisher drops one customer and tries again.
        // (CRLF line ends: split the bytes, since Swift takes "\r\n" as one Character.)
        var lines = Array(try Data(contentsOf: URL(fileURLWithPath: w.path("publisher.csv")))).split(
            separator: 0x0A, omittingEmptySubsequences: false)
        #expect(lines.count > 3)
        lines.remove(at: 1)
        try Data(Array(lines.joined(separator: [0x0A]))).write(to: URL(fileURLWithPath: w.path("publisher.csv")))
        let second = try session(audit: ("ad.jsonl", "pub.jsonl"))
        #expect(second.codes == (3, 3), "\(second.ad.text)\n\(second.pub.text)")
        #expect(second.ad.text.contains("privacy_budget.max_sessions reached"), "\(second.ad.text)")
        #expect(!FileManager.default.fileExists(atPath: w.path("overlap-advertiser.json.tmp")))
        let adLog = try String(contentsOfFile: w.path("ad.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(adLog.count == 2, "\(adLog)")
        #expect(adLog.last?.contains("\"outcome\":\"refused\"") == true && adLog.last?.contains("\"stage\":\"policy\"") == true)
        // The publisher resets its own ledger: the advertiser still refuses, in the handshake.
        try FileManager.default.removeItem(atPath: w.path("publisher.ledger.sqlite"))
        let third = try session(audit: ("ad.jsonl", "pub.jsonl"))
        #expect(third.codes == (3, 3), "\(third.ad.text)\n\(third.pub.text)")
        #expect(third.pub.text.contains("peer aborted (code 3)") && third.pub.text.contains("max_sessions reached"), "\(third.pub.text)")
        let pubLog = try String(contentsOfFile: w.path("pub.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(pubLog.last?.contains("\"outcome\":\"refused\"") == true, "\(pubLog)")
        // Refused sessions sent no element: they are not counted; the publisher's fresh ledger
        // gave its reservation back.
        let key = try CollaborationKey(try Collaboration(yaml: limited), party: "advertiser")
        #expect(try PartyLedger(path: w.path("advertiser.ledger.sqlite")).sessionCount(key, analysis: "overlap") == 1)
        let pubKey = try CollaborationKey(try Collaboration(yaml: limited), party: "publisher")
        #expect(try PartyLedger(path: w.path("publisher.ledger.sqlite")).sessionCount(pubKey, analysis: "overlap") == 0)
        // `cleanroom budget show` reports the advertiser's count.
        let show = try Party(["budget", "show", "--ledger", w.path("advertiser.ledger.sqlite"), "--json"])
        #expect(show.wait() == 0, "\(show.text)")
        #expect(show.text.contains(#""sessions" : 1"#) && show.text.contains(#""analysis" : "overlap""#), "\(show.text)")
    }

    /// The ε budget: P1 (the advertiser, listener) spends ε = 0.6 per noisy cardinality out of a
    /// budget of 1, so the second session is refused in the handshake by P1 (the publisher, which
    /// releases nothing and spends nothing, learns why from the ABORT); both results of the first
    /// carry the same noisy count.
    @Test func theEpsilonBudgetRefusesTheSessionThatWouldExceedIt() throws {
        let w = try Workspace(rows: 80)
        defer { w.remove() }
        let noisy = w.collaboration.replacingOccurrences(
            of: "  - name: overlap\n    kind: cardinality\n",
            with: "  - name: overlap\n    kind: cardinality\n    privacy: { mechanism: laplace, epsilon: 0.6 }\n"
        ).replacingOccurrences(of: "analyses:", with: "privacy_budget:\n  epsilon: 1\nanalyses:")
        #expect(try Collaboration(yaml: noisy).privacyBudget?.epsilonMicros == 1_000_000)
        try noisy.write(toFile: w.path("noisy.yaml"), atomically: true, encoding: .utf8)
        func session() throws -> (ad: Party, pub: Party) {
            let ad = try Self.party(w, "advertiser", analysis: "overlap", collaboration: w.path("noisy.yaml"))
            let pub = try Self.party(w, "publisher", analysis: "overlap", collaboration: w.path("noisy.yaml"))
            _ = (ad.wait(), pub.wait())
            return (ad, pub)
        }
        let first = try session()
        #expect(first.ad.process.terminationStatus == 0 && first.pub.process.terminationStatus == 0, "\(first.ad.text)\n\(first.pub.text)")
        let results = try ["advertiser", "publisher"].map {
            try JSONDecoder().decode(ResultDocument.self, from: Data(contentsOf: URL(fileURLWithPath: w.path("overlap-\($0).json")))).result
        }
        #expect(results[0].intersectionSize == results[1].intersectionSize)
        #expect(results[0].privacy?.epsilon == "0.6" && results[1].privacy == results[0].privacy)
        let second = try session()
        #expect(
            second.ad.process.terminationStatus == 3 && second.pub.process.terminationStatus == 3, "\(second.ad.text)\n\(second.pub.text)")
        #expect(second.ad.text.contains("privacy_budget.epsilon exhausted") && second.ad.text.contains("ε = 0.6 of 1"), "\(second.ad.text)")
        #expect(second.pub.text.contains("peer aborted (code 3)"), "\(second.pub.text)")
    }

    /// The δ budget: P1 of a grouped noisy sum (the publisher) spends the partition selection's
    /// δ = 10⁻⁹ (plus 10⁻¹⁵ for clamping) per session out of 1.5·10⁻⁹, so it refuses the second
    /// session in the handshake; P2 (the advertiser) spends only the clamping's 10⁻¹⁵.
    @Test func theDeltaBudgetRefusesTheSessionThatWouldExceedIt() throws {
        let w = try Workspace(rows: 300)
        defer { w.remove() }
        let noisy = w.collaboration.replacingOccurrences(
            of: "  - name: spend\n    kind: intersection-sum\n",
            with:
                "  - name: spend\n    kind: intersection-sum\n    privacy: { mechanism: laplace, epsilon: 1, delta: 1e-9, max_rows_per_identifier: 1 }\n"
        ).replacingOccurrences(of: "analyses:", with: "privacy_budget:\n  delta: 0.0000000015\nanalyses:")
        #expect(try Collaboration(yaml: noisy).privacyBudget?.deltaFemtos == 1_500_000)
        try noisy.write(toFile: w.path("noisy.yaml"), atomically: true, encoding: .utf8)
        func session() throws -> (ad: Party, pub: Party) {
            let ad = try Self.party(w, "advertiser", analysis: "spend", collaboration: w.path("noisy.yaml"))
            let pub = try Self.party(w, "publisher", analysis: "spend", collaboration: w.path("noisy.yaml"))
            _ = (ad.wait(), pub.wait())
            return (ad, pub)
        }
        let first = try session()
        #expect(first.ad.process.terminationStatus == 0 && first.pub.process.terminationStatus == 0, "\(first.ad.text)\n\(first.pub.text)")
        let result = try JSONDecoder().decode(
            ResultDocument.self, from: Data(contentsOf: URL(fileURLWithPath: w.path("spend-publisher.json")))
        )
        .result
        #expect(result.privacy?.mechanism == "laplace" && result.privacy?.threshold != nil)
        let second = try session()
        #expect(
            second.ad.process.terminationStatus == 3 && second.pub.process.terminationStatus == 3, "\(second.ad.text)\n\(second.pub.text)")
        #expect(second.pub.text.contains("privacy_budget.delta exhausted"), "\(second.pub.text)")
        #expect(second.ad.text.contains("peer aborted (code 3)"), "\(second.ad.text)")
        let show = try Party(["budget", "show", "--ledger", w.path("publisher.ledger.sqlite"), "--collaboration", w.path("noisy.yaml")])
        _ = show.wait()
        #expect(show.text.contains("δ spent 0.000000001000001"), "\(show.text)")
        #expect(show.text.contains("left"), "\(show.text)")
    }

    @Test func peerKilledMidStreamFailsTheOtherSideAndLeavesNoResult() throws {
        let w = try Workspace(rows: 40_000)
        defer { w.remove() }
        let ad = try Self.party(w, "advertiser", analysis: "overlap", extra: ["--batch-size", "32"])
        let pub = try Self.party(w, "publisher", analysis: "overlap", extra: ["--batch-size", "32", "--progress"])
        let deadline = Date().addingTimeInterval(60)
        while !pub.text.contains("exchanging elements") && Date() < deadline && pub.process.isRunning { usleep(2000) }
        #expect(pub.process.isRunning, "publisher finished before it could be killed: \(pub.text)")
        kill(pub.process.processIdentifier, SIGKILL)
        _ = pub.wait()
        let status = ad.wait()
        #expect(status != 0)
        #expect(ad.text.contains("peer"), "advertiser said: \(ad.text)")
        #expect(!FileManager.default.fileExists(atPath: w.path("overlap-advertiser.json")))
        #expect(!FileManager.default.fileExists(atPath: w.path("overlap-publisher.json")))
        let audit = try String(contentsOfFile: w.path("audit.jsonl"), encoding: .utf8)
        #expect(audit.contains("\"outcome\":\"failed\""))
        // The killed party's session stays counted in its ledger (a crash refunds nothing), and so
        // does the survivor's: both had sent elements.
        let c = try Collaboration(yaml: w.collaboration)
        for party in ["publisher", "advertiser"] {
            let ledger = try PartyLedger(path: w.path("\(party).ledger.sqlite"))
            #expect(try ledger.sessionCount(try CollaborationKey(c, party: party), analysis: "overlap") == 1, "\(party)")
        }
    }

    @Test func wrongCertificateIsRefusedByTheHandshake() throws {
        let w = try Workspace()
        defer { w.remove() }
        // The publisher replaces its identity with one the collaboration file does not pin, and
        // edits its own copy of the file to pin the new certificate for itself.
        let other = w.path("other")
        let fp = try Identity.generate(party: "publisher", directory: other)
        let c = try Collaboration(yaml: w.collaboration)
        let theirs = w.collaboration.replacingOccurrences(of: try c.party(named: "publisher").certificateSHA256, with: fp)
        try theirs.write(toFile: w.path("theirs.yaml"), atomically: true, encoding: .utf8)
        let ad = try Self.party(w, "advertiser", analysis: "overlap")
        let pub = try Party(
            [
                "run", w.path("theirs.yaml"), "--as", "publisher", "--data", w.path("publisher.csv"), "--analysis", "overlap",
                "--out", w.path("overlap-publisher.json"), "--identity", other, "--audit", w.path("audit.jsonl"), "--ledger",
                w.path("publisher.ledger.sqlite"), "--connect-timeout", "20",
            ])
        let (adStatus, pubStatus) = (ad.wait(), pub.wait())
        #expect(adStatus != 0 && pubStatus != 0)
        #expect(ad.text.contains("TLS handshake") && ad.text.contains(fp), "advertiser: \(ad.text)")
        #expect(pub.text.contains("TLS handshake"), "publisher: \(pub.text)")
        #expect(!FileManager.default.fileExists(atPath: w.path("overlap-advertiser.json")))
    }

    @Test func mismatchedCollaborationFilesAbortWithBothDigests() throws {
        let w = try Workspace()
        defer { w.remove() }
        let changed = w.collaboration.replacingOccurrences(
            of: "min_intersection: 1\n    set_size", with: "min_intersection: 2\n    set_size")
        #expect(changed != w.collaboration)
        try changed.write(toFile: w.path("changed.yaml"), atomically: true, encoding: .utf8)
        let ad = try Self.party(w, "advertiser", analysis: "overlap")
        let pub = try Self.party(w, "publisher", analysis: "overlap", collaboration: w.path("changed.yaml"))
        let (adStatus, pubStatus) = (ad.wait(), pub.wait())
        #expect(adStatus != 0 && pubStatus != 0)
        let d1 = try Collaboration(yaml: w.collaboration).digestHex(), d2 = try Collaboration(yaml: changed).digestHex()
        for p in [ad, pub] { #expect(p.text.contains(d1) && p.text.contains(d2), "\(p.text)") }
    }

    @Test func malformedCSVFailsBeforeConnecting() throws {
        let w = try Workspace()
        defer { w.remove() }
        var csv = try String(contentsOfFile: w.path("advertiser.csv"), encoding: .utf8)
        csv += "broken@x.com,12,5x,3\r\n"
        try csv.write(toFile: w.path("advertiser.csv"), atomically: true, encoding: .utf8)
        let ad = try Self.party(w, "advertiser", analysis: "spend", extra: ["--connect-timeout", "2"])
        #expect(ad.wait() == 1)
        #expect(ad.text.contains("input data") && ad.text.contains("line 302"), "\(ad.text)")
        #expect(!FileManager.default.fileExists(atPath: w.path("spend-advertiser.json")))
    }

    @Test func policyRefusalExitsWithItsOwnStatus() throws {
        let w = try Workspace(rows: 50)
        defer { w.remove() }
        let tight = w.collaboration.replacingOccurrences(of: "advertiser: { min: 1, max: 50 }", with: "advertiser: { min: 1, max: 20 }")
        #expect(tight != w.collaboration)
        try tight.write(toFile: w.path("tight.yaml"), atomically: true, encoding: .utf8)
        let ad = try Self.party(w, "advertiser", analysis: "overlap", collaboration: w.path("tight.yaml"))
        #expect(ad.wait() == 3)
        #expect(ad.text.contains("policy"), "\(ad.text)")
        let audit = try String(contentsOfFile: w.path("audit.jsonl"), encoding: .utf8)
        #expect(audit.contains("\"outcome\":\"refused\""))
    }

    @Test func addressInUseIsNamed() throws {
        let w = try Workspace(rows: 20)
        defer { w.remove() }
        let blocker = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(blocker) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(w.port).bigEndian
        let bound = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(blocker, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        #expect(bound && listen(blocker, 1) == 0)
        let ad = try Self.party(w, "advertiser", analysis: "overlap")
        #expect(ad.wait() != 0)
        #expect(ad.text.contains("already in use"), "\(ad.text)")
    }
}
