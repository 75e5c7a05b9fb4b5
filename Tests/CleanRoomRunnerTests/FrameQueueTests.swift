import CleanRoomProtocol
import Foundation
import Testing

@testable import CleanRoomRunner

/// The queue between the socket reader and the session driver.
@Suite struct FrameQueueTests {
    func frame(_ n: UInt8, bytes: Int = 4) -> Frame { Frame(type: .p1Elements, payload: [UInt8](repeating: n, count: bytes)) }

    @Test func framesComeOutInOrderThenTheEnd() async throws {
        let q = FrameQueue()
        #expect(try q.poll() == nil)
        for n in 0..<200 { q.push(frame(UInt8(n))) }
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
        q.push(frame(1))
        q.finish(throwing: Broken())
        #expect(try q.poll() == frame(1))
        #expect(throws: Broken.self) { try q.poll() }
        await #expect(throws: Broken.self) { try await q.next() }
    }

    @Test func aWaitingTakerWakesOnPushAndOnCancellation() async throws {
        let q = FrameQueue()
        let taker = Task { try await q.next() }
        try await Task.sleep(for: .milliseconds(50))
        q.push(frame(7))
        #expect(try await taker.value == frame(7))

        let cancelled = Task { try await q.next() }
        try await Task.sleep(for: .milliseconds(50))
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
    }
}
