// Mutually authenticated TLS 1.3 between the two parties (SwiftNIO + swift-nio-ssl). Each side
// presents its self-signed certificate; trust is the SHA-256 fingerprint pinned in the
// collaboration file, checked in the handshake's verification callback, so a peer with any other
// certificate is refused before a single protocol byte is exchanged.
import CleanRoomCrypto
import CleanRoomProtocol
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// Everything the transport needs to know about this party and its peer.
public struct TransportConfiguration: Sendable {
    public var certificatePEM: String
    public var privateKeyPEM: String
    /// The peer's pinned certificate fingerprint (64 hex digits).
    public var peerFingerprint: String
    /// Give up when this party waits for the peer and no complete frame arrives for this long.
    public var idleTimeout: Duration
    /// How long the connecting side keeps retrying, and the listening side waits for the peer.
    public var connectTimeout: Duration

    public init(
        certificatePEM: String, privateKeyPEM: String, peerFingerprint: String,
        idleTimeout: Duration = .seconds(120), connectTimeout: Duration = .seconds(60)
    ) {
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
        self.peerFingerprint = peerFingerprint
        self.idleTimeout = idleTimeout
        self.connectTimeout = connectTimeout
    }
}

/// Records what the peer presented, so a refused handshake can say why.
final class PinnedCertificateVerifier: @unchecked Sendable {
    let expected: String
    private let lock = NSLock()
    private var _seen: String?
    var seen: String? { lock.withLock { _seen } }

    init(expected: String) { self.expected = expected }

    func verify(_ certificates: [NIOSSLCertificate], _ promise: EventLoopPromise<NIOSSLVerificationResult>) {
        guard let leaf = certificates.first, let der = try? leaf.toDERBytes(), let fp = try? TLSIdentity.fingerprint(derCertificate: der)
        else {
            promise.succeed(.failed)
            return
        }
        lock.withLock { _seen = fp }
        promise.succeed(fp == expected ? .certificateVerified : .failed)
    }
}

typealias FrameChannel = NIOAsyncChannel<ByteBuffer, ByteBuffer>

/// An accepted connection whose TLS handshake may still fail. A connection that is never taken
/// for the session (refused, or accepted while the listener was already done) finishes its writer
/// and closes when it is dropped: NIO traps on an async channel whose writer is dropped unfinished,
/// so a peer connecting again during a session's teardown could otherwise crash this process.
final class PendingConnection: @unchecked Sendable {
    let channel: FrameChannel
    let verifier: PinnedCertificateVerifier
    /// Succeeds when the handshake completes (the pinned certificate was verified).
    let handshake: EventLoopFuture<Void>
    private let lock = NSLock()
    private var taken = false  // under `lock`

    init(channel: FrameChannel, verifier: PinnedCertificateVerifier, handshake: EventLoopFuture<Void>) {
        self.channel = channel
        self.verifier = verifier
        self.handshake = handshake
    }

    /// The channel, for the session (which then finishes and closes it).
    func take() -> FrameChannel {
        lock.withLock { taken = true }
        return channel
    }

    deinit {
        guard !lock.withLock({ taken }) else { return }
        channel.outbound.finish()
        channel.channel.close(promise: nil)
    }
}

/// Completes its promise when the TLS handshake completes, or fails it when the connection errs or
/// closes first (once either way).
final class HandshakeWatcher: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let promise: EventLoopPromise<Void>
    private var completed = false  // touched on the channel's event loop only

    init(promise: EventLoopPromise<Void>) { self.promise = promise }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted? = event as? TLSUserEvent, !completed {
            completed = true
            promise.succeed(())
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if !completed {
            completed = true
            promise.fail(error)
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !completed {
            completed = true
            promise.fail(ChannelError.eof)
        }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { fail(ChannelError.ioOnClosedChannel) }

    /// Fails the promise unless it has completed (call on the channel's event loop).
    func fail(_ error: Error) {
        if !completed {
            completed = true
            promise.fail(error)
        }
    }
}

/// Why connections were refused, shared with the accept loop.
final class Refusals: @unchecked Sendable {
    private let lock = NSLock()
    private var reasons: [String] = []
    func add(_ reason: String) { lock.withLock { reasons.append(reason) } }
    var count: Int { lock.withLock { reasons.count } }
    var last: String? { lock.withLock { reasons.last } }
}

/// Opens the TLS connection to the peer, as the collaboration file says (listen or connect).
enum PeerTransport {
    static func tlsContext(_ config: TransportConfiguration, server: Bool) throws -> NIOSSLContext {
        do {
            let cert = try NIOSSLCertificate(bytes: Array(config.certificatePEM.utf8), format: .pem)
            let key = try NIOSSLPrivateKey(bytes: Array(config.privateKeyPEM.utf8), format: .pem)
            var tls =
                server
                ? TLSConfiguration.makeServerConfiguration(certificateChain: [.certificate(cert)], privateKey: .privateKey(key))
                : TLSConfiguration.makeClientConfiguration()
            if !server {
                tls.certificateChain = [.certificate(cert)]
                tls.privateKey = .privateKey(key)
            }
            tls.minimumTLSVersion = .tlsv13
            // Chain validation is replaced by the pinned-fingerprint callback; a certificate is
            // still required from both sides.
            tls.certificateVerification = .noHostnameVerification
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw RunnerError(.identity, "cannot use the certificate or key: \(error)")
        }
    }

    /// The TLS handler, then the async channel the driver reads and writes. Timeouts are the
    /// driver's: a complete frame within the idle timeout while it waits, and the session deadline
    /// (a byte-level read timeout here would fire while this party computes and the peer rightly
    /// waits, and would be reset by a peer trickling bytes).
    static func configure(_ channel: Channel, handler: ChannelHandler) throws -> FrameChannel {
        try channel.pipeline.syncOperations.addHandler(handler)
        return try FrameChannel(wrappingChannelSynchronously: channel)
    }

    /// Listens on `host:port` and runs `body` on the first connection whose peer completes TLS
    /// with the pinned certificate. Connections that fail the handshake (another certificate, no
    /// TLS, silence for 10 s) are closed, reported on stderr and not counted as the session; up to
    /// `maxRefusals` of them within the connect timeout.
    static func listen<R: Sendable>(
        host: String, port: Int, config: TransportConfiguration, group: EventLoopGroup,
        body: @escaping @Sendable (FrameChannel, PinnedCertificateVerifier) async throws -> R
    ) async throws -> R {
        let context = try tlsContext(config, server: true)
        let server: NIOAsyncChannel<PendingConnection, Never>
        do {
            server = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // One verifier per connection, so a stranger's certificate cannot be
                        // mistaken for the peer's.
                        let verifier = PinnedCertificateVerifier(expected: config.peerFingerprint)
                        let watcher = HandshakeWatcher(promise: channel.eventLoop.makePromise())
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLServerHandler(context: context, customVerificationCallback: verifier.verify))
                        try channel.pipeline.syncOperations.addHandler(watcher)
                        // A connection that never finishes the handshake is refused after 10 s.
                        channel.eventLoop.scheduleTask(in: .seconds(10)) { watcher.fail(ChannelError.connectTimeout(.seconds(10))) }
                        let frames = try FrameChannel(wrappingChannelSynchronously: channel)
                        return PendingConnection(channel: frames, verifier: verifier, handshake: watcher.promise.futureResult)
                    }
                }
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw RunnerError(.listen, "address \(host):\(port) is already in use")
        } catch {
            throw RunnerError(.listen, "cannot listen on \(host):\(port): \(error)")
        }
        let refusals = Refusals()
        return try await server.executeThenClose { connections in
            let accepted = try await withTimeout(config.connectTimeout) { () async throws -> PendingConnection? in
                var it = connections.makeAsyncIterator()
                while let pending = try await it.next() {
                    // Completes within 10 s either way (the watcher's own timer).
                    if (try? await pending.handshake.get()) != nil { return pending }
                    let reason =
                        pending.verifier.seen.map {
                            "a peer presented certificate \($0); the collaboration file pins \(config.peerFingerprint)"
                        }
                        ?? "a connection did not complete the TLS handshake"
                    refusals.add(reason)
                    FileHandle.standardError.write(Data("cleanroom: refused a connection: \(reason)\n".utf8))
                    try? await pending.channel.channel.close()
                    guard refusals.count < maxRefusals else { return nil }
                }
                return nil
            }
            guard let pending = accepted ?? nil else {
                if let last = refusals.last {
                    throw RunnerError(
                        .tls,
                        "no peer with the pinned certificate connected to \(host):\(port) within \(config.connectTimeout); refused \(refusals.count) connection(s), the last: \(last)"
                    )
                }
                throw RunnerError(.listen, "no peer connected to \(host):\(port) within \(config.connectTimeout)")
            }
            return try await body(pending.take(), pending.verifier)
        }
    }

    /// Connections that may fail the handshake before the listener gives up.
    static let maxRefusals = 16

    /// Connects to `host:port`, retrying with backoff while the peer is not up yet, then runs `body`.
    static func connect<R: Sendable>(
        host: String, port: Int, config: TransportConfiguration, group: EventLoopGroup,
        body: @escaping @Sendable (FrameChannel, PinnedCertificateVerifier) async throws -> R
    ) async throws -> R {
        let context = try tlsContext(config, server: false)
        let verifier = PinnedCertificateVerifier(expected: config.peerFingerprint)
        let deadline = ContinuousClock.now + config.connectTimeout
        var delay = Duration.milliseconds(100)
        var lastError: Error?
        while ContinuousClock.now < deadline {
            let channel: FrameChannel
            do {
                channel = try await ClientBootstrap(group: group)
                    .connectTimeout(.seconds(5))
                    .connect(host: host, port: port) { channel in
                        channel.eventLoop.makeCompletedFuture {
                            let handler = try NIOSSLClientHandler(
                                context: context, serverHostname: nil, customVerificationCallback: verifier.verify)
                            return try configure(channel, handler: handler)
                        }
                    }
            } catch {
                // Only failures to open the TCP connection are retried.
                guard isRetryable(error) else { throw RunnerError(.connect, "cannot connect to \(host):\(port): \(error)") }
                lastError = error
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(2))
                continue
            }
            // Connected: whatever the session does now, it is never retried on a new connection.
            return try await body(channel, verifier)
        }
        throw RunnerError(
            .connect, "gave up connecting to \(host):\(port) after \(config.connectTimeout): \(lastError.map { "\($0)" } ?? "timed out")")
    }

    static func isRetryable(_ error: Error) -> Bool {
        if let io = error as? IOError { return [ECONNREFUSED, ECONNRESET, ENETUNREACH, EHOSTUNREACH, ETIMEDOUT].contains(io.errnoCode) }
        if error is ChannelError { return true }
        // Host-name connects report refusals per address inside NIOConnectionError.
        if let e = error as? NIOConnectionError {
            return e.connectionErrors.allSatisfy { isRetryable($0.error) } && !e.connectionErrors.isEmpty
        }
        let text = "\(error)"
        return text.contains("connectTimeout") || text.contains("Connection refused") || text.contains("connection reset")
    }
}

/// Runs `operation`, failing with nil if it takes longer than `timeout`.
func withTimeout<T: Sendable>(_ timeout: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T? {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        let first = try await group.next()!
        group.cancelAll()
        return first
    }
}
