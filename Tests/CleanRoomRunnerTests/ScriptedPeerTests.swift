import CleanRoomProtocol
import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import CleanRoomRunner

/// A scripted peer with the publisher's real key (so TLS and the pin pass) against a real
/// `cleanroom run` process listening as the advertiser.
extension TwoProcessTests {
    /// Nested in TwoProcessTests so that it runs serialized with the other process tests (they pick
    /// free ports, and parallel suites could pick the same one).
    @Suite(.serialized) struct ScriptedPeerTests {
        typealias Workspace = TwoProcessTests.Workspace

        typealias Inbound = NIOAsyncChannelInboundStream<ByteBuffer>
        typealias Outbound = NIOAsyncChannelOutboundWriter<ByteBuffer>

        /// Starts the advertiser with `flags`, connects as the publisher and runs `script` on the
        /// connection while the advertiser runs; returns the advertiser's exit status, output and audit
        /// log, and whether the advertiser exited while the script was still going.
        static func run(
            _ w: Workspace, flags: [String], script: @escaping @Sendable (Inbound, Outbound) async throws -> Void
        ) async throws -> (status: Int32, output: String, audit: String, exitedFirst: Bool, peakKB: Int) {
            let ad = try TwoProcessTests.Party(
                [
                    "run", w.path("c.yaml"), "--as", "advertiser", "--data", w.path("advertiser.csv"), "--analysis", "overlap",
                    "--out", w.path("overlap-advertiser.json"), "--identity", w.path("keys"), "--audit", w.path("audit.jsonl"),
                    "--ledger", w.path("advertiser.ledger.sqlite"),
                    "--connect-timeout", "30",
                ] + flags)
            let peak = PeakMemory.sample(ad.process.processIdentifier)
            let c = try Collaboration(yaml: w.collaboration)
            let config = TransportConfiguration(
                certificatePEM: try String(contentsOfFile: w.path("keys/publisher.cert.pem"), encoding: .utf8),
                privateKeyPEM: try String(contentsOfFile: w.path("keys/publisher.key.pem"), encoding: .utf8),
                peerFingerprint: try c.party(named: "advertiser").certificateSHA256, idleTimeout: .seconds(60),
                connectTimeout: .seconds(20))
            let done = ScriptDone()
            let started = ContinuousClock.now
            let connected = ScriptDone()
            let peer = Task {
                // The advertiser may not listen yet: try again until a connection reaches the script.
                for _ in 0..<40 where !connected.value && ad.process.isRunning {
                    try? await PeerTransport.connect(
                        host: "127.0.0.1", port: w.port, config: config, group: MultiThreadedEventLoopGroup.singleton
                    ) { channel, _ in
                        connected.set()
                        try await channel.executeThenClose { inbound, outbound in try await script(inbound, outbound) }
                    }
                    if !connected.value { try? await Task.sleep(for: .milliseconds(250)) }
                }
                done.set()
            }
            let peakKB = await peak.value
            let status = await Task.detached { ad.wait() }.value
            // The scripts below run for 20 s unless the advertiser cuts them off.
            let exitedFirst = !done.value || ContinuousClock.now - started < .seconds(15)
            peer.cancel()
            _ = await peer.value
            let audit = (try? String(contentsOfFile: w.path("audit.jsonl"), encoding: .utf8)) ?? ""
            #expect(!FileManager.default.fileExists(atPath: w.path("overlap-advertiser.json")), "a result file was written")
            return (status, ad.text, audit, exitedFirst, peakKB)
        }

        /// A peer that streams 60 MB as one frame, reading nothing: the advertiser refuses the
        /// stream once it passes what the policy lets the peer send (here about 1 MiB), and its
        /// peak memory stays under twice that of an honest session with the same files. (Before the
        /// handshake allowance was cut from 64 MiB to 1 MiB, the whole frame was buffered: the peak
        /// grew by 60 to 120 MB.)
        @Test func aFloodingPeerIsCutOffWithinTheSessionsMemory() async throws {
            let w = try Workspace(rows: 50)
            defer { w.remove() }
            // The honest peak first: both real parties, the same files.
            let honestAd = try TwoProcessTests.party(w, "advertiser", analysis: "overlap")
            let honestPeak = PeakMemory.sample(honestAd.process.processIdentifier)
            let pub = try TwoProcessTests.party(w, "publisher", analysis: "overlap")
            let honestKB = await honestPeak.value
            let (adStatus, pubStatus) = await Task.detached { (honestAd.wait(), pub.wait()) }.value
            #expect(adStatus == 0 && pubStatus == 0, "\(honestAd.text)\n\(pub.text)")
            try FileManager.default.removeItem(atPath: w.path("overlap-advertiser.json"))
            try FileManager.default.removeItem(atPath: w.path("audit.jsonl"))

            let total = 60_000_000
            let r = try await Self.run(w, flags: ["--idle-timeout", "10"]) { inbound, out in
                // The advertiser's HELLO first: the handshake is then complete on both sides (the
                // script's writes would otherwise wait in the TLS handler, and its close could come
                // before the advertiser finished the handshake).
                var frames = inbound.makeAsyncIterator()
                _ = try await frames.next()
                try await out.write(
                    ByteBuffer(bytes: [
                        1, MessageType.p2Elements.rawValue, UInt8(total >> 24), UInt8((total >> 16) & 0xff), UInt8((total >> 8) & 0xff),
                        UInt8(total & 0xff),
                    ]))
                let chunk = ByteBuffer(bytes: [UInt8](repeating: 0x5a, count: 1 << 16))
                for _ in 0..<(total >> 16) { try await out.write(chunk) }
            }
            #expect(r.status == 1, "\(r.output)")
            #expect(r.output.contains("the peer sent more than"), "\(r.output)")
            #expect(
                r.audit.split(separator: "\n").count == 1 && r.audit.contains("\"outcome\":\"failed\"")
                    && r.audit.contains("\"stage\":\"session\""), "\(r.audit)")
            #expect(honestKB > 0 && r.peakKB > 0)
            print("flood: peak \(r.peakKB) kB against an honest peak of \(honestKB) kB")
            #expect(r.peakKB < 2 * honestKB, "flood peak \(r.peakKB) kB against an honest peak of \(honestKB) kB")
        }

        /// A second connection arrives at the listener while the session runs (a stranger, or the
        /// peer trying again): it must not take the process down when the listener closes. (NIO
        /// traps on an accepted async channel whose writer is dropped unfinished; a CI run of the
        /// flood test crashed the advertiser with SIGILL this way.)
        @Test func aSecondConnectionDuringTheSessionDoesNotCrashTheListener() async throws {
            let w = try Workspace(rows: 50)
            defer { w.remove() }
            let r = try await Self.run(w, flags: ["--idle-timeout", "10"]) { inbound, out in
                var frames = inbound.makeAsyncIterator()
                _ = try await frames.next()  // the advertiser's HELLO: the session runs
                // A raw TCP connection to the listener, left open, then the script ends the session.
                let stray = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: w.port)
                    .get()
                try await Task.sleep(for: .milliseconds(300))
                try await out.write(ByteBuffer(bytes: Frame(type: .done, payload: []).encoded()))
                while (try? await frames.next()) != nil {}
                try await stray.close()
            }
            #expect(r.status == 1, "\(r.output)")
            #expect(!r.output.contains("Program crashed"), "\(r.output)")
            #expect(r.audit.split(separator: "\n").count == 1 && r.audit.contains("\"outcome\":\"failed\""), "\(r.audit)")
        }

        final class ScriptDone: @unchecked Sendable {
            private let lock = NSLock()
            private var done = false
            func set() { lock.withLock { done = true } }
            var value: Bool { lock.withLock { done } }
        }

        /// A frame header announcing 100 bytes, then one byte every 500 ms for 20 s: never a complete
        /// frame, but never silent either.
        static func trickle(_ inbound: Inbound, _ out: Outbound) async throws {
            try await out.write(ByteBuffer(bytes: [1, MessageType.hello.rawValue, 0, 0, 0, 100]))
            for _ in 0..<40 {
                try await Task.sleep(for: .milliseconds(500))
                try await out.write(ByteBuffer(bytes: [0x41]))
            }
        }

        @Test func tricklingPeerIsCutOffAfterTheIdleTimeout() async throws {
            let w = try Workspace(rows: 50)
            defer { w.remove() }
            let r = try await Self.run(w, flags: ["--idle-timeout", "2"], script: Self.trickle)
            #expect(r.status == 1, "\(r.output)")
            #expect(r.output.contains("no complete frame from the peer for 2 s"), "\(r.output)")
            #expect(r.exitedFirst, "the trickle kept the session alive to its end")
            #expect(
                r.audit.split(separator: "\n").count == 1 && r.audit.contains("\"outcome\":\"failed\"")
                    && r.audit.contains("\"stage\":\"peer\""))
        }

        @Test func sessionDeadlineEndsASlowPeer() async throws {
            let w = try Workspace(rows: 50)
            defer { w.remove() }
            let r = try await Self.run(w, flags: ["--idle-timeout", "60", "--session-timeout", "2"], script: Self.trickle)
            #expect(r.status == 1, "\(r.output)")
            #expect(r.exitedFirst, "the trickle kept the session alive to its end")
            #expect(r.output.contains("deadline of 2 s"), "\(r.output)")
            #expect(r.audit.contains("\"outcome\":\"failed\""))
        }

        @Test func peerPolicyRefusalIsARefusalHereWithItsReasonCappedAndSanitised() async throws {
            let w = try Workspace(rows: 50)
            defer { w.remove() }
            let reason = Array(("set size refused \u{202E}gnp.exe\u{2028}" + String(repeating: "x", count: 45_000)).utf8)
            let payload = [0, UInt8(AbortMessage.policyCode)] + [UInt8(reason.count >> 8), UInt8(reason.count & 0xff)] + reason
            let abort = Frame(type: .abort, payload: payload).encoded()
            let r = try await Self.run(w, flags: []) { inbound, out in
                try await out.write(ByteBuffer(bytes: abort))
                for try await _ in inbound {}  // until the advertiser closes
            }
            #expect(r.status == 3, "\(r.output)")
            #expect(r.audit.contains("\"outcome\":\"refused\"") && r.audit.contains("\"stage\":\"policy\""), "\(r.audit)")
            #expect(!r.output.contains("\u{202E}") && !r.output.contains("\u{2028}"))
            #expect(!r.audit.contains("\u{202E}") && !r.audit.contains("\\u202e"))
            #expect(r.audit.utf8.count < 4_000, "the 45 KB reason reached the audit log")
        }

        @Test func unwritableAuditLogStopsTheRunBeforeItStarts() async throws {
            let w = try Workspace(rows: 50)
            defer { w.remove() }
            let ad = try TwoProcessTests.Party(
                [
                    "run", w.path("c.yaml"), "--as", "advertiser", "--data", w.path("advertiser.csv"), "--analysis", "overlap",
                    "--out", w.path("overlap-advertiser.json"), "--identity", w.path("keys"), "--audit", w.path("missing-dir/audit.jsonl"),
                    "--ledger", w.path("advertiser.ledger.sqlite"),
                    "--connect-timeout", "5",
                ])
            let status = await Task.detached { ad.wait() }.value
            #expect(status == 1, "\(ad.text)")
            #expect(ad.text.contains("cannot open the audit log"), "\(ad.text)")
            #expect(!FileManager.default.fileExists(atPath: w.path("overlap-advertiser.json")))
        }

        @Test func aStrangerConnectingFirstDoesNotEndTheSession() async throws {
            let w = try Workspace(rows: 60)
            defer { w.remove() }
            let ad = try TwoProcessTests.party(w, "advertiser", analysis: "overlap")
            // A host with a certificate the file does not pin connects first (it pins the advertiser,
            // so only the advertiser can refuse it).
            let strangerKeys = w.path("stranger")
            let strangerFingerprint = try Identity.generate(party: "stranger", directory: strangerKeys)
            let c = try Collaboration(yaml: w.collaboration)
            let config = TransportConfiguration(
                certificatePEM: try String(
                    contentsOfFile: (strangerKeys as NSString).appendingPathComponent("stranger.cert.pem"), encoding: .utf8),
                privateKeyPEM: try String(
                    contentsOfFile: (strangerKeys as NSString).appendingPathComponent("stranger.key.pem"), encoding: .utf8),
                peerFingerprint: try c.party(named: "advertiser").certificateSHA256, idleTimeout: .seconds(10), connectTimeout: .seconds(20)
            )
            try? await PeerTransport.connect(
                host: "127.0.0.1", port: w.port, config: config, group: MultiThreadedEventLoopGroup.singleton
            ) { channel, _ in
                try await channel.executeThenClose { inbound, _ in for try await _ in inbound {} }
            }
            // Then the real publisher: the session runs as if the stranger had never come.
            let pub = try TwoProcessTests.party(w, "publisher", analysis: "overlap")
            let (adStatus, pubStatus) = await Task.detached { (ad.wait(), pub.wait()) }.value
            #expect(adStatus == 0, "advertiser: \(ad.text)")
            #expect(pubStatus == 0, "publisher: \(pub.text)")
            #expect(ad.text.contains("refused a connection") && ad.text.contains(strangerFingerprint), "\(ad.text)")
            #expect(FileManager.default.fileExists(atPath: w.path("overlap-advertiser.json")))
        }
    }
}

/// The peak resident memory (VmHWM) of a running process, sampled from /proc until it exits.
enum PeakMemory {
    /// Samples `pid` every 10 ms on a thread of its own (not the cooperative pool, which parallel
    /// tests can keep busy until a short-lived process has exited); the task's value is the last
    /// VmHWM seen, in kB (0 without /proc).
    static func sample(_ pid: Int32) -> Task<Int, Never> {
        final class Box: @unchecked Sendable {
            let lock = NSLock()
            var peak = 0
            var done = false
        }
        let box = Box()
        let thread = Thread {
            while let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
                let kb = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap({ Int($0) })
            {
                box.lock.withLock { box.peak = max(box.peak, kb) }
                usleep(10_000)
            }
            box.lock.withLock { box.done = true }
        }
        thread.start()
        return Task.detached {
            while !box.lock.withLock({ box.done }) { try? await Task.sleep(for: .milliseconds(10)) }
            return box.lock.withLock { box.peak }
        }
    }
}
