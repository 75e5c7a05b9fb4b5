// The queue between the task that reads the peer's frames off the socket and the task that drives
// the session, and the deadline every session runs under.
import CleanRoomProtocol
import Foundation
import NIOCore

/// Frames from the reader task, in order: `poll` takes one without waiting, `next` waits for one.
/// The end of the stream (or the reader's error) is reported after every queued frame.
///
/// The queue is bounded: `push` waits while it holds `capacityFrames` frames or `capacityBytes`
/// payload bytes (one frame of any size is always admitted), so the reader stops taking bytes
/// from the channel, NIO stops reading the socket, and TCP flow control holds the peer back.
/// What a peer can make this party hold is then a few frames, whatever it sends.
final class FrameQueue: @unchecked Sendable {
    /// Default bounds: enough to keep the session busy while the next frames are read.
    static let defaultCapacityFrames = 8
    static let defaultCapacityBytes = 8 << 20

    private let lock = NSLock()
    private var frames: [Frame?] = []  // taken entries are nil, so their payloads are freed at once
    private var head = 0
    private var ended = false
    private var failure: Error?
    private var waiter: CheckedContinuation<Void, Never>?
    /// The reader, waiting for room.
    private var pusher: CheckedContinuation<Void, Never>?
    /// Set by `wake()`: something other than a frame happened (a write completed).
    private var woken = false
    private var queuedBytes = 0
    private var peak = 0
    private let capacityFrames: Int
    private let capacityBytes: Int

    init(capacityFrames: Int = FrameQueue.defaultCapacityFrames, capacityBytes: Int = FrameQueue.defaultCapacityBytes) {
        self.capacityFrames = max(1, capacityFrames)
        self.capacityBytes = capacityBytes
    }

    /// Most payload bytes queued at once so far.
    var peakBytes: Int { lock.withLock { peak } }

    /// The reader's error, once it ended with one.
    var readerError: Error? { lock.withLock { ended ? failure : nil } }

    /// True once the stream ended without an error and every frame has been taken.
    var drained: Bool { lock.withLock { ended && failure == nil && head == frames.count } }

    /// Queues a frame once there is room for it.
    /// - Throws: `CancellationError` when the reader is cancelled while it waits.
    func push(_ frame: Frame) async throws {
        while !lock.withLock({ hasRoom(for: frame.payload.count) }) {
            try Task.checkCancellation()
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let resumeNow: Bool = lock.withLock {
                        if hasRoom(for: frame.payload.count) || Task.isCancelled { return true }
                        pusher = c
                        return false
                    }
                    if resumeNow { c.resume() }
                }
            } onCancel: {
                let p: CheckedContinuation<Void, Never>? = lock.withLock {
                    defer { pusher = nil }
                    return pusher
                }
                p?.resume()
            }
        }
        let w: CheckedContinuation<Void, Never>? = lock.withLock {
            frames.append(frame)
            queuedBytes += frame.payload.count
            peak = max(peak, queuedBytes)
            defer { waiter = nil }
            return waiter
        }
        w?.resume()
    }

    /// True when a frame of `bytes` payload bytes may be queued (lock held).
    private func hasRoom(for bytes: Int) -> Bool {
        let count = frames.count - head
        return count == 0 || (count < capacityFrames && queuedBytes + bytes <= capacityBytes)
    }

    /// Wakes `waitForActivity` (a write completed, or failed).
    func wake() {
        let w: CheckedContinuation<Void, Never>? = lock.withLock {
            woken = true
            defer { waiter = nil }
            return waiter
        }
        w?.resume()
    }

    /// Returns once a frame is queued, the stream ended, or `wake()` was called since the last
    /// return; at once if any of these already holds.
    func waitForActivity() async {
        let ready: Bool = lock.withLock {
            if head < frames.count || ended || woken {
                woken = false
                return true
            }
            return false
        }
        if ready { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow: Bool = lock.withLock {
                    if head < frames.count || ended || woken || Task.isCancelled { return true }
                    waiter = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            let w: CheckedContinuation<Void, Never>? = lock.withLock {
                defer { waiter = nil }
                return waiter
            }
            w?.resume()
        }
        lock.withLock { woken = false }
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

    /// Removes the head frame (lock held), waking the reader if it waits for room; compacts the
    /// array once half of it is consumed.
    private func take() -> Frame {
        let f = frames[head]!
        frames[head] = nil
        head += 1
        queuedBytes -= f.payload.count
        if head >= 64 && head * 2 >= frames.count {
            frames.removeFirst(head)
            head = 0
        }
        if let p = pusher {
            pusher = nil
            p.resume()  // resuming only schedules the reader; it takes the lock after we release it
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

/// Frames on their way to the peer. One writer task writes them in order while the driver goes on
/// taking the peer's frames, so a peer that stops reading never stops this party from reading (two
/// parties that both stream at once cannot block each other), and what waits here is at most
/// `capacity` frames: the driver computes the next one only when there is room.
final class OutgoingFrames: @unchecked Sendable {
    private let lock = NSLock()
    private var queue: [[UInt8]] = []
    private var writing = false
    private var closed = false
    private var failure: Error?
    /// The writer task, waiting for a frame.
    private var writer: CheckedContinuation<Void, Never>?
    /// The driver, waiting for a write to complete.
    private var driver: CheckedContinuation<Void, Never>?
    let capacity: Int

    init(capacity: Int = 2) { self.capacity = max(1, capacity) }

    /// True when the driver may queue another frame.
    var hasRoom: Bool { lock.withLock { holds(.room) } }
    /// True when every queued frame has been written.
    var isIdle: Bool { lock.withLock { holds(.idle) } }
    /// The error of the write that failed, if one did.
    var error: Error? { lock.withLock { failure } }

    /// Queues encoded frame bytes for the writer.
    func enqueue(_ bytes: [UInt8]) {
        let w: CheckedContinuation<Void, Never>? = lock.withLock {
            queue.append(bytes)
            defer { writer = nil }
            return writer
        }
        w?.resume()
    }

    /// The writer's next frame, waiting for one; nil once cancelled or after `close()`.
    func take() async -> [UInt8]? {
        while true {
            let next: [UInt8]?? = lock.withLock {
                if !queue.isEmpty {
                    writing = true
                    return .some(queue.removeFirst())
                }
                return closed || Task.isCancelled ? .some(nil) : nil
            }
            if let next { return next }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let resumeNow: Bool = lock.withLock {
                        if !queue.isEmpty || closed || Task.isCancelled { return true }
                        writer = c
                        return false
                    }
                    if resumeNow { c.resume() }
                }
            } onCancel: {
                let w: CheckedContinuation<Void, Never>? = lock.withLock {
                    defer { writer = nil }
                    return writer
                }
                w?.resume()
            }
        }
    }

    /// The writer finished a write, successfully (`error` nil) or not.
    func completed(_ error: Error?) {
        let d: CheckedContinuation<Void, Never>? = lock.withLock {
            writing = false
            if let error, failure == nil { failure = error }
            defer { driver = nil }
            return driver
        }
        d?.resume()
    }

    /// Ends the writer once the queue is empty.
    func close() {
        let w: CheckedContinuation<Void, Never>? = lock.withLock {
            closed = true
            defer { writer = nil }
            return writer
        }
        w?.resume()
    }

    /// What `wait` waits for.
    enum Condition {
        /// Room for another frame.
        case room
        /// Every frame written.
        case idle
    }

    /// True when `condition` holds (lock held).
    private func holds(_ condition: Condition) -> Bool {
        switch condition {
        case .room: return queue.count + (writing ? 1 : 0) < capacity
        case .idle: return queue.isEmpty && !writing
        }
    }

    /// Returns once `condition` holds or a write failed (checked under the lock, so a completed
    /// write cannot slip between the check and the wait).
    func wait(until condition: Condition) async {
        while true {
            if lock.withLock({ failure != nil || holds(condition) }) { return }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let resumeNow: Bool = lock.withLock {
                        if failure != nil || holds(condition) || Task.isCancelled { return true }
                        driver = c
                        return false
                    }
                    if resumeNow { c.resume() }
                }
            } onCancel: {
                let d: CheckedContinuation<Void, Never>? = lock.withLock {
                    defer { driver = nil }
                    return driver
                }
                d?.resume()
            }
            if Task.isCancelled { return }
        }
    }

}
