// One party's side of a clean-room session, in the shape of Google's Private Join and Compute
// (Ion et al., "On Deploying Secure Computing: Private Intersection-Sum-with-Cardinality",
// EuroS&P 2020): commutative blinding H(x)^k over curve25519 and Paillier sums. A session consumes
// frames and returns frames to send; it never touches sockets or files, so the same code runs
// in-process in tests and over TLS in the runner.
//
// This type is the lifecycle every kind shares (start, receive, outbound frames, finish, fail,
// wipe); the exchange of the party's role and the strategy of the analysis kind do the rest
// (Exchange/, Sessions/<Kind>/). Invariants it keeps for every kind:
// - once finished or failed it produces no frame but the last ones the exchange released with its
//   result, and its secrets are gone;
// - a session finishes only when everything it had to send has been sent, so a peer that answers
//   early cannot make it accept a result or send half an element stream with forgotten keys.
//
// Security model: semi-honest parties, as in the paper. Every peer value is still validated
// (lengths, counts against announcements and policy, canonical encodings, duplicates, low-order
// points, Paillier key and ciphertext range, group tags), so a hostile peer gets a typed error, not
// a crash; validation never depends on whether an element matched, so an abort does not reveal
// membership. What each party learns per analysis is listed in docs/protocol.md.
// Thread safety: not thread-safe; drive one session from one task.
import CleanRoomCrypto
import Foundation

/// What a transport needs of a session: the handful of members `SessionRunner` and
/// `InMemorySession` use.
public protocol SessionDriving: AnyObject {
    /// This party's name.
    var party: String { get }
    /// Starts the session; the HELLO is then available from `nextOutbound()`.
    func begin() throws
    /// Consumes one frame from the peer; replies become available from `nextOutbound()`.
    func receive(_ frame: Frame) throws
    /// The next frame to send, computed now if it is part of an element stream; nil when there
    /// is nothing to send until the peer's next frame arrives.
    func nextOutbound() throws -> Frame?
    /// True once the exchange with the peer is over (nothing more to receive; what is left to
    /// send is in `nextOutbound()`).
    var isFinished: Bool { get }
    /// The result, once the session has finished and concluded.
    var result: SessionResult? { get }
    /// This party's result, computed now if the exchange left local work for after the connection
    /// closed (call it after closing). Throws `sessionClosed` unless the session has finished.
    func conclude() throws -> SessionResult
    /// What the session is doing, for progress and error messages.
    var stateDescription: String { get }
    /// Elements blinded so far and in all (0 until the peer's set size is known).
    var elementProgress: (done: Int, total: Int) { get }
    /// What the peer may legitimately send in this session, for the transport's bounds.
    var limits: SessionLimits { get }
    /// The ABORT frame telling the peer why this session stopped.
    func abortFrame(for error: Error) -> Frame
    /// What the peer did that an honest peer cannot, found without aborting, so far (also after
    /// the session failed).
    var anomalies: [String] { get }
}

extension SessionDriving {
    public var anomalies: [String] { [] }
    public func conclude() throws -> SessionResult {
        guard let result else { throw CleanRoomProtocolError.sessionClosed }
        return result
    }
}

/// Bounds a transport enforces on what the peer sends, derived from the policy.
public struct SessionLimits: Sendable, Equatable {
    /// The most bytes the peer can send in an honest session at the largest set sizes the
    /// policy allows (frame headers included), plus room for the handshake and the answers.
    public var maxPeerBytes: Int
    /// The longest an honest session may take at the largest set sizes the policy allows.
    public var maxDuration: Duration
}

/// One party's side of a clean-room session.
public final class PartySession: SessionDriving {
    public let collaboration: Collaboration
    public let analysis: Analysis
    public let party: String
    public let peer: String
    public let role: Role
    public let digest: [UInt8]
    /// This party's prepared set (unique identifiers and what belongs to them).
    let prepared: PreparedSet

    private let random: AnyRandomSource
    /// Both roles blind with one key; tests read it while the session runs.
    let blinder: Blinder
    private let exchange: any RoleExchange
    private var outbox = Outbox()

    private enum Lifecycle {
        case new
        case running
        case finished(SessionResult)
        /// Finished on the wire; the result is computed by `conclude()`.
        case concluding(() throws -> SessionResult)
        case failed
    }
    private var lifecycle = Lifecycle.new

    /// Prepares a session for `party` running the analysis `analysisName` on a whole table.
    /// - Parameters:
    ///   - input: this party's rows.
    ///   - random: randomness for keys, shuffles and nonces; sessions use OpenSSL's DRBG.
    ///     Deterministic sources exist only for transcript tests.
    ///   - batchSize: elements per frame (1...65536).
    ///   - parallelism: worker threads for hashing, blinding, encryption and tags (default: all
    ///     cores). Transcript replays use 1, so that a seeded source is drawn in a fixed order.
    /// - Throws: `unknownAnalysis`, `unknownParty`, `missingColumn`, `invalidRow`,
    ///   `setSizeOutOfPolicy` (own set outside the policy: nothing is sent), `tooManyGroups` (P1 has more
    ///   groups of at least `min_group_size` identifiers than `max_groups`).
    public convenience init(
        collaboration: Collaboration, analysis analysisName: String, party: String, input: some PartyData,
        random: any RandomSource = SecureRandom.system, batchSize: Int = 16_384,
        parallelism: Int = ProcessInfo.processInfo.activeProcessorCount
    ) throws {
        var source = TableSource(input)
        try self.init(
            collaboration: collaboration, analysis: analysisName, party: party, source: &source, random: random, batchSize: batchSize,
            parallelism: parallelism)
    }

    /// Prepares a session for `party` running the analysis `analysisName`, reading its rows from
    /// `source` batch by batch (only the prepared set is kept).
    /// - Parameters: as the table initializer; `source` is read to its end.
    /// - Throws: as the table initializer, and the source's own errors.
    public init(
        collaboration: Collaboration, analysis analysisName: String, party: String, source: inout some RowSource,
        random: any RandomSource = SecureRandom.system, batchSize: Int = 16_384,
        parallelism: Int = ProcessInfo.processInfo.activeProcessorCount
    ) throws {
        precondition((1...ElementBatch.maxCount).contains(batchSize), "batch size must be 1...65536")
        let analysis = try collaboration.analysis(named: analysisName)
        self.collaboration = collaboration
        self.analysis = analysis
        self.party = try collaboration.party(named: party).name
        self.peer = try collaboration.peer(of: party)
        self.role = analysis.role(of: party, in: collaboration)
        self.digest = try collaboration.digest()
        self.random = AnyRandomSource(random)
        // Row references are kept only where a result names rows.
        prepared = try InputPreparation.prepare(
            &source, party: party, analysis: analysis,
            keepReferences: analysis.kind == .intersection || analysis.enrichmentSpec?.receiver == party)
        let bounds = analysis.bounds(of: party)
        guard prepared.identifiers.count >= bounds.min, prepared.usedRows <= bounds.max else {
            throw CleanRoomProtocolError.setSizeOutOfPolicy(
                party: party, size: prepared.usedRows > bounds.max ? prepared.usedRows : prepared.identifiers.count,
                min: bounds.min, max: bounds.max)
        }
        // P1 puts only groups of at least min_group_size own identifiers in the session, and no
        // more of them than max_groups (P2 refuses more entries than that).
        if role == .p1, let grouping = analysis.sumSpec?.grouping {
            // With privacy every group is in the session: whether a group of P1's own reaches
            // min_group_size depends on one person, and its presence would show in the release.
            let eligible = prepared.groups(withAtLeast: analysis.privacy == nil ? grouping.minGroupSize : 1).count
            guard eligible > 0 else {
                throw CleanRoomProtocolError.noGroupLargeEnough(party: party, minGroupSize: grouping.minGroupSize)
            }
            guard eligible <= grouping.maxGroups else {
                throw CleanRoomProtocolError.tooManyGroups(
                    party: party, groups: eligible, minGroupSize: grouping.minGroupSize, maxGroups: grouping.maxGroups)
            }
        }
        let context = SessionContext(
            analysis: analysis, party: party, peer: peer, role: role, digest: digest, random: self.random, prepared: prepared,
            batchSize: batchSize, parallelism: max(1, parallelism))
        blinder = try Blinder(using: self.random, parallelism: max(1, parallelism))
        exchange = try Self.makeExchange(context, blinder: blinder)
    }

    /// The exchange of this party's role with its kind's strategy: the one place that knows
    /// every kind.
    private static func makeExchange(_ c: SessionContext, blinder: Blinder) throws -> any RoleExchange {
        typealias Store = SortedElementStore
        switch (c.analysis.spec, c.role) {
        case (.cardinality, .p1):
            return P1Exchange<CardinalityP1, Store>(context: c, strategy: try CardinalityP1(context: c), blinder: blinder)
        case (.cardinality, .p2):
            return P2Exchange<CardinalityP2>(context: c, strategy: CardinalityP2(context: c), blinder: blinder)
        case (.intersection, .p1):
            return P1Exchange<IntersectionP1, Store>(context: c, strategy: IntersectionP1(context: c), blinder: blinder)
        case (.intersection, .p2):
            return P2Exchange<IntersectionP2>(context: c, strategy: IntersectionP2(context: c), blinder: blinder)
        case (.intersectionSum(let spec), .p1):
            return P1Exchange<IntersectionSumP1, Store>(
                context: c, strategy: try IntersectionSumP1(context: c, spec: spec), blinder: blinder)
        case (.intersectionSum(let spec), .p2):
            return P2Exchange<IntersectionSumP2>(
                context: c, strategy: try IntersectionSumP2(context: c, spec: spec), blinder: blinder)
        // Enrichment is an OPRF exchange, not the commutative blinding of the other kinds.
        case (.enrichment(let spec), .p1):
            return EnrichmentReceiver(context: c, spec: spec)
        case (.enrichment(let spec), .p2):
            return EnrichmentSender(context: c, spec: spec)
        }
    }

    deinit {
        // A session dropped while running (a transport error) or finished on the wire but never
        // concluded still holds its secrets.
        switch lifecycle {
        case .running, .concluding: exchange.wipe()
        case .new, .finished, .failed: break
        }
    }

    // MARK: State

    public var result: SessionResult? {
        if case .finished(let r) = lifecycle { return r }
        return nil
    }

    public var isFinished: Bool {
        switch lifecycle {
        case .finished, .concluding: return true
        case .new, .running, .failed: return false
        }
    }

    /// This party's result. An exchange that left work for after the connection closed (the
    /// enrichment receiver's matching) does it now, so call this once the connection is closed.
    /// - Throws: `sessionClosed` unless the session has finished; errors of the local work (the
    ///   session is then failed).
    public func conclude() throws -> SessionResult {
        switch lifecycle {
        case .finished(let r): return r
        case .concluding(let work):
            let r = try failing { try work() }
            lifecycle = .finished(r)
            exchange.wipe()
            return r
        case .new, .running, .failed: throw CleanRoomProtocolError.sessionClosed
        }
    }
    public var anomalies: [String] { exchange.anomalies }

    /// When set before `begin()`, the session sends its HELLO and refuses at the peer's first
    /// message with this reason (a policy refusal, ABORT code 3): a limit this party keeps across
    /// sessions (`max_sessions`) is reached, and the peer is told so in the handshake, before any
    /// element is sent.
    public var refusal: String?

    public var stateDescription: String {
        switch lifecycle {
        case .new: return "not started"
        case .running: return exchange.phaseDescription
        case .finished: return "finished"
        case .concluding: return "finished, concluding locally"
        case .failed: return "failed"
        }
    }

    public var elementProgress: (done: Int, total: Int) { exchange.elementProgress }

    public var limits: SessionLimits { SessionLimits.derive(analysis: analysis, role: role, peer: peer) }

    // MARK: Driving

    /// Starts the session and returns every frame to send first (HELLO). Equivalent to
    /// `begin()` followed by draining `nextOutbound()`.
    public func start() throws -> [Frame] {
        try begin()
        return try drainOutbound()
    }

    public func begin() throws {
        guard case .new = lifecycle else { throw CleanRoomProtocolError.sessionClosed }
        let nonce = try SecureRandom.bytes(32, using: random)
        lifecycle = .running
        outbox.send(exchange.hello(nonce: nonce))
    }

    /// Consumes one frame from the peer and returns every frame to send in reply (computing
    /// large element streams at once; the runner uses `receive` and `nextOutbound` instead).
    /// - Throws: a `CleanRoomProtocolError` or `CleanRoomCryptoError`; the session is then failed
    ///   and the caller should send `abortFrame(for:)` and close.
    public func handle(_ frame: Frame) throws -> [Frame] {
        try receive(frame)
        return try drainOutbound()
    }

    /// - Throws: as `handle(_:)`.
    public func receive(_ frame: Frame) throws {
        switch lifecycle {
        case .running: break
        case .new: try failing { throw CleanRoomProtocolError.unexpectedMessage(type: frame.type.description, state: "not started") }
        case .finished, .concluding, .failed: throw CleanRoomProtocolError.sessionClosed
        }
        try failing {
            if frame.type == .abort {
                let a = try AbortMessage.decode(frame)
                throw CleanRoomProtocolError.peerAborted(code: a.code, reason: a.reason)
            }
            if let refusal { throw CleanRoomProtocolError.limitReached(reason: refusal) }
            let unsent = !outbox.isEmpty
            switch try exchange.handle(frame, outbox: &outbox) {
            case .continuing:
                break
            case .finished(let result, let last):
                // An honest peer answers only after everything we send has reached it.
                guard !unsent else {
                    throw CleanRoomProtocolError.unexpectedMessage(
                        type: frame.type.description, state: "still sending this party's own messages")
                }
                outbox.removeAll()
                outbox.send(last)
                lifecycle = .finished(result)
                exchange.wipe()
            case .finishedAfterClose(let work):
                guard !unsent else {
                    throw CleanRoomProtocolError.unexpectedMessage(
                        type: frame.type.description, state: "still sending this party's own messages")
                }
                outbox.removeAll()
                lifecycle = .concluding(work)
            }
        }
    }

    public func nextOutbound() throws -> Frame? {
        switch lifecycle {
        case .new, .failed: return nil
        case .running, .finished, .concluding: return try failing { try outbox.next() }
        }
    }

    private func drainOutbound() throws -> [Frame] {
        var frames: [Frame] = []
        while let f = try nextOutbound() { frames.append(f) }
        return frames
    }

    /// Runs `body`; on any error the session fails, drops what it had to send and forgets its
    /// secrets.
    private func failing<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch {
            lifecycle = .failed
            outbox.removeAll()
            exchange.wipe()
            throw error
        }
    }

    /// The peer is told what it did wrong (codes 1-4) or which policy limit stopped the session
    /// (3), but never the text of an error of this party's own (code 5): that text can carry its
    /// own data (a row, a length, a position in its set).
    public func abortFrame(for error: Error) -> Frame {
        let code = AbortMessage.code(for: error)
        let reason = code == AbortMessage.localCode ? "the session stopped on an error on this party's side" : String(describing: error)
        return AbortMessage(code: code, reason: reason).frame()
    }

    /// Half-open ranges of at most `batchSize` elements, each frame staying well under the
    /// frame limit for records of `width` bytes.
    static func batchRanges(total: Int, batchSize: Int, width: Int) -> [Range<Int>] {
        SessionContext.batchRanges(total: total, batchSize: batchSize, width: width)
    }
}
