// Runs one party's side of a session over the network: the collaboration file says who listens;
// frames from the protocol codec cross a pinned mutual-TLS connection; the session state machine
// decides everything else. A failure on either side ends both, with the stage named.
import CCleanRoomShim
import CleanRoomCrypto
import CleanRoomProtocol
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// What `cleanroom run` needs to run a session.
public struct RunConfiguration: Sendable {
    public var collaboration: Collaboration
    public var analysis: String
    public var party: String
    public var input: ColumnarTable
    public var transport: TransportConfiguration
    public var batchSize: Int
    /// The longest the session may take once connected; nil: derived from the policy's set sizes
    /// (`SessionLimits.maxDuration`).
    public var sessionTimeout: Duration?
    /// Hashes the frames both ways, for the audit record (nil: not hashed).
    public var transcript: TranscriptDigest?
    /// When set, the session connects, sends its HELLO and refuses with this reason (a limit this
    /// party keeps across sessions is reached); see `PartySession.refusal`.
    public var refusal: String?

    public init(
        collaboration: Collaboration, analysis: String, party: String, input: ColumnarTable,
        transport: TransportConfiguration, batchSize: Int = 16_384, sessionTimeout: Duration? = nil,
        transcript: TranscriptDigest? = nil, refusal: String? = nil
    ) {
        self.refusal = refusal
        self.sessionTimeout = sessionTimeout
        self.transcript = transcript
        self.collaboration = collaboration
        self.analysis = analysis
        self.party = party
        self.input = input
        self.transport = transport
        self.batchSize = batchSize
    }
}

/// Progress of a running session, reported after every frame.
public struct RunProgress: Sendable {
    public var stage: String
    /// Elements blinded so far and in all (0 until the peer's set size is known).
    public var elementsDone = 0
    public var elementsTotal = 0
    public var framesIn: Int
    public var framesOut: Int
    public var bytesIn: Int
    public var bytesOut: Int
    /// Most bytes of received frames waiting to be processed at any time so far.
    public var queuedBytesPeak = 0
}

/// Runs sessions over TLS.
public enum SessionRunner {
    /// Caps the C library's heap arenas at the number of cores (at least two). glibc gives each thread that allocates
    /// its own arena (up to eight per core), and what one arena frees the others do not reuse:
    /// with batch buffers allocated on worker threads, a 1,000,000-row session peaked 10–25%
    /// higher. Call once at process start, before the work starts threads (`cleanroom` does).
    public static func limitHeapArenas() {
        _ = cr_limit_malloc_arenas(Int32(max(2, ProcessInfo.processInfo.activeProcessorCount)))
    }

    /// Runs the session and returns what this party learned.
    /// - Throws: `RunnerError` naming the stage that failed.
    public static func run(_ config: consuming RunConfiguration, progress: (@Sendable (RunProgress) -> Void)? = nil) async throws
        -> SessionResult
    {
        let me = try config.collaboration.party(named: config.party)
        let peer = try config.collaboration.party(named: config.collaboration.peer(of: config.party))
        let session: PartySession
        do {
            session = try PartySession(
                collaboration: config.collaboration, analysis: config.analysis, party: config.party, input: config.input,
                batchSize: config.batchSize)
        } catch let error as CleanRoomProtocolError {
            switch error {
            case .invalidRow, .missingColumn: throw RunnerError(.data, error.description)
            case .setSizeOutOfPolicy, .tooManyGroups, .noGroupLargeEnough: throw RunnerError(.policy, error.description)
            default: throw RunnerError(.configuration, error.description)
            }
        }
        session.refusal = config.refusal
        // The session keeps what it needs in compact form; the rows themselves can go.
        config.input = ColumnarTable(columns: [])
        // The rows were the largest allocation so far; hand their pages back rather than keep
        // them resident beside the element lists the exchange allocates.
        cr_release_free_heap()
        let box = SessionBox(session)
        let group = MultiThreadedEventLoopGroup.singleton
        // What the peer may send at most and how long the session may take, derived by the
        // session from the policy.
        let limits = DriveLimits(
            idleTimeout: config.transport.idleTimeout, deadline: config.sessionTimeout ?? session.limits.maxDuration,
            maxPeerBytes: session.limits.maxPeerBytes, transcript: config.transcript)
        let body: @Sendable (FrameChannel, PinnedCertificateVerifier) async throws -> Void = { channel, verifier in
            try await drive(box, channel, verifier: verifier, limits: limits, progress: progress)
        }
        do {
            if let listen = me.listen {
                let (host, port) = split(listen)
                try await PeerTransport.listen(host: host, port: port, config: config.transport, group: group, body: body)
            } else {
                guard let endpoint = peer.listen else {
                    throw RunnerError(.configuration, "neither party listens; the collaboration file names one listener")
                }
                let (host, port) = split(endpoint)
                try await PeerTransport.connect(host: host, port: port, config: config.transport, group: group, body: body)
            }
        } catch var error as RunnerError {
            // A deviation found before the failure still counts (it may be why the peer failed
            // the session afterwards).
            let found = session.anomalies
            if !found.isEmpty { error.anomalies = found }
            throw error
        }
        // The connection and, for the listener, the listening socket are closed: local work left
        // for now (the enrichment receiver's matching) delays nothing the peer can observe, not
        // even whether the port still accepts connections.
        do {
            return try session.conclude()
        } catch {
            throw RunnerError(.session, "\(error)")
        }
    }

    /// `host:port` (checked by the collaboration loader) as host and port.
    static func split(_ endpoint: String) -> (String, Int) {
        guard let colon = endpoint.lastIndex(of: ":"), let port = Int(endpoint[endpoint.index(after: colon)...]) else {
            return (endpoint, 0)
        }
        var host = String(endpoint[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    /// What the driver enforces on the peer.
    struct DriveLimits: Sendable {
        /// The longest wait for the peer's next complete frame while this party has nothing to
        /// send (a peer trickling bytes does not reset it).
        var idleTimeout: Duration
        /// The longest the whole session may take.
        var deadline: Duration
        /// The most bytes the peer may send.
        var maxPeerBytes: Int
        /// Hashes the frames both ways.
        var transcript: TranscriptDigest?
    }

    /// Exchanges frames until the session finishes on the wire (the caller concludes it once the
    /// transport is closed).
    static func drive<Session: SessionDriving>(
        _ box: SessionBox<Session>, _ channel: FrameChannel, verifier: PinnedCertificateVerifier,
        limits: DriveLimits, progress: (@Sendable (RunProgress) -> Void)?
    ) async throws {
        let session = box.session
        let timeout = limits.idleTimeout
        let deadline = SessionDeadline(limits.deadline)
        let deadlineTask = deadline.arm(channel.channel)
        defer { deadlineTask.cancel() }
        var stats = RunProgress(stage: "TLS handshake", framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0)
        func update() {
            stats.stage = session.stateDescription
            (stats.elementsDone, stats.elementsTotal) = session.elementProgress
        }
        func tlsOrTransport(_ error: Error) -> RunnerError {
            // The deadline closed the channel: whatever the close surfaced as, that is the cause.
            if deadline.fired {
                return RunnerError(
                    .peer,
                    "the session did not finish within its deadline of \(deadline.duration.components.seconds) s (--session-timeout) while \(session.stateDescription)"
                )
            }
            if case .peerAborted(let code, _) = error as? CleanRoomProtocolError {
                // The peer refused under the collaboration's policy: a refusal here too.
                return RunnerError(code == AbortMessage.policyCode ? .policy : .peer, "\(error)")
            }
            if let seen = verifier.seen, seen != verifier.expected {
                return RunnerError(.tls, "the peer presented certificate \(seen); the collaboration file pins \(verifier.expected)")
            }
            // A peer that drops the connection mid-session without TLS close_notify is a peer
            // failure, not a handshake failure.
            if case .uncleanShutdown? = error as? NIOSSLError, stats.framesIn > 0 {
                return RunnerError(
                    .peer, "the peer closed the connection without ending TLS (no close_notify) while \(session.stateDescription)")
            }
            if TransportErrors.isTLS(error) {
                if verifier.seen == nil && stats.framesIn == 0 {
                    return RunnerError(
                        .tls,
                        "handshake failed before the peer's certificate was checked (the peer may have refused ours, or does not pin it): \(error)"
                    )
                }
                return RunnerError(.tls, "\(error)")
            }
            return RunnerError(.peer, "connection failed while \(session.stateDescription): \(error)")
        }
        try await channel.executeThenClose { inbound, outbound in
            // A reader task moves the peer's frames into a bounded queue; when the queue is full it
            // stops reading, and TCP holds the peer back. A writer task sends this party's frames,
            // at most two queued at a time, while this task goes on taking the peer's frames, so
            // two parties sending large streams at once never block each other.
            // Every byte the peer sends also counts against the policy's cap for a session.
            let cap = limits.maxPeerBytes
            let frames = FrameQueue()
            let outgoing = OutgoingFrames()
            let reader = Task {
                var decoder = FrameDecoder()
                var received = 0
                do {
                    for try await var buffer in inbound {
                        received += buffer.readableBytes
                        guard received <= cap else {
                            throw CleanRoomProtocolError.malformedMessage(
                                type: "stream",
                                problem: "the peer sent more than \(cap) bytes, more than the policy allows for a session")
                        }
                        decoder.append(buffer.readBytes(length: buffer.readableBytes)!)
                        while let frame = try decoder.next() { try await frames.push(frame) }
                    }
                    frames.finish(throwing: nil)
                } catch {
                    frames.finish(throwing: error)
                }
            }
            let writer = Task {
                while let bytes = await outgoing.take() {
                    do {
                        try await outbound.write(ByteBuffer(bytes: bytes))
                        outgoing.completed(nil)
                    } catch {
                        outgoing.completed(error)
                        frames.wake()
                        return
                    }
                    frames.wake()
                }
            }
            defer {
                reader.cancel()
                writer.cancel()
            }
            /// Computes the next frame the session has ready and queues it for the writer; false
            /// when it has none.
            func sendOne() throws -> Bool {
                guard let f = try session.nextOutbound() else { return false }
                let bytes = f.encoded()
                limits.transcript?.sent(bytes)
                outgoing.enqueue(bytes)
                stats.framesOut += 1
                stats.bytesOut += bytes.count
                update()
                progress?(stats)
                return true
            }
            func receive(_ frame: Frame) throws {
                stats.queuedBytesPeak = frames.peakBytes
                stats.framesIn += 1
                stats.bytesIn += Frame.headerBytes + frame.payload.count
                limits.transcript?.received(frame)
                try session.receive(frame)
                update()
                progress?(stats)
            }
            /// Tells the peer why the session stopped: the writer stops, and the ABORT goes out
            /// unless the peer has stopped reading.
            func sendAbort(_ error: Error) async {
                writer.cancel()
                let bytes = session.abortFrame(for: error).encoded()
                _ = try? await withTimeout(.seconds(5)) { () async throws -> Bool in
                    try await outbound.write(ByteBuffer(bytes: bytes))
                    return true
                }
            }
            var sentLast = false
            do {
                try session.begin()
                while !session.isFinished {
                    if let failure = outgoing.error { throw failure }
                    // Turn about: one frame that has arrived, then one outbound frame if the
                    // writer has room; wait only when there is neither. Both parties keep
                    // computing, and neither queue grows by more than a few frames.
                    var progressed = false
                    if let frame = try frames.poll() {
                        try receive(frame)
                        progressed = true
                        if session.isFinished { break }
                    }
                    if outgoing.hasRoom, try sendOne() {
                        if session.isFinished { sentLast = true }
                        progressed = true
                    }
                    if progressed { continue }
                    if frames.drained {
                        if let seen = verifier.seen, seen != verifier.expected { throw tlsOrTransport(ChannelError.eof) }
                        if deadline.fired { throw tlsOrTransport(ChannelError.eof) }
                        throw RunnerError(.peer, "the peer closed the connection while \(session.stateDescription)")
                    }
                    // Nothing to do until the peer's next frame arrives or a write completes; the
                    // peer owes one of the two within the idle timeout (a peer that trickles bytes
                    // or reads nothing does not reset it).
                    let writing = !outgoing.isIdle
                    let woke = try await withTimeout(timeout) { () async -> Bool in
                        await frames.waitForActivity()
                        return true
                    }
                    guard woke != nil else {
                        let seconds = timeout.components.seconds
                        throw RunnerError(
                            .peer,
                            writing
                                ? "the peer read nothing this party sent for \(seconds) s while \(session.stateDescription)"
                                : "no complete frame from the peer for \(seconds) s while \(session.stateDescription)")
                    }
                }
                // A finished session may still hold frames for the peer (the result it receives); a
                // peer that reads none of them for the idle timeout ends the run.
                func waitForWriter(_ condition: OutgoingFrames.Condition) async throws {
                    let done = try await withTimeout(timeout) { () async -> Bool in
                        await outgoing.wait(until: condition)
                        return true
                    }
                    if let failure = outgoing.error { throw failure }
                    guard done != nil else {
                        throw RunnerError(
                            .peer, "the peer read nothing this party sent for \(timeout.components.seconds) s after the session finished")
                    }
                }
                while true {
                    try await waitForWriter(.room)
                    guard try sendOne() else { break }
                    sentLast = true
                }
                try await waitForWriter(.idle)
                outgoing.close()
            } catch let error as RunnerError {
                throw error
            } catch let error as CleanRoomProtocolError {
                if case .peerAborted = error { throw tlsOrTransport(error) }
                await sendAbort(error)
                // A refusal under the policy (the peer's set size, a session limit) is a refusal here too.
                throw RunnerError(AbortMessage.code(for: error) == AbortMessage.policyCode ? .policy : .session, error.description)
            } catch let error as CleanRoomCryptoError {
                await sendAbort(error)
                throw RunnerError(.session, error.description)
            } catch {
                throw tlsOrTransport(await settled(error, frames, session: session))
            }
            if sentLast {
                // We sent the final frame: wait for the peer to close, so it surely arrived.
                let underlying = channel.channel
                let closer = Task {
                    try await Task.sleep(for: .seconds(30))
                    underlying.close(promise: nil)
                }
                while (try? await frames.next()) != nil {}
                closer.cancel()
            }
            guard session.isFinished else {
                throw RunnerError(.session, "the session ended without a result while \(session.stateDescription)")
            }
        }
    }
}

/// Carries the (non-Sendable) session into the channel's task; only that task touches it.
final class SessionBox<Session: SessionDriving>: @unchecked Sendable {
    let session: Session
    init(_ session: Session) { self.session = session }
}

/// The error to report for a failed write or read. When the channel was closed under us, the
/// frames that did arrive name the cause: the peer's ABORT (its refusal must not be lost because
/// our write failed first), or else the reader's own error, such as a TLS alert.
func settled<Session: SessionDriving>(_ error: Error, _ frames: FrameQueue, session: Session) async -> Error {
    guard error is ChannelError else { return error }
    let abort = AbortCatcher()
    _ = try? await withTimeout(.seconds(2)) {
        while let frame = try? await frames.next() {
            if frame.type == .abort { abort.frame = frame }
        }
    }
    if let frame = abort.frame {
        // The session decodes (caps, sanitises) the ABORT as it does any frame.
        do { try session.receive(frame) } catch let aborted as CleanRoomProtocolError {
            if case .peerAborted = aborted { return aborted }
        } catch {}
    }
    if let failure = frames.readerError, TransportErrors.isTLS(failure) { return failure }
    return error
}

/// The ABORT seen while draining a closed channel.
final class AbortCatcher: @unchecked Sendable {
    private let lock = NSLock()
    private var _frame: Frame?
    var frame: Frame? {
        get { lock.withLock { _frame } }
        set { lock.withLock { _frame = newValue } }
    }
}

/// Classifies transport errors by their type.
enum TransportErrors {
    /// True for errors raised by the TLS layer (swift-nio-ssl and BoringSSL).
    static func isTLS(_ error: Error) -> Bool {
        error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError
    }
}
