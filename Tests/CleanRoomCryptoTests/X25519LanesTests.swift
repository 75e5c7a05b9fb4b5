import Foundation
import Testing

@testable import CleanRoomCrypto

/// Why the kernel tests are skipped, when they are: shown in the test report.
let ifmaSkipReason: Comment = "this CPU lacks AVX-512 IFMA (or CLEANROOM_DISABLE_IFMA is set): the IFMA X25519 kernel cannot run here"

/// One X25519 vector case (Vectors/x25519_*.json).
struct X25519VectorCase {
    let id: String
    let scalar: [UInt8]
    let u: [UInt8]
    let shared: [UInt8]
    let iterations: Int?
    let mustReject: Bool

    static func load(_ file: String) throws -> [X25519VectorCase] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Vectors/\(file)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let cases = try #require(json["cases"] as? [[String: Any]])
        return cases.map {
            X25519VectorCase(
                id: $0["id"] as! String, scalar: hex($0["private"] as! String), u: hex($0["public"] as! String),
                shared: hex($0["shared"] as! String), iterations: $0["iterations"] as? Int,
                mustReject: $0["expected"] as? String == "reject")
        }
    }
}

/// p = 2²⁵⁵ − 19 plus `k`, little-endian, as 32 bytes (k may make it exceed 2²⁵⁵; the top bit is
/// then set, which X25519 ignores).
func pPlus(_ k: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0xff, count: 32)
    out[31] = 0x7f
    var carry = 0xed + k
    for i in 0..<32 {
        carry += i == 0 ? 0 : Int(out[i])
        out[i] = UInt8(truncatingIfNeeded: carry)
        carry >>= 8
    }
    return out
}

@Suite struct X25519LanesTests {
    static let files = ["x25519_rfc7748.json", "x25519_wycheproof.json"]

    /// Runs every case of `file` through `evaluate` (kernel or OpenSSL), eight different scalars
    /// per kernel call, and checks each result or rejection.
    func checkVectors(_ file: String, accelerated: Bool) throws {
        let cases = try X25519VectorCase.load(file)
        let single = cases.filter { $0.iterations == nil }
        let got = try X25519Lanes.evaluate(scalars: single.map(\.scalar), u: single.map(\.u), accelerated: accelerated)
        for (c, r) in zip(single, got) {
            if c.mustReject {
                #expect(r == nil, "\(c.id): expected an all-zero result")
            } else {
                #expect(r == c.shared, "\(c.id)")
            }
        }
        // RFC 7748 §5.2 iterated test: k, u ← X25519(k, u), k.
        for c in cases where c.iterations != nil {
            var k = c.scalar, u = c.scalar
            for _ in 0..<c.iterations! {
                let next = try #require(try X25519Lanes.evaluate(scalars: [k], u: [u], accelerated: accelerated)[0])
                u = k
                k = next
            }
            #expect(k == c.shared, "\(c.id)")
        }
        #expect(cases.count == (file == "x25519_rfc7748.json" ? 8 : 518))
    }

    @Test(.enabled(if: X25519Lanes.isAvailable, ifmaSkipReason), arguments: files)
    func everyVectorThroughTheKernel(file: String) throws {
        try checkVectors(file, accelerated: true)
    }

    @Test(arguments: files)
    func everyVectorThroughOpenSSL(file: String) throws {
        try checkVectors(file, accelerated: false)
    }

    /// u = 0, 1, p − 1, p, p + 1, …, 2²⁵⁵ − 1, the same with the top bit set, 2²⁵⁶ − 1, and u = 9;
    /// scalars random, all-zero and all-ones (clamping makes them valid).
    static func edgeInputs() -> [[UInt8]] {
        var us: [[UInt8]] = [
            [UInt8](repeating: 0, count: 32), [1] + [UInt8](repeating: 0, count: 31), [9] + [UInt8](repeating: 0, count: 31),
        ]
        for k in -2...18 { us.append(pPlus(k)) }
        for k in [-1, 0, 1, 18] {
            var u = pPlus(k)
            u[31] |= 0x80
            us.append(u)
        }
        us.append([UInt8](repeating: 0xff, count: 32))
        var twoTo255Minus1 = [UInt8](repeating: 0xff, count: 32)
        twoTo255Minus1[31] = 0x7f
        us.append(twoTo255Minus1)
        // values just below 2^255 that have all but one of their top limbs full
        for byte in [0, 7, 13, 19, 26] {
            var u = twoTo255Minus1
            u[byte] = 0
            us.append(u)
        }
        return us
    }

    @Test(.enabled(if: X25519Lanes.isAvailable, ifmaSkipReason))
    func edgeValuesMatchOpenSSL() throws {
        let us = Self.edgeInputs()
        var scalars: [[UInt8]] = [[UInt8](repeating: 0, count: 32), [UInt8](repeating: 0xff, count: 32)]
        for _ in 0..<6 { scalars.append(try SecureRandom.bytes(32)) }
        var ks: [[UInt8]] = [], ps: [[UInt8]] = []
        for k in scalars {
            for u in us {
                ks.append(k)
                ps.append(u)
            }
        }
        let kernel = try X25519Lanes.evaluate(scalars: ks, u: ps, accelerated: true)
        let reference = try X25519Lanes.evaluate(scalars: ks, u: ps, accelerated: false)
        var zeros = 0
        for i in 0..<ks.count {
            #expect(kernel[i] == reference[i], "k=\(Hex.encode(ks[i])) u=\(Hex.encode(ps[i]))")
            if reference[i] == nil { zeros += 1 }
        }
        // 0, 1, p − 1, p, p + 1 and their top-bit twins are low order for every scalar
        #expect(zeros >= 8 * 8)
    }

    /// The kernel against OpenSSL on 10,000 random (scalar, u) pairs (u uniform in 32 bytes, so
    /// twist points, non-canonical values and set top bits all occur), a different scalar per lane.
    @Test(.enabled(if: X25519Lanes.isAvailable, ifmaSkipReason))
    func randomPairsMatchOpenSSL() throws {
        let n = 10_000
        let ks = try (0..<n).map { _ in try SecureRandom.bytes(32) }
        let us = try (0..<n).map { _ in try SecureRandom.bytes(32) }
        let kernel = try X25519Lanes.evaluate(scalars: ks, u: us, accelerated: true)
        var mismatches = 0
        for i in 0..<n where try kernel[i] != X25519Lanes.openSSL(scalar: ks[i], u: us[i]) {
            mismatches += 1
            Issue.record("mismatch at \(i): k=\(Hex.encode(ks[i])) u=\(Hex.encode(us[i]))")
            if mismatches > 5 { break }
        }
        #expect(mismatches == 0)
    }

    /// Stride 0 (the session's one scalar for every lane) gives what eight copies of it give.
    @Test(.enabled(if: X25519Lanes.isAvailable, ifmaSkipReason))
    func oneScalarForAllLanesMatchesPerLaneScalars() throws {
        let k = try SecureRandom.bytes(32)
        let us = try (0..<8).map { _ in try SecureRandom.bytes(32) }
        var shared = [UInt8](repeating: 0, count: 256), perLane = [UInt8](repeating: 0, count: 256)
        let flat = us.flatMap { $0 }
        let eight = Array(repeating: k, count: 8).flatMap { $0 }
        let m1 = k.withUnsafeBytes { kb in
            flat.withUnsafeBytes { u in shared.withUnsafeMutableBytes { X25519Lanes.evaluate8(scalars: kb, u: u, into: $0) } }
        }
        let m2 = eight.withUnsafeBytes { kb in
            flat.withUnsafeBytes { u in perLane.withUnsafeMutableBytes { X25519Lanes.evaluate8(scalars: kb, u: u, into: $0) } }
        }
        #expect(m1 == 0 && m2 == 0)
        #expect(shared == perLane)
        for i in 0..<8 {
            #expect(Array(shared[(32 * i)..<(32 * i + 32)]) == (try X25519Lanes.openSSL(scalar: k, u: us[i])))
        }
    }

    @Test(.enabled(if: X25519Lanes.isAvailable, ifmaSkipReason))
    func zeroLanesAreReported() throws {
        let k = try SecureRandom.bytes(32)
        var us = try (0..<8).map { _ in try HashToCurve25519().hashToU(try SecureRandom.bytes(8)) }
        us[2] = pPlus(0)  // p ≡ 0
        us[7] = BlindingTests.lowOrder[3]
        var out = [UInt8](repeating: 0xaa, count: 256)
        let mask = k.withUnsafeBytes { kb in
            us.flatMap { $0 }.withUnsafeBytes { u in out.withUnsafeMutableBytes { X25519Lanes.evaluate8(scalars: kb, u: u, into: $0) } }
        }
        #expect(mask == 0b1000_0100)
        #expect(out[64..<96].allSatisfy { $0 == 0 })
    }
}

@Suite struct BlindingIFMATests {
    @Test func keysReportTheirPath() throws {
        #expect(try BlindingKey().isAccelerated == X25519Lanes.isAvailable)
        #expect(try BlindingKey(accelerated: false).isAccelerated == false)
    }

    /// Batches of every length from 1 to 41 (full groups and every tail) give the same bytes on
    /// both paths.
    @Test func batchesMatchTheOpenSSLPath() throws {
        let scalar = try SecureRandom.bytes(32)
        let fast = try BlindingKey(privateScalar: scalar), slow = try BlindingKey(privateScalar: scalar, accelerated: false)
        let hasher = try HashToCurve25519()
        let points = try (0..<41).flatMap { try hasher.hashToU(Array("row \($0)".utf8)) }
        for n in 1...41 {
            let input = Array(points[0..<(32 * n)])
            var a = [UInt8](repeating: 0, count: input.count), b = a
            try input.withUnsafeBytes { i in try a.withUnsafeMutableBytes { try fast.blindBatch(i, into: $0) } }
            try input.withUnsafeBytes { i in try b.withUnsafeMutableBytes { try slow.blindBatch(i, into: $0) } }
            #expect(a == b, "n = \(n)")
        }
    }

    /// `lowOrderPoint(index:)` names the first failing element, in a full group or in the tail,
    /// and every output before it is valid, on both paths.
    @Test(arguments: [(21, [3]), (21, [8, 4]), (21, [17]), (21, [20]), (16, [15, 9]), (5, [0]), (8, [7])])
    func lowOrderIndexIsTheFirst(count: Int, bad: [Int]) throws {
        let scalar = try SecureRandom.bytes(32)
        let hasher = try HashToCurve25519()
        var input = try (0..<count).flatMap { try hasher.hashToU(Array("x\($0)".utf8)) }
        for (j, i) in bad.enumerated() {
            input.replaceSubrange((32 * i)..<(32 * i + 32), with: BlindingTests.lowOrder[j % BlindingTests.lowOrder.count])
        }
        let first = bad.min()!
        for accelerated in [true, false] {
            let key = try BlindingKey(privateScalar: scalar, accelerated: accelerated)
            var out = [UInt8](repeating: 0, count: input.count)
            #expect(throws: CleanRoomCryptoError.lowOrderPoint(index: first)) {
                try input.withUnsafeBytes { i in try out.withUnsafeMutableBytes { try key.blindBatch(i, into: $0) } }
            }
            for i in 0..<first {
                #expect(Array(out[(32 * i)..<(32 * i + 32)]) == (try key.blind(Array(input[(32 * i)..<(32 * i + 32)]))))
            }
        }
    }
}
