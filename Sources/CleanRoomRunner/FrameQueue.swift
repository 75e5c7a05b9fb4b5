// The queue between the task that reads the peer's frames off the socket and the task that drives
// the session, and the deadline every session runs under.
import CleanRoomProtocol
import Foundation
import NIOCore

/// Frames from the reader task, in order: `poll` takes one without waiting, `next` waits for one.
/// The end of the stream (or the reader's error) is reported after every queued frame.
final class FrameQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var frames: [Frame?] = []  // taken entries are nil, so their payloads are freed at once
    private var head = 0
    private var ended = false
    private var failure: Error?
    private var waiter: CheckedContinuation<Void, Never>?
    private var queuedBytes = 0
    private var peak = 0

    /// Most payload bytes queued at once so far.
    var peakBytes: Int { lock.withLock { peak } }

    /// The reader's error, once it ended with one.
    var readerError: Error? { lock.withLock { ended ? failure : nil } }

    func push(_ frame: Frame) {
        let w: CheckedContinuation<Void, Never>? = lock.withLock {
            frames.append(frame)
            queuedBytes += frame.payload.count
            peak = max(peak, queuedBytes)
            defer { waiter = nil }
            return waiter
        }
        w?.resume()
    }

    func finish(throwing error: Error?) {
        let w: CheckedContinuation<Void, Never>? = lock.withLock {
            ended = true
            failure = error
            defer { waiter = nil }
            return waiter
        }
        w?.resume()
    }

    /// The next frame if one is queued; nil if none is (yet); throws the reader's error once
    /// every frame before it has been taken.
    func poll() throws -> Frame? {
        try lock.withLock {
            if head < frames.count { return take() }
            if let failure, ended { throw failure }
            return nil
        }
    }

    /// The next frame, waiting for it; nil at the end of the stream.
    func next() async throws -> Frame? {
        while true {
            let ready: Bool = try lock.withLock {
                if head < frames.count || ended { return true }
                return false
            }
            if ready {
                return try lock.withLock {
                    if head < frames.count { return take() }
                    if let failure { throw failure }
                    return nil
                }
            }
            try Task.checkCancellation()
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let resumeNow: Bool = lock.withLock {
                        // (a cancellation that came before this point finds no waiter to wake)
                        if head < frames.count || ended || Task.isCancelled { return true }
                        waiter = c
                        return false
                    }
                    if resumeNow { c.resume() }
                }
            } onCancel: {
                // Wake the waiter; the loop above then sees the cancellation.
                let w: CheckedContinuation<Void, Never>? = lock.withLock {
                    defer { waiter = nil }
                    return waiter
                }
                w?.resume()
            }
        }
    }

    /// Removes the head frame (lock held); compacts the array once half of it is consumed.
    private func take() -> Frame {
        let f = frames[head]!
        frames[head] = nil
        head += 1
        queuedBytes -= f.payload.count
        if head >= 64 && head * 2 >= frames.count {
            frames.removeFirst(head)
            head = 0
        }
        return f
    }
}

/// Closes the channel when the session passes its deadline, and remembers that it did.
final class SessionDeadline: @unchecked Sendable {
    private let lock = NSLock()
    private var _fired = false
    /// True once the deadline closed the channel.
    var fired: Bool { lock.withLock { _fired } }
    let duration: Duration

    init(_ duration: Duration) { self.duration = duration }

    /// Sleeps until the deadline, then closes `channel` (cancel the task to disarm it).
    func arm(_ channel: Channel) -> Task<Void, Never> {
        Task {
            guard (try? await Task.sleep(for: duration)) != nil else { return }
            lock.withLock { _fired = true }
            channel.close(promise: nil)
        }
    }
}
