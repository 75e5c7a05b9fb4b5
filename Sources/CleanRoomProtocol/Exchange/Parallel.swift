// Splitting batch work across cores. Sessions parallelise inside a batch (hashing, blinding,
// encryption, tags) with a fixed partition of the batch per worker, so the result does not
// depend on scheduling.
import Foundation

/// Wraps a value that is safe to share for the duration of one parallel loop (disjoint slices
/// of one buffer, read-only objects).
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Runs `body` over `count` items split into one contiguous chunk per worker (at most
/// `parallelism` workers, none for fewer than 64 items each); worker indices are 0-based and
/// distinct. The first error thrown by any worker is rethrown after all have finished.
func parallelFor(_ count: Int, parallelism: Int, _ body: (Range<Int>, Int) throws -> Void) throws {
    let workers = min(parallelism, max(1, count / 64))
    if workers <= 1 {
        try body(0..<count, 0)
        return
    }
    let chunk = (count + workers - 1) / workers
    let errors = ErrorBox()
    withoutActuallyEscaping(body) { body in
        let shared = UnsafeSendable(body)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let range = (w * chunk)..<Swift.min(count, (w + 1) * chunk)
            guard !range.isEmpty else { return }
            do { try shared.value(range, w) } catch { errors.record(error) }
        }
    }
    if let error = errors.first { throw error }
}

/// The first error of a parallel loop.
final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var error: Error?
    func record(_ e: Error) { lock.withLock { if error == nil { error = e } } }
    var first: Error? { lock.withLock { error } }
}
