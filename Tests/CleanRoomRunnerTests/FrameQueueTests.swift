import CleanRoomProtocol
import Foundation
import Testing

@testable import CleanRoomRunner

/// The queue between the socket reader and the session driver.
@Suite struct FrameQueueTests {
    func frame(_ n: UInt8, bytes: Int = 4) -> Frame { Frame(type: .p1Elements, payload: [UInt8](repeating: n, count: bytes)) }

    @Test func framesComeOutInOrderThenTheEnd() async throws {
        let q = FrameQueue(capacityFrames: 1000)
        #expect(try q.poll() == nil)
        for n in 0..<200 { try await q.push(frame(UInt8(n))) }
        #expect(q.peakBytes == 800)
        for n in 0..<100 { #expect(try q.poll() == frame(UInt8(n))) }
        for n in 100..<200 { #expect(try await q.next() == frame(UInt8(n))) }
        #expect(try q.poll() == nil)
        q.finish(throwing: nil)
        #expect(try await q.next() == nil)
    }

    @Test func theReadersErrorComesAfterTheQueuedFrames() async throws {
        struct Broken: Error {}
        let q = FrameQueue()
        try await q.push(frame(1))
        q.finish(throwing: Broken())
        #expect(try q.poll() == frame(1))
        #expect(throws: Broken.self) { try q.poll() }
        await #expect(throws: Broken.self) { try await q.next() }
    }

    @Test func aWaitingTakerWakesOnPushAndOnCancellation() async throws {
        let q = FrameQueue()
        let taker = Task { try await q.next() }
        try await Task.sleep(for: .milliseconds(50))
        try await q.push(frame(7))
        #expect(try await taker.value == frame(7))

        let cancelled = Task { try await q.next() }
        try await Task.sleep(for: .milliseconds(50))
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
    }

    /// The reader waits while the queue is full (so NIO stops reading the socket), and resumes
    /// when the driver takes a frame.
    @Test func aFullQueueHoldsTheReaderBack() async throws {
        let q = FrameQueue(capacityFrames: 3, capacityBytes: 1 << 20)
        let pushed = Counter()
        let reader = Task {
            for n in 0..<10 {
                try await q.push(frame(UInt8(n)))
                pushed.add()
            }
        }
        // Polled with a deadline, not a fixed sleep: the reader gets 3 frames in, and no more
        // while the queue is full (checked again after a while).
        try await Self.eventually { pushed.value == 3 }
        try await Task.sleep(for: .milliseconds(50))
        #expect(pushed.value == 3)
        #expect(try q.poll() == frame(0))
        try await Self.eventually { pushed.value == 4 }
        for n in 1..<10 { #expect(try await q.next() == frame(UInt8(n))) }
        try await reader.value
        #expect(q.peakBytes <= 3 * 4)
    }

    /// The byte bound: frames are admitted while they fit, and one frame of any size always is.
    @Test func theByteBoundAdmitsOneLargeFrame() async throws {
        let q = FrameQueue(capacityFrames: 100, capacityBytes: 10)
        try await q.push(frame(1, bytes: 6))
        let second = Task { try await q.push(frame(2, bytes: 6)) }
        try await Task.sleep(for: .milliseconds(50))
        #expect(q.peakBytes == 6)  // (whenever the task ran: it cannot push before the poll below)
        #expect(try q.poll() == frame(1, bytes: 6))
        try await second.value
        #expect(try q.poll() == frame(2, bytes: 6))
        try await q.push(frame(3, bytes: 1000))
        #expect(q.peakBytes == 1000)
    }

    @Test func aReaderWaitingForRoomStopsWhenCancelled() async throws {
        let q = FrameQueue(capacityFrames: 1)
        try await q.push(frame(1))
        let reader = Task { try await q.push(frame(2)) }
        try await Task.sleep(for: .milliseconds(50))
        reader.cancel()
        await #expect(throws: CancellationError.self) { try await reader.value }
    }

    @Test func wakeEndsAWaitForActivity() async throws {
        let q = FrameQueue()
        let waiter = Task { await q.waitForActivity() }
        try await Task.sleep(for: .milliseconds(50))
        q.wake()
        await waiter.value
        // A wake that came first is not lost.
        q.wake()
        await q.waitForActivity()
    }

    /// The writer side: at most `capacity` frames wait, they are taken in order, and a failed
    /// write is reported to the driver.
    @Test func outgoingFramesAreBoundedAndOrdered() async throws {
        struct Broken: Error {}
        let out = OutgoingFrames(capacity: 2)
        #expect(out.hasRoom && out.isIdle)
        out.enqueue([1])
        out.enqueue([2])
        #expect(!out.hasRoom)
        #expect(await out.take() == [1])
        #expect(!out.hasRoom)  // one being written, one queued
        out.completed(nil)
        #expect(out.hasRoom && !out.isIdle)
        #expect(await out.take() == [2])
        out.completed(Broken())
        #expect(out.error is Broken)
        await out.wait(until: .idle)
        out.close()
        #expect(await out.take() == nil)
    }
}

extension FrameQueueTests {
    /// Waits up to 10 s for `condition`, polling; records an issue if it never holds.
    static func eventually(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(condition(), "the condition did not hold within 10 s")
    }
}

/// A counter shared with a task.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    var value: Int { lock.withLock { n } }
    func add() { lock.withLock { n += 1 } }
}
