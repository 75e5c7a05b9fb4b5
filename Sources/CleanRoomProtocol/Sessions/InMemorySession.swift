// Runs two sessions against each other in one process, frame by frame, through the real codec
// (every frame is encoded to bytes and decoded again). Used by tests and by transcript vectors.

/// One frame of a recorded session.
public struct TranscriptEntry: Sendable, Equatable {
    /// The sending party.
    public var from: String
    /// The frame's bytes (header and payload).
    public var bytes: [UInt8]
}

/// A session that failed, with the error each side saw.
public struct SessionFailure: Error, CustomStringConvertible {
    /// The party whose session raised the error first.
    public var party: String
    public var error: Error
    /// What the other party saw after receiving the ABORT (normally `peerAborted`).
    public var peerError: Error?
    public var transcript: [TranscriptEntry]

    public var description: String { "\(party): \(error)" }
}

/// Drives two `PartySession`s to completion in memory.
public enum InMemorySession {
    /// Runs both sessions; frames are delivered in FIFO order, alternating between the parties.
    /// - Parameter tamper: test hook; may replace (or drop, returning nil) a frame's bytes in flight.
    /// - Returns: both results and the transcript.
    /// - Throws: `SessionFailure` when either side fails; the other side is sent the ABORT.
    public static func run(
        _ a: PartySession, _ b: PartySession,
        tamper: ((_ from: String, _ index: Int, _ bytes: [UInt8]) -> [UInt8]?)? = nil
    ) throws -> (SessionResult, SessionResult, [TranscriptEntry]) {
        var transcript: [TranscriptEntry] = []
        var queues: [[Frame]] = [try a.start(), try b.start()]
        let sessions = [a, b]
        var decoders = [FrameDecoder(), FrameDecoder()]
        var sent = [0, 0]
        var turn = 0
        var idleRounds = 0
        while !(a.isFinished && b.isFinished) {
            let from = turn, to = 1 - turn
            turn = to
            if queues[from].isEmpty {
                idleRounds += 1
                if idleRounds > 2 {
                    throw SessionFailure(
                        party: sessions[0].party, error: CleanRoomProtocolError.unexpectedMessage(type: "nothing", state: "deadlocked"),
                        transcript: transcript)
                }
                continue
            }
            idleRounds = 0
            let frames = queues[from]
            queues[from] = []
            for frame in frames {
                var bytes = frame.encoded()
                if let tamper {
                    guard let replaced = tamper(sessions[from].party, sent[from], bytes) else { sent[from] += 1; continue }
                    bytes = replaced
                }
                sent[from] += 1
                transcript.append(TranscriptEntry(from: sessions[from].party, bytes: bytes))
                do {
                    decoders[to].append(bytes)
                    while let received = try decoders[to].next() {
                        queues[to] += try sessions[to].handle(received)
                    }
                } catch {
                    // The receiver failed: it tells the sender why.
                    let abort = sessions[to].abortFrame(for: error)
                    transcript.append(TranscriptEntry(from: sessions[to].party, bytes: abort.encoded()))
                    var peerError: Error?
                    do { _ = try sessions[from].handle(abort) } catch { peerError = error }
                    throw SessionFailure(party: sessions[to].party, error: error, peerError: peerError, transcript: transcript)
                }
            }
        }
        // Both exchanges are over: each party concludes (as the runner does after closing).
        var results: [SessionResult] = []
        for s in sessions {
            do { results.append(try s.conclude()) } catch {
                throw SessionFailure(party: s.party, error: error, transcript: transcript)
            }
        }
        return (results[0], results[1], transcript)
    }
}
