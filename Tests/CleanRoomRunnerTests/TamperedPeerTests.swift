import CleanRoomCSV
import CleanRoomProtocol
import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import CleanRoomRunner

/// A scripted peer that runs a real `PartySession` for its party, so it speaks the protocol
/// correctly, and corrupts exactly one outbound frame, against a real `cleanroom run` process. In
/// one direction the process listens as the advertiser and the script connects as the publisher;
/// in the other the script listens as the advertiser and the process connects as the publisher.
/// Between them the script can send every message type to the process.
extension TwoProcessTests {
    /// Nested in TwoProcessTests so that it runs serialized with the other process tests (they pick
    /// free ports, and parallel suites could pick the same one).
    @Suite(.serialized) struct TamperedPeerTests {
        typealias Workspace = TwoProcessTests.Workspace

        /// The side the script plays.
        enum Direction: String, Sendable {
            /// The process listens as the advertiser; the script connects as the publisher.
            case scriptConnects = "script connects as the publisher"
            /// The script listens as the advertiser; the process connects as the publisher.
            case scriptListens = "script listens as the advertiser"

            var scriptParty: String { self == .scriptConnects ? "publisher" : "advertiser" }
            var processParty: String { self == .scriptConnects ? "advertiser" : "publisher" }
        }

        /// What the script does to the payload of the first frame of the chosen type. The header
        /// announces the new length: the framing stays intact, the message is wrong.
        enum Mutation: String, Sendable {
            /// One byte shorter (an empty payload gains one byte instead).
            case truncate = "one byte short"
            /// One zero byte longer.
            case append = "one byte long"
            /// DECRYPTED_SUMS only: the first plaintext gets 2^2040 added (its top byte, zero in a
            /// real sum, set to 1): well formed and below n, but no sum fits the slot layout.
            case oversizedSum = "first sum made too large to decode"
            /// ENRICHMENT_RECORDS only: the last byte (in the GCM tag) of every record flipped:
            /// well formed and sorted, but no record authenticates.
            case corruptRecords = "every record's GCM tag flipped"

            func apply(_ frame: Frame) -> Frame {
                var f = frame
                switch self {
                case .truncate where !f.payload.isEmpty: f.payload.removeLast()
                case .truncate, .append: f.payload.append(0)
                case .oversizedSum: f.payload[4] |= 1
                case .corruptRecords:
                    let count = Int(f.payload[0]) << 24 | Int(f.payload[1]) << 16 | Int(f.payload[2]) << 8 | Int(f.payload[3])
                    let width = (f.payload.count - 4) / max(1, count)
                    for k in 0..<count { f.payload[4 + (k + 1) * width - 1] ^= 0x01 }
                }
                return f
            }
        }

        /// The frame to corrupt. For `.abort` (a session never sends one) the script sends, right
        /// after its HELLO, an ABORT whose reason is one byte short, and then nothing more.
        struct Tamper: Sendable {
            var type: MessageType
            var mutation: Mutation
        }

        /// An ABORT (code 5, local failure) whose reason is one byte shorter than its length says.
        static let truncatedAbort: Frame = {
            let reason = Array("the script stops here".utf8)
            return Frame(type: .abort, payload: Array(([0, 5, 0, UInt8(reason.count)] + reason).dropLast()))
        }()

        /// What the script saw.
        struct ScriptOutcome: Sendable, CustomStringConvertible {
            /// The code of the ABORT the process sent (nil: none arrived).
            var abortCode: UInt16?
            /// The chosen frame was sent corrupted.
            var tampered = false
            /// The script's own session finished.
            var finished = false
            /// Why the script's session or connection failed (nil: it did not).
            var problem: String?
            var writeError: String?
            var readError: String?
            /// The script's deadline closed the connection.
            var timedOut = false
            var sent: [MessageType] = []
            var received: [MessageType] = []
            /// Frame bytes sent, and TLS records of one byte of data that left the script's socket
            /// (counted only with one-byte records).
            var bytesSent = 0
            var oneByteRecords = 0

            var description: String {
                "abort \(abortCode.map(String.init) ?? "none"), tampered \(tampered), finished \(finished), timed out \(timedOut), "
                    + "problem \(problem ?? "-"), write \(writeError ?? "-"), read \(readError ?? "-"), "
                    + "sent \(sent), received \(received)"
            }
        }

        /// Drives `session` over `channel`: sends its outbound frames (corrupting the first of
        /// `tamper.type`), feeds it the process's frames, and stops at the process's ABORT, when the
        /// connection closes, or after `deadline`. Without a tamper it closes once its session has
        /// finished and sent everything; with one it keeps reading, for the ABORT.
        static func play(
            _ channel: FrameChannel, session: PartySession, tamper: Tamper?, oneByteRecords: Bool, deadline: Duration = .seconds(40)
        ) async -> ScriptOutcome {
            var out = ScriptOutcome()
            let underlying = channel.channel
            let counter = RecordCounter()
            if oneByteRecords {
                do { try await underlying.pipeline.addHandler(counter, position: .first).get() } catch {
                    out.problem = "cannot count records: \(error)"
                    return out
                }
            }
            let expired = Flag()
            let timer = Task {
                try await Task.sleep(for: deadline)
                expired.set()
                underlying.close(promise: nil)
            }
            defer { timer.cancel() }
            do {
                try await channel.executeThenClose { inbound, _ in
                    var frames = inbound.makeAsyncIterator()
                    var decoder = FrameDecoder()
                    var sending = true
                    /// Writes one frame and waits until it has left (one flushed write per byte with
                    /// one-byte records: each becomes its own TLS record). After a failed write the
                    /// script only reads.
                    func send(_ frame: Frame) async {
                        let bytes = frame.encoded()
                        do {
                            if oneByteRecords {
                                for b in bytes { try await underlying.writeAndFlush(ByteBuffer(bytes: [b])) }
                            } else {
                                try await underlying.writeAndFlush(ByteBuffer(bytes: bytes))
                            }
                            out.bytesSent += bytes.count
                            out.sent.append(frame.type)
                        } catch {
                            out.writeError = "\(frame.type): \(error)"
                            sending = false
                        }
                    }
                    func next() async -> Frame? {
                        do {
                            while true {
                                if let frame = try decoder.next() { return frame }
                                guard var buffer = try await frames.next() else { return nil }
                                decoder.append(buffer.readBytes(length: buffer.readableBytes)!)
                            }
                        } catch {
                            out.readError = "\(error)"
                            return nil
                        }
                    }
                    try session.begin()
                    while true {
                        while sending, let frame = try session.nextOutbound() {
                            if let tamper, !out.tampered, frame.type == tamper.type {
                                await send(tamper.mutation.apply(frame))
                                out.tampered = true
                            } else {
                                await send(frame)
                            }
                            if let tamper, tamper.type == .abort, !out.tampered, frame.type == .hello {
                                await send(Self.truncatedAbort)
                                out.tampered = true
                                sending = false
                            }
                        }
                        if session.isFinished && tamper == nil { break }
                        guard let frame = await next() else { break }
                        out.received.append(frame.type)
                        if frame.type == .abort {
                            let p = frame.payload
                            out.abortCode = p.count >= 2 ? UInt16(p[0]) << 8 | UInt16(p[1]) : nil
                            break
                        }
                        if sending { try session.receive(frame) }
                    }
                }
            } catch {
                out.problem = "\(error)"
            }
            out.finished = session.isFinished
            out.timedOut = expired.value
            out.oneByteRecords = counter.oneByte
            return out
        }

        /// What a run left behind.
        struct Run {
            var status: Int32
            var reason: Process.TerminationReason
            var output: String
            var audit: [Substring]
            /// The result file the process was told to write.
            var resultFile: String
            /// Files in the workspace after the run.
            var files: [String]
            var script: ScriptOutcome

            /// Temporary result files (`ResultOutput.writeAtomically`: `.NAME.tmp-PID`).
            var temporaryFiles: [String] { files.filter { $0.contains(".tmp-") } }
            var hasResult: Bool { files.contains(resultFile) }
        }

        /// Starts `cleanroom run` as `direction.processParty` (idle timeout 20 s) and plays the
        /// other party with `tamper`; returns when both have ended.
        static func run(
            _ w: Workspace, analysis: String, direction: Direction, tamper: Tamper?, oneByteRecords: Bool = false
        ) async throws -> Run {
            let c = try Collaboration(yaml: w.collaboration)
            let me = direction.scriptParty, them = direction.processParty
            let table = try CSVReader.readColumnar(
                path: w.path("\(me).csv"), columns: try c.analysis(named: analysis).requiredColumns(of: me).names)
            let config = TransportConfiguration(
                certificatePEM: try String(contentsOfFile: w.path("keys/\(me).cert.pem"), encoding: .utf8),
                privateKeyPEM: try String(contentsOfFile: w.path("keys/\(me).key.pem"), encoding: .utf8),
                peerFingerprint: try c.party(named: them).certificateSHA256, idleTimeout: .seconds(60), connectTimeout: .seconds(30))
            let body: @Sendable (FrameChannel, PinnedCertificateVerifier) async throws -> ScriptOutcome = { channel, _ in
                do {
                    let session = try PartySession(collaboration: c, analysis: analysis, party: me, input: table)
                    return await play(channel, session: session, tamper: tamper, oneByteRecords: oneByteRecords)
                } catch {
                    return ScriptOutcome(problem: "cannot start the script's session: \(error)")
                }
            }
            let resultFile = "\(analysis)-\(them).json"
            // The process first: as the publisher it keeps trying until the script listens.
            let process = try TwoProcessTests.Party(
                [
                    "run", w.path("c.yaml"), "--as", them, "--data", w.path("\(them).csv"), "--analysis", analysis,
                    "--out", w.path(resultFile), "--identity", w.path("keys"), "--audit", w.path("audit.jsonl"),
                    "--ledger", w.path("\(them).ledger.sqlite"),
                    "--connect-timeout", "30", "--idle-timeout", "20",
                ])
            let script = Task { () -> ScriptOutcome in
                do {
                    let group = MultiThreadedEventLoopGroup.singleton
                    switch direction {
                    case .scriptConnects:
                        return try await PeerTransport.connect(host: "127.0.0.1", port: w.port, config: config, group: group, body: body)
                    case .scriptListens:
                        return try await PeerTransport.listen(host: "127.0.0.1", port: w.port, config: config, group: group, body: body)
                    }
                } catch {
                    return ScriptOutcome(problem: "the script did not get a connection: \(error)")
                }
            }
            let status = await Task.detached { process.wait() }.value
            let outcome = await script.value
            let audit = ((try? String(contentsOfFile: w.path("audit.jsonl"), encoding: .utf8)) ?? "").split(separator: "\n")
            return Run(
                status: status, reason: process.process.terminationReason, output: process.text, audit: audit, resultFile: resultFile,
                files: try FileManager.default.contentsOfDirectory(atPath: w.dir), script: outcome)
        }

        // MARK: Corrupted frames

        /// One message type corrupted where the process receives it.
        struct Case: Sendable, CustomTestStringConvertible {
            var type: MessageType
            var analysis: String
            var direction: Direction
            var mutation = Mutation.truncate
            /// The ABORT code the script receives from the process.
            var code: UInt16 = 1
            /// The stage of the process's audit record.
            var stage = "session"

            var testDescription: String { "\(type) \(mutation.rawValue) in \(analysis), \(direction.rawValue)" }
        }

        /// Roles: in `overlap` and `shared` (both receive) the listener, the advertiser, is P1; in
        /// `overlap-ad` (only the advertiser receives) the advertiser is P1 and the publisher gets DONE;
        /// in `spend` the advertiser owns the values (P2) and the publisher groups (P1).
        static let cases: [Case] = [
            // The process is the advertiser: P1 of overlap, P2 of spend.
            Case(type: .hello, analysis: "overlap", direction: .scriptConnects),
            Case(type: .setSize, analysis: "spend", direction: .scriptConnects),  // P1's, with its group-tag key
            Case(type: .p1Elements, analysis: "spend", direction: .scriptConnects),
            Case(type: .p2Reblinded, analysis: "overlap", direction: .scriptConnects),
            Case(type: .p2Elements, analysis: "overlap", direction: .scriptConnects),
            Case(type: .encryptedSums, analysis: "spend", direction: .scriptConnects),
            Case(type: .abort, analysis: "overlap", direction: .scriptConnects),
            // The process is the enrichment's receiver: records and evaluations from the script.
            Case(type: .enrichmentRecords, analysis: "enrich", direction: .scriptConnects),
            Case(type: .oprfEvaluated, analysis: "enrich", direction: .scriptConnects, mutation: .append),
            // The process is the publisher: P2 of overlap, shared and overlap-ad, P1 of spend.
            Case(type: .hello, analysis: "spend", direction: .scriptListens, mutation: .append),
            Case(type: .setSize, analysis: "spend", direction: .scriptListens),  // P2's, with its Paillier key
            Case(type: .p1Elements, analysis: "shared", direction: .scriptListens, mutation: .append),
            Case(type: .p2Reblinded, analysis: "spend", direction: .scriptListens),
            Case(type: .p2Elements, analysis: "spend", direction: .scriptListens),  // records with ciphertexts
            Case(type: .cardinality, analysis: "overlap", direction: .scriptListens),
            Case(type: .matches, analysis: "shared", direction: .scriptListens),
            Case(type: .decryptedSums, analysis: "spend", direction: .scriptListens),
            Case(type: .done, analysis: "overlap-ad", direction: .scriptListens),  // an empty payload gains a byte
            // The process is the enrichment's sender: blinded elements and DONE from the script.
            Case(type: .oprfBlinded, analysis: "enrich", direction: .scriptListens),
            Case(type: .done, analysis: "enrich", direction: .scriptListens),
        ]

        /// The process refuses the corrupted frame: exit status 1 (no signal), its message names the
        /// type, no result or temporary file, one audit record "failed" at the session stage, and an
        /// ABORT with code 1 (malformed) to the script. A malformed ABORT is itself a malformed
        /// message: the process cannot trust the code or reason in it, so it does not record a peer
        /// abort (or a policy refusal) but fails the session and answers ABORT 1, which a peer that
        /// keeps reading (as the script does) receives.
        @Test(arguments: cases)
        func aCorruptedFrameFailsTheSessionWithAnAbort(_ c: Case) async throws {
            let w = try Workspace(rows: 50)
            defer { w.remove() }
            let r = try await Self.run(w, analysis: c.analysis, direction: c.direction, tamper: Tamper(type: c.type, mutation: c.mutation))
            #expect(r.script.tampered, "the script sent no \(c.type): \(r.script)")
            #expect(r.script.problem == nil && !r.script.timedOut, "\(r.script)")
            #expect(r.reason == .exit, "the process was killed by signal \(r.status)")
            #expect(r.status == 1, "\(r.output)")
            #expect(r.output.contains(c.type.description), "\(r.output)")
            #expect(!r.hasResult && r.temporaryFiles.isEmpty, "\(r.files)")
            #expect(r.audit.count == 1, "\(r.audit)")
            let line = r.audit.first ?? ""
            #expect(line.contains("\"outcome\":\"failed\"") && line.contains("\"stage\":\"\(c.stage)\""), "\(line)")
            #expect(r.script.abortCode == c.code, "\(r.script)\n\(r.output)")
        }

        // MARK: A deviation found without aborting

        /// The value owner returns a sum that cannot decode. The process (P1) must not abort (an
        /// abort would tell the owner which entries were real): it completes, leaves the group out,
        /// lists the anomaly in its result and audit record, exits 4 and freezes the collaboration;
        /// the next run is refused before connecting (exit 3) until it is unfrozen.
        @Test func anUndecodableSumCompletesWithAnAnomalyAndFreezes() async throws {
            let w = try Workspace(rows: 50)
            defer { w.remove() }
            let r = try await Self.run(
                w, analysis: "spend", direction: .scriptListens, tamper: Tamper(type: .decryptedSums, mutation: .oversizedSum))
            #expect(r.script.tampered && r.script.abortCode == nil, "\(r.script)")
            #expect(r.reason == .exit && r.status == 4, "\(r.output)")
            #expect(r.output.contains("the peer deviated from the protocol") && r.output.contains("DECRYPTED_SUMS"), "\(r.output)")
            #expect(r.hasResult && r.temporaryFiles.isEmpty, "\(r.files)")
            let result = try JSONDecoder().decode(
                ResultDocument.self, from: Data(contentsOf: URL(fileURLWithPath: w.path(r.resultFile)))
            ).result
            #expect(result.anomalies?.count == 1)
            #expect(r.audit.count == 1 && r.audit[0].contains("\"outcome\":\"completed\"") && r.audit[0].contains("\"anomalies\""))
            let c = try Collaboration(yaml: w.collaboration)
            let freeze = try PartyLedger(path: w.path("publisher.ledger.sqlite")).freeze(of: try CollaborationKey(c, party: "publisher"))
            #expect(freeze?.reason.contains("DECRYPTED_SUMS") == true)
            // The next run is refused before it connects.
            try FileManager.default.removeItem(atPath: w.path(r.resultFile))
            let again = try TwoProcessTests.Party([
                "run", w.path("c.yaml"), "--as", "publisher", "--data", w.path("publisher.csv"), "--analysis", "spend",
                "--out", w.path(r.resultFile), "--identity", w.path("keys"), "--audit", w.path("audit.jsonl"),
                "--ledger", w.path("publisher.ledger.sqlite"), "--connect-timeout", "5",
            ])
            #expect(again.wait() == 3 && again.text.contains("are frozen since"), "\(again.text)")
        }

        /// The enrichment's sender returns records that do not authenticate. The process (the
        /// receiver) must neither abort nor freeze (either would tell the sender that some of its
        /// tags matched): it completes with exit 0, leaves those rows out as missing and warns.
        @Test func unauthenticRecordsAreTreatedAsMissingWithoutAReaction() async throws {
            let w = try Workspace(rows: 50)
            defer { w.remove() }
            let r = try await Self.run(
                w, analysis: "enrich", direction: .scriptConnects, tamper: Tamper(type: .enrichmentRecords, mutation: .corruptRecords))
            #expect(r.script.tampered && r.script.abortCode == nil, "\(r.script)")
            #expect(r.reason == .exit && r.status == 0, "\(r.output)")
            #expect(r.output.contains("what an honest peer does not") && r.output.contains("did not authenticate"), "\(r.output)")
            let result = try JSONDecoder().decode(
                ResultDocument.self, from: Data(contentsOf: URL(fileURLWithPath: w.path(r.resultFile)))
            ).result
            #expect(result.anomalies == nil && result.warnings?.count == 1)
            #expect(result.enrichment?.rows == [])
            let c = try Collaboration(yaml: w.collaboration)
            let freeze = try PartyLedger(path: w.path("advertiser.ledger.sqlite")).freeze(of: try CollaborationKey(c, party: "advertiser"))
            #expect(freeze == nil, "a freeze is visible to the sender: a membership test")
        }

        // MARK: Controls

        /// The same harness without a corruption.
        struct Control: Sendable, CustomTestStringConvertible {
            var analysis: String
            var direction: Direction
            var oneByteRecords = false

            var testDescription: String { "\(analysis), \(direction.rawValue)\(oneByteRecords ? ", 1-byte TLS records" : "")" }
        }

        static let controls: [Control] = [
            Control(analysis: "overlap", direction: .scriptConnects),
            Control(analysis: "shared", direction: .scriptConnects),
            Control(analysis: "spend", direction: .scriptConnects),
            Control(analysis: "overlap", direction: .scriptListens),
            Control(analysis: "shared", direction: .scriptListens),
            Control(analysis: "spend", direction: .scriptListens),
            Control(analysis: "overlap-ad", direction: .scriptListens),
            Control(analysis: "enrich", direction: .scriptConnects),
            Control(analysis: "enrich", direction: .scriptListens),
            Control(analysis: "overlap", direction: .scriptConnects, oneByteRecords: true),
            Control(analysis: "shared", direction: .scriptListens, oneByteRecords: true),
        ]

        /// Without a corruption both sides complete, the process with the plaintext answer when it
        /// receives one: what fails above is the corruption, not the harness. With one-byte records
        /// every byte the script sends is a TLS record of its own.
        @Test(arguments: controls)
        func anUntamperedScriptCompletesTheSession(_ c: Control) async throws {
            let w = try Workspace(rows: 50)
            defer { w.remove() }
            let r = try await Self.run(w, analysis: c.analysis, direction: c.direction, tamper: nil, oneByteRecords: c.oneByteRecords)
            #expect(r.script.finished && r.script.abortCode == nil, "\(r.script)")
            #expect(r.script.problem == nil && r.script.writeError == nil && !r.script.timedOut, "\(r.script)")
            #expect(r.reason == .exit && r.status == 0, "\(r.output)")
            #expect(r.hasResult && r.temporaryFiles.isEmpty, "\(r.files)")
            #expect(r.audit.count == 1 && r.audit.first?.contains("\"outcome\":\"completed\"") == true, "\(r.audit)")
            let collaboration = try Collaboration(yaml: w.collaboration)
            let analysis = try collaboration.analysis(named: c.analysis)
            if r.hasResult && analysis.receivers.contains(c.direction.processParty) {
                let doc = try JSONDecoder().decode(ResultDocument.self, from: Data(contentsOf: URL(fileURLWithPath: w.path(r.resultFile))))
                var expected = try ReferenceAnswer.compute(collaboration, analysis: c.analysis, tables: try TwoProcessTests.tables(w))
                // P2 of a grouped sum is not told the overlap when a group was suppressed (the
                // difference would reveal the suppressed groups' size; docs/protocol.md), which the
                // reference does not model.
                if analysis.kind == .intersectionSum, let overlap = expected.intersectionSize.value,
                    expected.groups.values.map(\.count).reduce(0, +) < overlap, doc.result.intersectionSize == nil
                {
                    expected.intersectionSize = .suppressed(below: 0)
                }
                #expect(ReferenceAnswer.from(doc.result) == expected)
            }
            if c.oneByteRecords {
                #expect(r.script.bytesSent > 1000 && r.script.oneByteRecords == r.script.bytesSent, "\(r.script)")
            }
        }

        // MARK: Helpers

        final class Flag: @unchecked Sendable {
            private let lock = NSLock()
            private var set_ = false
            func set() { lock.withLock { set_ = true } }
            var value: Bool { lock.withLock { set_ } }
        }

        /// Counts the TLS 1.3 application-data records leaving the script's socket that carry one byte
        /// of data (18 bytes: the byte, the inner content type and a 16-byte tag). Sits first in the
        /// pipeline, below the TLS handler; socket writes hold whole records.
        final class RecordCounter: ChannelOutboundHandler, @unchecked Sendable {
            typealias OutboundIn = ByteBuffer
            typealias OutboundOut = ByteBuffer

            private let lock = NSLock()
            private var pending: [UInt8] = []
            private var count = 0
            var oneByte: Int { lock.withLock { count } }

            func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
                let buffer = unwrapOutboundIn(data)
                lock.withLock {
                    pending += buffer.readableBytesView
                    while pending.count >= 5 {
                        let length = Int(pending[3]) << 8 | Int(pending[4])
                        guard pending.count >= 5 + length else { break }
                        if pending[0] == 0x17 && length == 18 { count += 1 }
                        pending.removeFirst(5 + length)
                    }
                }
                context.write(data, promise: promise)
            }
        }
    }
}
