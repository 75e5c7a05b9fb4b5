import CleanRoomCrypto
import CleanRoomProtocol
import Foundation
import Testing

@testable import CleanRoomRunner

/// The audit log: hash-chained, signed with the party's TLS key, checked against the peer's log.
@Suite struct AuditLogTests {
    struct Keys {
        let dir: String
        let signer: RecordSigner
        let fingerprint: String
        init(_ party: String) throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("cleanroom-audit-\(UUID().uuidString)").path
            fingerprint = try Identity.generate(party: party, directory: dir)
            signer = try RecordSigner(
                privateKeyPEM: String(contentsOfFile: (dir as NSString).appendingPathComponent("\(party).key.pem"), encoding: .utf8),
                certificatePEM: String(contentsOfFile: (dir as NSString).appendingPathComponent("\(party).cert.pem"), encoding: .utf8))
        }
    }

    static func record(_ n: Int, outcome: String = "completed", transcript: String? = nil) -> AuditRecord {
        var r = AuditRecord(party: "advertiser", outcome: outcome)
        r.analysis = "overlap-\(n)"
        r.learned = "overlap: \(100 + n)"
        r.peer = "publisher"
        if let transcript {
            r.transcript = TranscriptSummary(
                sha256: transcript, listenerSHA256: transcript, connectorSHA256: transcript, framesSent: 3, framesReceived: 3)
        }
        return r
    }

    /// Writes `count` signed records to a fresh log and returns its path.
    static func log(_ keys: Keys, count: Int) throws -> String {
        let path = (keys.dir as NSString).appendingPathComponent("audit.jsonl")
        for n in 0..<count { try record(n).append(to: path, signer: keys.signer) }
        return path
    }

    static func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    static func verify(_ lines: [String], pin: String? = nil) -> AuditLog.Report {
        AuditLog.verify(contentsOf: Array((lines.joined(separator: "\n") + "\n").utf8), certificateSHA256: pin)
    }

    @Test func aSignedChainVerifies() throws {
        let keys = try Keys("advertiser")
        let path = try Self.log(keys, count: 3)
        let lines = try Self.lines(path)
        let report = Self.verify(lines, pin: keys.fingerprint)
        #expect(report.problems.isEmpty, "\(report.problems)")
        #expect(report.records.map(\.seq) == [0, 1, 2])
        #expect(report.records[0].prev == String(repeating: "0", count: 64))
        #expect(report.records[2].prev == Hex.encode(try SHA256.hash(Array(lines[1].utf8))))
        #expect(report.signers == [keys.fingerprint] && report.unsigned.isEmpty)
    }

    @Test func anAlteredLineFailsItsSignatureEvenWithTheChainRecomputed() throws {
        let keys = try Keys("advertiser")
        var lines = try Self.lines(try Self.log(keys, count: 3))
        lines[1] = lines[1].replacingOccurrences(of: "overlap: 101", with: "overlap: 999")
        var report = Self.verify(lines)
        #expect(report.problems.contains { $0.hasPrefix("line 2: the signature does not verify") }, "\(report.problems)")
        #expect(report.problems.contains { $0.hasPrefix("line 3: prev does not match") }, "\(report.problems)")
        // Recomputing line 3's prev does not help: line 3's signature covers it.
        let newPrev = Hex.encode(try SHA256.hash(Array(lines[1].utf8)))
        let oldPrev = try #require(report.records[2].prev)
        lines[2] = lines[2].replacingOccurrences(of: oldPrev, with: newPrev)
        report = Self.verify(lines)
        #expect(report.problems.contains { $0.hasPrefix("line 2: the signature does not verify") })
        #expect(report.problems.contains { $0.hasPrefix("line 3: the signature does not verify") })
    }

    @Test func aRemovedOrInsertedLineBreaksTheChain() throws {
        let keys = try Keys("advertiser")
        let lines = try Self.lines(try Self.log(keys, count: 3))
        let removed = Self.verify([lines[0], lines[2]])
        #expect(removed.problems.contains { $0.hasPrefix("line 2: prev does not match") }, "\(removed.problems)")
        #expect(removed.problems.contains { $0.hasPrefix("line 2: seq is 2, expected 1") })
        // An unsigned line slipped in between.
        let forged = #"{"outcome":"completed","party":"advertiser","prev":"\#(String(repeating: "0", count: 64))","seq":1,"time":"x"}"#
        let inserted = Self.verify([lines[0], forged, lines[1], lines[2]])
        #expect(inserted.problems.contains { $0.hasPrefix("line 2: prev does not match") })
        #expect(inserted.problems.contains { $0.hasPrefix("line 3: prev does not match") })
        #expect(inserted.unsigned == [2])
    }

    @Test func aLineSignedByAnotherKeyIsRefusedUnderThePin() throws {
        let keys = try Keys("advertiser")
        let intruder = try Keys("advertiser")
        let path = try Self.log(keys, count: 2)
        try Self.record(2).append(to: path, signer: intruder.signer)
        let lines = try Self.lines(path)
        #expect(Self.verify(lines).problems.isEmpty)  // a valid chain, two signers
        #expect(Self.verify(lines).signers == [keys.fingerprint, intruder.fingerprint])
        let pinned = Self.verify(lines, pin: keys.fingerprint)
        #expect(pinned.problems == ["line 3: signed by \(intruder.fingerprint), not by \(keys.fingerprint)"])
    }

    @Test func aSignerFieldWithoutSignatureAndABadCertificateAreProblems() throws {
        let keys = try Keys("advertiser")
        let lines = try Self.lines(try Self.log(keys, count: 1))
        let stripped = lines[0].replacingOccurrences(of: #","signature":"[^"]*"\}$"#, with: "}", options: .regularExpression)
        #expect(Self.verify([stripped]).problems == ["line 1: names a signer but carries no signature"])
        let other = try Keys("publisher")
        let swapped = lines[0].replacingOccurrences(
            of: Data(keys.signer.certificateDER).base64EncodedString(), with: Data(other.signer.certificateDER).base64EncodedString())
        #expect(Self.verify([swapped]).problems.contains { $0.contains("does not match signer_sha256") })
    }

    /// Under a pin, a line stripped of its signature (and rewritten) is a problem, unless unsigned
    /// lines are explicitly allowed (runs that failed before the key could be read).
    @Test func anUnsignedLineFailsUnderThePin() throws {
        let keys = try Keys("advertiser")
        let lines = try Self.lines(try Self.log(keys, count: 2))
        let stripped = lines[1].replacingOccurrences(of: #","signature":"[^"]*"\}$"#, with: "}", options: .regularExpression)
            .replacingOccurrences(of: #""signer_certificate":"[^"]*","#, with: "", options: .regularExpression)
            .replacingOccurrences(of: #""signer_sha256":"[^"]*","#, with: "", options: .regularExpression)
            .replacingOccurrences(of: "overlap: 101", with: "overlap: 999")
        #expect(!stripped.contains("signature") && !stripped.contains("signer"), "\(stripped)")
        #expect(Self.verify([lines[0], stripped]).problems.isEmpty)  // unpinned: listed as unsigned only
        #expect(Self.verify([lines[0], stripped]).unsigned == [2])
        let pinned = AuditLog.verify(contentsOf: Array((lines[0] + "\n" + stripped + "\n").utf8), certificateSHA256: keys.fingerprint)
        #expect(pinned.problems.count == 1 && pinned.problems[0].hasPrefix("line 2: unsigned"), "\(pinned.problems)")
        let allowed = AuditLog.verify(
            contentsOf: Array((lines[0] + "\n" + stripped + "\n").utf8), certificateSHA256: keys.fingerprint, allowUnsigned: true)
        #expect(allowed.problems.isEmpty)
    }

    /// A line cut short (a crash mid-write) is not glued to the next record: it stays a line of its
    /// own, which verify names.
    @Test func aTornLastLineIsNotGluedToTheNextRecord() throws {
        let keys = try Keys("advertiser")
        let path = try Self.log(keys, count: 1)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"outcome":"comp"#.utf8))
        try handle.close()
        try Self.record(1).append(to: path, signer: keys.signer)
        let lines = try Self.lines(path)
        #expect(lines.count == 3 && lines[1] == #"{"outcome":"comp"#, "\(lines)")
        let report = Self.verify(lines)
        #expect(report.problems.contains("line 2: not an audit record"), "\(report.problems)")
        #expect(!report.problems.contains { $0.hasPrefix("line 3: the signature") })
    }

    @Test func theLogsOfBothPartiesAreCheckedAgainstEachOther() throws {
        let ad = try Keys("advertiser")
        let pub = try Keys("publisher")
        let adPath = (ad.dir as NSString).appendingPathComponent("audit.jsonl")
        let pubPath = (pub.dir as NSString).appendingPathComponent("audit.jsonl")
        for n in 0..<3 {
            let t = String(repeating: "\(n)", count: 64)
            var a = Self.record(n, transcript: t)
            a.peerCertificateSHA256 = pub.fingerprint
            try a.append(to: adPath, signer: ad.signer)
            var p = Self.record(n, transcript: t)
            p.party = "publisher"
            p.peer = "advertiser"
            p.peerCertificateSHA256 = ad.fingerprint
            try p.append(to: pubPath, signer: pub.signer)
        }
        let adReport = Self.verify(try Self.lines(adPath))
        let pubLines = try Self.lines(pubPath)
        #expect(AuditLog.crossCheck(adReport, Self.verify(pubLines)).isEmpty)
        // The publisher cuts its last record off: its own chain still verifies, but the
        // advertiser's log shows the missing session.
        let cut = Self.verify(Array(pubLines.dropLast()))
        #expect(cut.problems.isEmpty)
        let problems = AuditLog.crossCheck(adReport, cut)
        #expect(problems.count == 1 && problems[0].contains("the peer log has no record of this session"), "\(problems)")
    }

    @Test func theTranscriptHashIsTheSameFromBothEnds() throws {
        let listener = try TranscriptDigest(listens: true)
        let connector = try TranscriptDigest(listens: false)
        let hello = Frame(type: .hello, payload: [1, 2, 3])
        let reply = Frame(type: .setSize, payload: [4, 5])
        listener.sent(hello.encoded())
        connector.received(hello)
        connector.sent(reply.encoded())
        listener.received(reply)
        let a = try #require(try listener.summary())
        let b = try #require(try connector.summary())
        #expect(a.sha256 == b.sha256 && a.listenerSHA256 == b.listenerSHA256)
        #expect(a.framesSent == 1 && a.framesReceived == 1)
        connector.received(Frame(type: .done, payload: []))
        #expect(try connector.summary()?.sha256 != a.sha256)
        #expect(try TranscriptDigest(listens: true).summary() == nil)
    }
}
