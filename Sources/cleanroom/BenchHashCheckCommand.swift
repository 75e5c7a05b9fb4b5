// `cleanroom bench h2c-check`: hashToUBatch on the IFMA hash-to-curve kernel against the GMP path
// over many random messages; any difference fails the command.
import ArgumentParser
import CleanRoomCrypto
import Foundation

extension BenchCommand {
    struct HashCheck: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "h2c-check",
            abstract: "Differential check of the AVX-512 IFMA hash-to-curve kernel against the GMP path (exits non-zero on any mismatch)."
        )

        @Option(help: "Number of random messages to hash both ways.")
        var messages: Int = 1_000_000

        @Option(help: "Worker threads (default: active processors).")
        var threads: Int = ProcessInfo.processInfo.activeProcessorCount

        /// Messages per work item; items end in a short group (4093 = 8·511 + 5).
        static let perItem = 4093

        /// What the workers add up, behind a lock.
        final class State: @unchecked Sendable {
            private let lock = NSLock()
            private var tally = Tally()
            private var done = 0
            private var error: Error?

            var total: Tally { lock.withLock { tally } }
            var failure: Error? { lock.withLock { error } }

            func fail(_ e: Error) { lock.withLock { error = e } }

            func add(_ t: Tally, items: Int, start: ContinuousClock.Instant) {
                lock.withLock {
                    tally.messages += t.messages
                    tally.mismatches += t.mismatches
                    if tally.firstMismatch == nil { tally.firstMismatch = t.firstMismatch }
                    done += 1
                    if items >= 20 && done % (items / 20) == 0 {
                        let s = (ContinuousClock.now - start).seconds
                        print(
                            String(
                                format: "  %3d%%  %d messages  %.0f s  mismatches %d", done * 100 / items, tally.messages, s,
                                tally.mismatches))
                        fflush(nil)
                    }
                }
            }
        }

        struct Tally {
            var messages = 0, mismatches = 0
            var firstMismatch: String?
        }

        func run() throws {
            guard messages > 0, threads > 0 else { throw ValidationError("--messages and --threads must be positive") }
            guard X25519Lanes.isAvailable else {
                print(
                    "h2c-check: the IFMA kernel is not available here (no AVX-512 IFMA, or CLEANROOM_DISABLE_IFMA is set); nothing to check"
                )
                throw ExitCode.failure
            }
            let items = (messages + Self.perItem - 1) / Self.perItem
            print("h2c-check: \(messages) random messages (0–80 bytes, CleanRoom DST), \(items) work items, \(threads) threads")
            let state = State()
            let start = ContinuousClock.now
            let workers = min(threads, items)
            let messages = self.messages
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                do {
                    let fast = try HashToCurve25519(), slow = try HashToCurve25519(accelerated: false)
                    precondition(fast.isAccelerated && !slow.isAccelerated)
                    for item in stride(from: worker, to: items, by: workers) {
                        let count = min(Self.perItem, messages - item * Self.perItem)
                        state.add(try Self.checkItem(count: count, fast: fast, slow: slow), items: items, start: start)
                    }
                } catch {
                    state.fail(error)
                }
            }
            let total = state.total
            let failure = state.failure
            if let failure { throw failure }
            let seconds = (ContinuousClock.now - start).seconds
            print(
                String(
                    format: "h2c-check: %d messages, %d mismatches, %.1f s (%.0f messages/s, both paths)", total.messages,
                    total.mismatches, seconds, Double(total.messages) / seconds))
            if let first = total.firstMismatch {
                print("first mismatch: \(first)")
                throw ExitCode.failure
            }
        }

        /// Hashes `count` random messages with both hashers and compares the outputs.
        static func checkItem(count: Int, fast: HashToCurve25519, slow: HashToCurve25519) throws -> Tally {
            let lengths = try SecureRandom.bytes(count)
            var flat: [UInt8] = []
            var offsets = [0]
            for l in lengths {
                flat += try SecureRandom.bytes(Int(l) % 81)
                offsets.append(flat.count)
            }
            var a = [UInt64](repeating: 0, count: 4 * count), b = a
            var scratch = [UInt64](repeating: 0, count: 8 * count)
            try flat.withUnsafeBytes { all in
                try scratch.withUnsafeMutableBytes { s in
                    func run(_ h: HashToCurve25519, _ o: UnsafeMutableRawBufferPointer) throws {
                        try h.hashToUBatch(
                            count: count, message: { UnsafeRawBufferPointer(rebasing: all[offsets[$0]..<offsets[$0 + 1]]) }, output: o,
                            scratch: s)
                    }
                    try a.withUnsafeMutableBytes { try run(fast, $0) }
                    try b.withUnsafeMutableBytes { try run(slow, $0) }
                }
            }
            var t = Tally(messages: count)
            for i in 0..<count where a[(4 * i)..<(4 * i + 4)] != b[(4 * i)..<(4 * i + 4)] {
                t.mismatches += 1
                if t.firstMismatch == nil {
                    let msg = Hex.encode(Array(flat[offsets[i]..<offsets[i + 1]]))
                    let ka = a[(4 * i)..<(4 * i + 4)].withUnsafeBytes { Hex.encode(Array($0)) }
                    let kb = b[(4 * i)..<(4 * i + 4)].withUnsafeBytes { Hex.encode(Array($0)) }
                    t.firstMismatch = "msg=\(msg) kernel=\(ka) gmp=\(kb)"
                }
            }
            return t
        }
    }
}
