// The audit log: one JSON line per run, each chained to the line before it by hash and signed with
// the party's TLS key, and each session's line carrying a hash of the session transcript that the
// peer's log carries too. Whoever can edit the file can still delete it or cut its tail (a
// signature cannot stop that), but cannot alter or insert a record, and a cut-off session shows up
// when the two parties' logs are checked against each other (`cleanroom audit verify`).
import CleanRoomCrypto
import CleanRoomProtocol
import Foundation

/// One line of the audit log (JSON Lines).
public struct AuditRecord: Codable, Sendable {
    public var time: String
    public var collaboration: String?
    public var collaborationDigest: String?
    public var analysis: String?
    public var party: String
    public var peer: String?
    public var peerCertificateSHA256: String?
    public var ownUniqueIdentifiers: Int?
    public var peerUniqueIdentifiers: Int?
    /// What this party learned, in words (never row-level data).
    public var learned: String?
    /// completed, refused (policy) or failed.
    public var outcome: String
    public var stage: String?
    public var reason: String?
    /// What the peer did that an honest peer cannot, found without aborting (the collaboration was
    /// then frozen).
    public var anomalies: [String]?
    /// The session's frames, hashed, once a connection carried any.
    public var transcript: TranscriptSummary?
    /// Position in the log, from 0 (set when appended).
    public var seq: Int?
    /// SHA-256 of the previous line (without its newline), 64 zeros for the first (set when appended).
    public var prev: String?
    /// SHA-256 of the signer's certificate, and the certificate (DER, base64), when signed.
    public var signerSHA256: String?
    public var signerCertificate: String?

    enum CodingKeys: String, CodingKey {
        case time, collaboration
        case collaborationDigest = "collaboration_digest"
        case analysis, party, peer
        case peerCertificateSHA256 = "peer_certificate_sha256"
        case ownUniqueIdentifiers = "own_unique_identifiers"
        case peerUniqueIdentifiers = "peer_unique_identifiers"
        case learned, outcome, stage, reason, anomalies, transcript, seq, prev
        case signerSHA256 = "signer_sha256"
        case signerCertificate = "signer_certificate"
    }

    public init(party: String, outcome: String) {
        self.time = ISO8601DateFormatter().string(from: Date())
        self.party = party
        self.outcome = outcome
    }

    /// A summary of a result for the audit log.
    public static func learned(_ r: SessionResult) -> String {
        var parts: [String] = []
        parts.append("overlap: \(r.intersectionSize?.description ?? "not revealed")")
        if let rows = r.matchedRows { parts.append("\(rows.count) matched rows") }
        if let e = r.enrichment { parts.append("\(e.rows.count) enriched rows (\(e.columns.joined(separator: ", ")))") }
        if let g = r.groups { parts.append("\(g.count) group result(s)") }
        if let s = r.suppressedGroups, s > 0 { parts.append("\(s) group(s) suppressed") }
        return parts.joined(separator: "; ")
    }

    /// Checks that the audit log can be opened for appending (creating it if missing), so a run
    /// that could not record itself fails before it starts.
    public static func checkWritable(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        guard fd >= 0 else { throw RunnerError(.output, "cannot open the audit log \(path): \(String(cString: strerror(errno)))") }
        close(fd)
    }

    /// Appends the record to `path`, chained to the last line and signed by `signer` when given.
    public func append(to path: String, signer: RecordSigner?) throws {
        try AuditLog.append(self, to: path, signer: signer)
    }
}

/// The hashes of what crossed a session's connection: SHA-256 of every frame the listener sent, in
/// order, and of every frame the connector sent, and one hash over both that the two parties'
/// records share when the session completed.
public struct TranscriptSummary: Codable, Sendable, Equatable {
    /// SHA-256("CleanRoom-v1 transcript" ‖ 0x00 ‖ listener's hash ‖ connector's hash), hex.
    public var sha256: String
    public var listenerSHA256: String
    public var connectorSHA256: String
    public var framesSent: Int
    public var framesReceived: Int

    enum CodingKeys: String, CodingKey {
        case sha256
        case listenerSHA256 = "listener_sha256"
        case connectorSHA256 = "connector_sha256"
        case framesSent = "frames_sent"
        case framesReceived = "frames_received"
    }
}

/// Hashes a session's frames as they are sent and received (the runner feeds it).
public final class TranscriptDigest: @unchecked Sendable {
    private let lock = NSLock()
    private let sent: SHA256Stream
    private let received: SHA256Stream
    private var framesSent = 0
    private var framesReceived = 0
    /// True when this party listens (its sent frames are the listener's).
    public let listens: Bool

    public init(listens: Bool) throws {
        self.listens = listens
        sent = try SHA256Stream()
        received = try SHA256Stream()
    }

    /// Adds a frame this party sent (its encoding).
    func sent(_ bytes: [UInt8]) {
        lock.withLock {
            sent.update(bytes)
            framesSent += 1
            if bytes.count > 1, ![MessageType.hello, .setSize, .abort].contains(MessageType(rawValue: bytes[1])) { beyondHandshake = true }
        }
    }

    private var beyondHandshake = false
    /// True once this party sent anything beyond HELLO, SET_SIZE and ABORT (an element or an
    /// answer): from then on a session counts against the party's limits even if it fails.
    public var sentBeyondHandshake: Bool { lock.withLock { beyondHandshake } }

    /// Adds a frame the peer sent.
    func received(_ frame: Frame) {
        lock.withLock {
            received.update(frame.header)
            received.update(frame.payload)
            framesReceived += 1
        }
    }

    /// The hashes so far; nil before any frame crossed.
    public func summary() throws -> TranscriptSummary? {
        try lock.withLock {
            guard framesSent + framesReceived > 0 else { return nil }
            let own = try sent.digest()
            let peer = try received.digest()
            let (listener, connector) = listens ? (own, peer) : (peer, own)
            let both = try SHA256.hash(Array("CleanRoom-v1 transcript".utf8), [0], listener, connector)
            return TranscriptSummary(
                sha256: Hex.encode(both), listenerSHA256: Hex.encode(listener), connectorSHA256: Hex.encode(connector),
                framesSent: framesSent, framesReceived: framesReceived)
        }
    }
}

/// Appending to and verifying the audit log.
public enum AuditLog {
    static let signatureKey = Array(#","signature":""#.utf8)
    static let genesis = String(repeating: "0", count: 64)

    /// Appends `record` as one line: chained to the last line (`prev`, `seq`), signed by `signer`
    /// when given. The file is locked while the last line is read and the new one written, so
    /// concurrent runs keep one chain.
    static func append(_ record: AuditRecord, to path: String, signer: RecordSigner?) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_APPEND, 0o600)
        guard fd >= 0 else { throw RunnerError(.output, "cannot open the audit log \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard flock(fd, LOCK_EX) == 0 else { throw RunnerError(.output, "cannot lock the audit log \(path)") }
        defer { flock(fd, LOCK_UN) }
        var record = record
        if let last = try lastLine(fd) {
            record.prev = Hex.encode(try SHA256.hash(last))
            let previous = try? JSONDecoder().decode(AuditRecord.self, from: Data(last))
            record.seq = (previous?.seq ?? -1) + 1
        } else {
            record.prev = genesis
            record.seq = 0
        }
        if let signer {
            record.signerSHA256 = signer.fingerprint
            record.signerCertificate = Data(signer.certificateDER).base64EncodedString()
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var line = Array(try encoder.encode(record))
        if let signer {
            // The signature covers the line as it would be without it; it goes last, so a verifier
            // recovers the signed bytes exactly by cutting it out again.
            let signature = try signer.sign(line)
            line.removeLast()  // "}"
            line += signatureKey + Array(Data(signature).base64EncodedString().utf8) + Array(#""}"#.utf8)
        }
        line.append(0x0A)
        // A line cut short by a crash is left as it is (verify names it), never glued to this one.
        if try lastByte(fd).map({ $0 != 0x0A }) ?? false { line.insert(0x0A, at: 0) }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else { throw RunnerError(.output, "cannot append to the audit log \(path)") }
        guard fsync(fd) == 0 else { throw RunnerError(.output, "cannot sync the audit log \(path)") }
    }

    /// The file's last byte; nil for an empty file.
    private static func lastByte(_ fd: Int32) throws -> UInt8? {
        let size = lseek(fd, 0, SEEK_END)
        guard size > 0 else { return nil }
        var byte: UInt8 = 0
        guard pread(fd, &byte, 1, size - 1) == 1 else { throw RunnerError(.output, "cannot read the audit log") }
        return byte
    }

    /// The last complete line of the file open as `fd`, without its newline; nil for an empty file.
    private static func lastLine(_ fd: Int32) throws -> [UInt8]? {
        let size = lseek(fd, 0, SEEK_END)
        guard size > 0 else { return nil }
        // Lines are a few kilobytes; read back until a newline before the last one turns up.
        var window = 1 << 16
        while true {
            let start = max(0, Int(size) - window)
            var buffer = [UInt8](repeating: 0, count: Int(size) - start)
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(start)) }
            guard n == buffer.count else { throw RunnerError(.output, "cannot read the audit log") }
            if buffer.last == 0x0A { buffer.removeLast() }
            if let newline = buffer.lastIndex(of: 0x0A) { return Array(buffer[(newline + 1)...]) }
            if start == 0 { return buffer }
            window *= 4
        }
    }

    /// What `verify` found in one log.
    public struct Report: Sendable {
        public var records: [AuditRecord] = []
        /// Problems, each naming its line (1-based); empty when the log verifies.
        public var problems: [String] = []
        /// Lines without a signature (runs that failed before the party's key could be read).
        public var unsigned: [Int] = []
        /// Certificate fingerprints that signed lines, in order of first appearance.
        public var signers: [String] = []
    }

    /// Verifies a log: every line parses, `seq` counts up from 0, `prev` is the hash of the line
    /// before, every signature verifies with the certificate it names, and, when `certificateSHA256`
    /// is given, every line was signed by that certificate: an unsigned line is then a problem too
    /// (whoever edits the file could otherwise strip a line's signature and rewrite it), unless
    /// `allowUnsigned` (runs that failed before the key could be read leave unsigned lines).
    public static func verify(contentsOf data: [UInt8], certificateSHA256: String? = nil, allowUnsigned: Bool = false) -> Report {
        var report = Report()
        var lines = data.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        if lines.last?.isEmpty == true { lines.removeLast() }
        var previous: [UInt8]?
        for (index, line) in lines.enumerated() {
            let number = index + 1
            defer { previous = line }
            guard let record = try? JSONDecoder().decode(AuditRecord.self, from: Data(line)) else {
                report.problems.append("line \(number): not an audit record")
                continue
            }
            report.records.append(record)
            let expectedPrev = previous.map { (try? SHA256.hash($0)).map(Hex.encode) ?? "" } ?? genesis
            if record.prev != expectedPrev {
                report.problems.append(
                    record.prev == nil
                        ? "line \(number): not chained (no prev)"
                        : "line \(number): prev does not match the hash of line \(number - 1): a line was altered, inserted or removed")
            }
            if record.seq != index {
                report.problems.append("line \(number): seq is \(record.seq.map(String.init) ?? "missing"), expected \(index)")
            }
            guard let (message, signature) = splitSignature(line) else {
                report.unsigned.append(number)
                if record.signerSHA256 != nil {
                    report.problems.append("line \(number): names a signer but carries no signature")
                } else if certificateSHA256 != nil && !allowUnsigned {
                    report.problems.append(
                        "line \(number): unsigned, but the pinned certificate signs every line (--allow-unsigned accepts it)")
                }
                continue
            }
            guard let certificateText = record.signerCertificate, let certificate = Data(base64Encoded: certificateText),
                let fingerprint = try? TLSIdentity.fingerprint(derCertificate: Array(certificate)), fingerprint == record.signerSHA256
            else {
                report.problems.append("line \(number): the signer's certificate is missing or does not match signer_sha256")
                continue
            }
            guard (try? RecordSignature.verify(signature, message: message, certificateDER: Array(certificate))) == true else {
                report.problems.append("line \(number): the signature does not verify: the line was altered")
                continue
            }
            if !report.signers.contains(fingerprint) { report.signers.append(fingerprint) }
            if let certificateSHA256, fingerprint != certificateSHA256.lowercased() {
                report.problems.append("line \(number): signed by \(fingerprint), not by \(certificateSHA256.lowercased())")
            }
        }
        return report
    }

    /// The signed bytes and the signature of a signed line; nil for an unsigned one.
    static func splitSignature(_ line: [UInt8]) -> (message: [UInt8], signature: [UInt8])? {
        let key = signatureKey
        guard line.count > key.count + 2, line.suffix(2).elementsEqual([0x22, 0x7D]) else { return nil }
        // The signature is the last member and base64 has no quote: its opening quote is the last
        // one before the closing `"}`, and `,"signature":"` ends there (inside JSON strings a quote
        // is escaped, so the member name cannot be faked by a value).
        guard let open = line[..<(line.count - 2)].lastIndex(of: 0x22), open + 1 >= key.count else { return nil }
        let start = open + 1 - key.count
        guard line[start...open].elementsEqual(key) else { return nil }
        let encoded = line[(open + 1)..<(line.count - 2)]
        guard let signature = Data(base64Encoded: Data(encoded)) else { return nil }
        return (Array(line[..<start]) + [0x7D], Array(signature))
    }

    /// Checks two verified logs against each other: every completed session in one has a record in
    /// the other with the same transcript hash, collaboration digest and analysis, written by the
    /// party this one names as its peer, signed by the certificate this one pins for it. Returns
    /// the problems found (empty when the logs agree).
    public static func crossCheck(_ ours: Report, _ theirs: Report) -> [String] {
        var problems: [String] = []
        func check(_ a: Report, _ b: Report, _ aName: String, _ bName: String) {
            for (index, record) in a.records.enumerated() where record.outcome == "completed" {
                guard let transcript = record.transcript else {
                    problems.append("\(aName) record \(index): a completed session without a transcript hash")
                    continue
                }
                let match = b.records.first { $0.transcript?.sha256 == transcript.sha256 }
                guard let match else {
                    problems.append(
                        "\(aName) record \(index) (\(record.analysis ?? "?") at \(record.time)): the \(bName) has no record of this session (transcript \(transcript.sha256.prefix(16))…)"
                    )
                    continue
                }
                if match.collaborationDigest != record.collaborationDigest || match.analysis != record.analysis {
                    problems.append(
                        "\(aName) record \(index): the \(bName)'s record of the session names another collaboration or analysis")
                }
                if match.party != record.peer || match.signerSHA256 != record.peerCertificateSHA256 {
                    problems.append(
                        "\(aName) record \(index): the \(bName)'s record was written by \(match.party) signed by \(match.signerSHA256 ?? "nobody"), expected \(record.peer ?? "?") signed by \(record.peerCertificateSHA256 ?? "?")"
                    )
                }
            }
        }
        check(ours, theirs, "this log's", "peer log")
        check(theirs, ours, "the peer log's", "this log")
        return problems
    }
}
