// `cleanroom bench x25519-check`: the IFMA X25519 kernel against OpenSSL's EVP X25519 over many
// random (scalar, u) pairs with edge values mixed in; any difference fails the command.
import ArgumentParser
import CleanRoomCrypto
import Foundation

extension BenchCommand {
    struct X25519Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "x25519-check",
            abstract: "Differential check of the AVX-512 IFMA X25519 kernel against OpenSSL (exits non-zero on any mismatch)."
        )

        @Option(help: "Number of (scalar, u) pairs to check.")
        var pairs: Int = 1_000_000

        @Option(help: "Worker threads (default: active processors).")
        var threads: Int = ProcessInfo.processInfo.activeProcessorCount

        /// Pairs per work item: eight lanes, each with its own scalar, times this many groups.
        static let groups = 256

        /// u-coordinates at the edges of the field and of the 52-bit limbs, and low-order points.
        static let edgeU: [[UInt8]] = {
            func le(_ f: (Int) -> UInt8) -> [UInt8] { (0..<32).map(f) }
            var us: [[UInt8]] = []
            for k in 0..<40 {  // p − 2 … p + 37 (u ≥ 2^255 wraps into the top bit, which X25519 ignores)
                var v = [UInt8](repeating: 0xff, count: 32)
                v[31] = 0x7f
                var carry = 0xeb + k
                for i in 0..<32 {
                    carry += i == 0 ? 0 : Int(v[i])
                    v[i] = UInt8(truncatingIfNeeded: carry)
                    carry >>= 8
                }
                us.append(v)
            }
            for small in [0, 1, 2, 3, 9, 255] { us.append(le { $0 == 0 ? UInt8(small) : 0 }) }
            us.append([UInt8](repeating: 0xff, count: 32))
            // one 52-bit limb all ones or all zeros, the rest the opposite
            for limb in 0..<5 {
                us.append(le { i in (i * 8 / 52 == limb) ? 0xff : 0x00 })
                us.append(le { i in (i * 8 / 52 == limb) ? 0x00 : 0xff })
            }
            us.append(hex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"))  // order 8 (RFC 7748 §6.1)
            us.append(hex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"))
            return us
        }()

        static func hex(_ s: String) -> [UInt8] {
            var out: [UInt8] = []
            var i = s.startIndex
            while i < s.endIndex {
                let j = s.index(i, offsetBy: 2)
                out.append(UInt8(s[i..<j], radix: 16)!)
                i = j
            }
            return out
        }

        /// What the workers add up, behind a lock.
        final class CheckState: @unchecked Sendable {
            private let lock = NSLock()
            private var tally = Tally()
            private var done = 0
            private var error: Error?

            var total: Tally { lock.withLock { tally } }
            var failure: Error? { lock.withLock { error } }
            var failed: Bool { failure != nil }

            func fail(_ e: Error) { lock.withLock { error = e } }

            func add(_ t: Tally, items: Int, start: ContinuousClock.Instant) {
                lock.withLock {
                    tally.pairs += t.pairs
                    tally.zeros += t.zeros
                    tally.edges += t.edges
                    tally.mismatches += t.mismatches
                    if tally.firstMismatch == nil { tally.firstMismatch = t.firstMismatch }
                    done += 1
                    if items >= 20 && done % (items / 20) == 0 {
                        let s = (ContinuousClock.now - start).seconds
                        print(
                            String(format: "  %3d%%  %d pairs  %.0f s  mismatches %d", done * 100 / items, tally.pairs, s, tally.mismatches)
                        )
                        fflush(nil)
                    }
                }
            }
        }

        struct Tally {
            var pairs = 0, zeros = 0, edges = 0, mismatches = 0
            var firstMismatch: String?
        }

        func run() throws {
            guard pairs > 0 else { throw ValidationError("--pairs must be positive") }
            guard X25519Lanes.isAvailable else {
                print(
                    "x25519-check: the IFMA kernel is not available here (no AVX-512 IFMA, or CLEANROOM_DISABLE_IFMA is set);",
                    terminator: "")
                print(" nothing to check")
                throw ExitCode.failure
            }
            let perItem = 8 * Self.groups
            let items = (pairs + perItem - 1) / perItem
            print("x25519-check: \(pairs) pairs, \(items) work items of \(perItem), \(threads) threads, ", terminator: "")
            print("\(Self.edgeU.count) edge u-values mixed in")
            let state = CheckState()
            let start = ContinuousClock.now
            let queue = DispatchQueue(label: "x25519-check", attributes: .concurrent)
            let group = DispatchGroup()
            let semaphore = DispatchSemaphore(value: threads)
            for item in 0..<items {
                semaphore.wait()
                if state.failed {
                    semaphore.signal()
                    break
                }
                let count = min(perItem, pairs - item * perItem)
                queue.async(group: group) {
                    defer { semaphore.signal() }
                    do {
                        state.add(try Self.checkItem(item: item, count: count), items: items, start: start)
                    } catch {
                        state.fail(error)
                    }
                }
            }
            group.wait()
            if let failure = state.failure { throw failure }
            let total = state.total
            let seconds = (ContinuousClock.now - start).seconds
            print(
                String(
                    format: "x25519-check: %d pairs (%d edge u-values, %d all-zero results on both sides), %d mismatches, "
                        + "%.1f s (%.0f pairs/s)",
                    total.pairs, total.edges, total.zeros, total.mismatches, seconds, Double(total.pairs) / seconds))
            if let first = total.firstMismatch {
                print("first mismatch: \(first)")
                throw ExitCode.failure
            }
        }

        /// Checks `count` pairs: eight random scalars (one per lane; item 0 also uses the all-zero
        /// and all-ones scalars), u random, with one in 16 replaced by an edge value (item 0: all).
        static func checkItem(item: Int, count: Int) throws -> Tally {
            var t = Tally()
            let groups = (count + 7) / 8
            var scalars = try SecureRandom.bytes(256)
            if item == 0 {
                scalars.replaceSubrange(0..<32, with: [UInt8](repeating: 0, count: 32))
                scalars.replaceSubrange(32..<64, with: [UInt8](repeating: 0xff, count: 32))
            }
            var u = try SecureRandom.bytes(256 * groups)
            let pick = try SecureRandom.bytes(2 * 8 * groups)
            for i in 0..<(8 * groups) where item == 0 || pick[2 * i] & 15 == 0 {
                let e = edgeU[item == 0 ? i % edgeU.count : Int(pick[2 * i + 1]) % edgeU.count]
                u.replaceSubrange((32 * i)..<(32 * i + 32), with: e)
                t.edges += 1
            }
            var kernel = [UInt8](repeating: 0, count: 256 * groups)
            var kernelZero = [Bool](repeating: false, count: 8 * groups)
            scalars.withUnsafeBytes { k in
                u.withUnsafeBytes { ub in
                    kernel.withUnsafeMutableBytes { out in
                        for g in 0..<groups {
                            let r = (256 * g)..<(256 * g + 256)
                            let mask = X25519Lanes.evaluate8(
                                scalars: k, u: UnsafeRawBufferPointer(rebasing: ub[r]),
                                into: UnsafeMutableRawBufferPointer(rebasing: out[r]))!
                            for lane in 0..<8 where mask & (1 << lane) != 0 { kernelZero[8 * g + lane] = true }
                        }
                    }
                }
            }
            // OpenSSL: per lane, one key and one batch of that lane's u-values, restarted after
            // each all-zero result (which the batch reports as lowOrderPoint).
            for lane in 0..<8 {
                let key = try BlindingKey(privateScalar: Array(scalars[(32 * lane)..<(32 * lane + 32)]), accelerated: false)
                var laneU = [UInt8](repeating: 0, count: 32 * groups)
                for g in 0..<groups {
                    laneU.replaceSubrange((32 * g)..<(32 * g + 32), with: u[(256 * g + 32 * lane)..<(256 * g + 32 * lane + 32)])
                }
                var reference = [UInt8](repeating: 0, count: 32 * groups)
                var zero = [Bool](repeating: false, count: groups)
                var from = 0
                while from < groups {
                    do {
                        try laneU.withUnsafeBytes { i in
                            try reference.withUnsafeMutableBytes { o in
                                try key.blindBatch(
                                    UnsafeRawBufferPointer(rebasing: i[(32 * from)...]),
                                    into: UnsafeMutableRawBufferPointer(rebasing: o[(32 * from)...]))
                            }
                        }
                        from = groups
                    } catch CleanRoomCryptoError.lowOrderPoint(let index) {
                        zero[from + index] = true
                        from += index + 1
                    }
                }
                for g in 0..<groups where 8 * g + lane < count {
                    t.pairs += 1
                    let got = kernel[(256 * g + 32 * lane)..<(256 * g + 32 * lane + 32)]
                    let want = reference[(32 * g)..<(32 * g + 32)]
                    if zero[g] { t.zeros += 1 }
                    if zero[g] != kernelZero[8 * g + lane] || (!zero[g] && !got.elementsEqual(want)) {
                        t.mismatches += 1
                        if t.firstMismatch == nil {
                            let k = Hex.encode(Array(scalars[(32 * lane)..<(32 * lane + 32)]))
                            let uHex = Hex.encode(Array(laneU[(32 * g)..<(32 * g + 32)]))
                            let kernelText = kernelZero[8 * g + lane] ? "zero" : Hex.encode(Array(got))
                            t.firstMismatch = "k=\(k) u=\(uHex) kernel=\(kernelText) openssl=\(zero[g] ? "zero" : Hex.encode(Array(want)))"
                        }
                    }
                }
            }
            secureWipe(&scalars)
            return t
        }
    }
}
