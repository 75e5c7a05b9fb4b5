import Foundation
import Testing

@testable import CleanRoomCrypto

/// The eight-lane IFMA hash-to-curve kernel (CCleanRoomShim/hash_to_curve_ifma.c) through
/// `hashToUBatch`: published vectors, and the GMP path as the reference. On a CPU without IFMA
/// (or with CLEANROOM_DISABLE_IFMA set) the kernel tests are skipped with that reason, recorded in
/// the test report, as the X25519 kernel's are; the GMP path they compare with runs everywhere.
@Suite struct HashToCurveIFMATests {
    /// hashToUBatch over `messages` (laid out back to back) with `hasher`: 32 bytes per message.
    static func batch(_ hasher: HashToCurve25519, _ messages: [[UInt8]]) throws -> [[UInt8]] {
        let flat = messages.flatMap { $0 }
        var offsets = [0]
        for m in messages { offsets.append(offsets.last! + m.count) }
        var out = [UInt64](repeating: 0, count: 4 * messages.count)
        var scratch = [UInt64](repeating: 0, count: 8 * messages.count)
        try flat.withUnsafeBytes { all in
            try out.withUnsafeMutableBytes { o in
                try scratch.withUnsafeMutableBytes { s in
                    try hasher.hashToUBatch(
                        count: messages.count,
                        message: { i in UnsafeRawBufferPointer(rebasing: all[offsets[i]..<offsets[i + 1]]) },
                        output: o, scratch: s)
                }
            }
        }
        let bytes = out.withUnsafeBytes { Array($0) }
        return (0..<messages.count).map { Array(bytes[(32 * $0)..<(32 * $0 + 32)]) }
    }

    /// One hash_to_curve case of Vectors/hash_to_curve_curve25519_*.json: DST, message, and P's
    /// u-coordinate as 32 little-endian bytes.
    struct VectorCase {
        let id: String
        let dst: [UInt8]
        let msg: [UInt8]
        let u: [UInt8]

        static func load(_ file: String) throws -> [VectorCase] {
            let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Vectors/\(file)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
            let cases = try #require(json["cases"] as? [[String: Any]])
            return try cases.map { c in
                func bytes(_ field: String) throws -> [UInt8] {
                    if let h = c[field + "_hex"] as? String { return try #require(Hex.decode(h)) }
                    let text = try #require(c[field] as? String)
                    return Array(text.utf8)
                }
                let p = try #require(c["P"] as? [String: String])
                let xHex = try #require(p["x"])
                let x = try #require(Hex.decode(xHex))
                let id = try #require(c["id"] as? String)
                return VectorCase(id: id, dst: try bytes("dst"), msg: try bytes("msg"), u: x.reversed())
            }
        }
    }

    /// Every RFC 9380 (J.4.1) and CleanRoom vector through the batch path: each DST's cases as one
    /// batch (a short group), then repeated to 8k + 3 messages so that each case also sits in full
    /// groups at other lanes.
    @Test(
        .enabled(if: X25519Lanes.isAvailable, ifmaSkipReason),
        arguments: ["hash_to_curve_curve25519_rfc9380.json", "hash_to_curve_curve25519_cleanroom.json"])
    func vectorsThroughTheKernel(file: String) throws {
        let cases = try VectorCase.load(file)
        #expect(cases.count >= 5)
        for dst in Set(cases.map(\.dst)) {
            let group = cases.filter { $0.dst == dst }
            let hasher = try HashToCurve25519(dst: dst)
            #expect(hasher.isAccelerated)
            for (c, got) in zip(group, try Self.batch(hasher, group.map(\.msg))) {
                #expect(got == c.u, "\(c.id)")
            }
            let repeated = (0..<(8 * group.count + 3)).map { group[$0 % group.count] }
            for (i, (c, got)) in zip(repeated, try Self.batch(hasher, repeated.map(\.msg))).enumerated() {
                #expect(got == c.u, "\(c.id) at index \(i)")
            }
        }
    }

    /// The kernel against the GMP path on 10,000 random messages (lengths 0–80), in batches of sizes
    /// that leave every tail length, with the CleanRoom DST and a second one.
    @Test(.enabled(if: X25519Lanes.isAvailable, ifmaSkipReason)) func randomMessagesMatchTheGMPPath() throws {
        let sizes = [1, 7, 8, 9, 100, 2, 3, 4, 5, 6, 15, 16, 17, 31, 33, 250, 1000]
        var total = 0
        var mismatches = 0
        for dst in [HashToCurve25519.cleanRoomDST, Array("QUUX-V01-CS02-with-curve25519_XMD:SHA-512_ELL2_RO_".utf8)] {
            let fast = try HashToCurve25519(dst: dst), slow = try HashToCurve25519(dst: dst, accelerated: false)
            #expect(fast.isAccelerated && !slow.isAccelerated)
            var round = 0
            while total < (dst == HashToCurve25519.cleanRoomDST ? 8_000 : 10_000) {
                let n = sizes[round % sizes.count]
                round += 1
                let lengths = try SecureRandom.bytes(n)
                let messages = try lengths.map { try SecureRandom.bytes(Int($0) % 81) }
                let a = try Self.batch(fast, messages), b = try Self.batch(slow, messages)
                for i in 0..<n where a[i] != b[i] {
                    mismatches += 1
                    if mismatches <= 5 {
                        Issue.record(
                            "batch of \(n), index \(i): msg=\(Hex.encode(messages[i])) kernel=\(Hex.encode(a[i])) gmp=\(Hex.encode(b[i]))")
                    }
                }
                total += n
            }
        }
        #expect(mismatches == 0)
        #expect(total >= 10_000)
    }

    /// Chosen expand_message_xmd outputs, lane by lane against the GMP path: halves that are 0, p − 1,
    /// p, p + 1, 2p, 2^255 − 1, 2^256 − 1, 2^384 − 1 and 2^256·k + small (the reduction's carries), and
    /// both halves 0 (the order-2 point twice: the sum is the identity, so u = 0).
    @Test(.enabled(if: X25519Lanes.isAvailable, ifmaSkipReason)) func chosenFieldElementsMatchTheGMPPath() throws {
        let p = BigInteger(1).shiftedLeft(255) - BigInteger(19)
        func be48(_ v: BigInteger) throws -> [UInt8] { try v.bigEndianBytes(width: 48) }
        let one = BigInteger(1)
        var halves: [[UInt8]] = []
        for v in [
            BigInteger(0), one, BigInteger(2), p - one, p, p + one, p + BigInteger(18), p + BigInteger(19), p * BigInteger(2),
            one.shiftedLeft(255) - one, one.shiftedLeft(255), one.shiftedLeft(256) - one, one.shiftedLeft(256),
            one.shiftedLeft(384) - one, one.shiftedLeft(256) * BigInteger(0xffff_ffff) + one.shiftedLeft(256) - BigInteger(39),
            one.shiftedLeft(383) + p,
        ] {
            halves.append(try be48(v))
        }
        halves.append([UInt8](repeating: 0xff, count: 16) + [UInt8](repeating: 0, count: 32))
        halves.append([UInt8](repeating: 0, count: 16) + [UInt8](repeating: 0xff, count: 32))
        var uniforms: [[UInt8]] = []
        for a in halves { for b in halves { uniforms.append(a + b) } }
        for _ in 0..<64 { uniforms.append(try SecureRandom.bytes(96)) }
        while uniforms.count % 8 != 0 { uniforms.append(try SecureRandom.bytes(96)) }
        let reference = try HashToCurve25519(accelerated: false)
        var identities = 0
        for g in stride(from: 0, to: uniforms.count, by: 8) {
            let lanes = Array(uniforms[g..<(g + 8)])
            let got = try #require(HashToCurve25519.kernelU(uniform: lanes.flatMap { $0 }))
            for (lane, uniform) in lanes.enumerated() {
                let want = reference.referenceU(uniform: uniform)
                #expect(Array(got[(32 * lane)..<(32 * lane + 32)]) == want, "uniform=\(Hex.encode(uniform))")
                if want.allSatisfy({ $0 == 0 }) { identities += 1 }
            }
        }
        // both halves ≡ 0: 0, p and 2p (three values, nine pairs)
        #expect(identities >= 9)
    }

    /// Without the kernel (accelerated: false) the batch path is the GMP one, and both agree with
    /// one-at-a-time hashing.
    @Test func forcedGMPPathAgreesWithSingleHashes() throws {
        let slow = try HashToCurve25519(accelerated: false)
        #expect(!slow.isAccelerated)
        #expect(try HashToCurve25519().isAccelerated == X25519Lanes.isAvailable)
        let messages = (0..<19).map { Array("row-\($0)".utf8) }
        let a = try Self.batch(slow, messages), b = try Self.batch(try HashToCurve25519(), messages)
        #expect(a == b)
        for (m, u) in zip(messages, a) { #expect(u == (try slow.hashToU(m))) }
    }
}
