// Errors of the runner: each names the stage that failed, so both operators can tell what went
// wrong without reading logs.

/// The stages of `cleanroom run`.
public enum RunStage: String, Sendable {
    case configuration = "collaboration file"
    case identity = "TLS identity"
    case data = "input data"
    case policy = "policy"
    case listen = "listening"
    case connect = "connecting"
    case tls = "TLS handshake"
    case session = "session"
    case peer = "peer"
    case output = "writing the result"
}

/// A failed run, with the stage and a message a person can act on.
public struct RunnerError: Error, CustomStringConvertible, Sendable {
    public var stage: RunStage
    public var message: String
    /// Deviations of the peer found without aborting before the session failed (the collaboration
    /// is frozen all the same).
    public var anomalies: [String]?

    public init(_ stage: RunStage, _ message: String) {
        self.stage = stage
        self.message = message
    }

    public var description: String { "\(stage.rawValue): \(message)" }
}
