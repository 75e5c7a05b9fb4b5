import CCleanRoomShim
import CleanRoomCryptoVectors
import Foundation
import Testing

@_spi(Deterministic) @testable import CleanRoomCrypto

/// The OPRF's ristretto255 operations on the IFMA kernels (`cr_r255_hash_mul8`, `cr_r255_mul8`)
/// against libsodium, byte for byte: Blind, BlindEvaluate, Finalize and Evaluate over uneven
/// batches with the same seeded blinds and key, and the same error for a bad element at any position.
@Suite struct OPRFLanesTests {
    static func inputs(_ n: Int, seed: UInt8) -> [[UInt8]] {
        (0..<n).map { i in [seed] + Array("customer-\(i)@example.com".utf8) + [UInt8](repeating: UInt8(i & 0xff), count: i % 70) }
    }

    @Test(.enabled(if: X25519Lanes.isAvailable, ifmaSkipReason)) func kernelsGiveLibsodiumsBytes() throws {
        let lanesKey = try OPRFServerKey(using: try SeededRandom(seed: "oprf key"), accelerated: true)
        let sodiumKey = try OPRFServerKey(using: try SeededRandom(seed: "oprf key"), accelerated: false)
        var total = 0
        for (n, count) in [1, 5, 8, 9, 16, 23, 100, 333].enumerated() {
            let inputs = Self.inputs(count, seed: UInt8(n))
            let lanes = try OPRFClientBatch(inputs: inputs, using: try SeededRandom(seed: "blinds \(n)"), accelerated: true)
            let sodium = try OPRFClientBatch(inputs: inputs, using: try SeededRandom(seed: "blinds \(n)"), accelerated: false)
            #expect(lanes.blindedElements == sodium.blindedElements, "Blind, batch of \(count)")
            let evaluatedLanes = try lanesKey.blindEvaluate(lanes.blindedElements)
            let evaluatedSodium = try sodiumKey.blindEvaluate(sodium.blindedElements)
            #expect(evaluatedLanes == evaluatedSodium, "BlindEvaluate, batch of \(count)")
            let finalLanes = try lanes.finalize(evaluatedLanes)
            #expect(finalLanes == (try sodium.finalize(evaluatedSodium)), "Finalize, batch of \(count)")
            let ownLanes = try lanesKey.evaluate(inputs)
            #expect(ownLanes == (try sodiumKey.evaluate(inputs)), "Evaluate, batch of \(count)")
            // and the OPRF is one: the client's Finalize equals the server's Evaluate
            #expect(finalLanes == ownLanes)
            total += count
        }
        #expect(total == 495)
    }

    /// A bad element (an RFC 9496 A.2 encoding, the identity, bit 255 set) at positions 0, 7, 8 and
    /// 12 of a batch of 13: both paths throw the same `invalidGroupElement`, for BlindEvaluate and
    /// Finalize, with every output before it written.
    @Test(arguments: [true, false]) func aBadElementIsReportedAtItsIndex(accelerated: Bool) throws {
        let key = try OPRFServerKey(accelerated: accelerated)
        let client = try OPRFClientBatch(inputs: Self.inputs(13, seed: 9), accelerated: accelerated)
        var top = Array(client.blindedElements[0..<32])
        top[31] |= 0x80
        let bad: [[UInt8]] = [
            Hex.decode("0000000000000000000000000000000000000000000000000000000000000080")!, [UInt8](repeating: 0, count: 32), top,
            Hex.decode("f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")!,
        ]
        let good = try key.blindEvaluate(client.blindedElements)
        for (n, element) in bad.enumerated() {
            for position in [0, 7, 8, 12] {
                var blinded = client.blindedElements, evaluated = good
                blinded.replaceSubrange((32 * position)..<(32 * position + 32), with: element)
                evaluated.replaceSubrange((32 * position)..<(32 * position + 32), with: element)
                var out = [UInt8](repeating: 0, count: blinded.count)
                do {
                    try blinded.withUnsafeBytes { i in try out.withUnsafeMutableBytes { try key.blindEvaluate(i, into: $0) } }
                    Issue.record("BlindEvaluate accepted bad element \(n) at \(position)")
                } catch let CleanRoomCryptoError.invalidGroupElement(index, _) {
                    #expect(index == position)
                    #expect(out[0..<(32 * position)] == good[0..<(32 * position)])
                }
                do {
                    _ = try client.finalize(evaluated)
                    Issue.record("Finalize accepted bad element \(n) at \(position)")
                } catch let CleanRoomCryptoError.invalidGroupElement(index, _) {
                    #expect(index == position)
                }
            }
        }
    }

    /// RFC 9496 Appendix A.3: the one-way map of each 64-byte string through the kernel's map
    /// (`cr_r255_hash_mul8` with the scalar 1), eight at a time.
    @Test(.enabled(if: X25519Lanes.isAvailable, ifmaSkipReason)) func oneWayMapMatchesRFC9496() throws {
        struct File: Decodable {
            struct Case: Decodable { let op: String; let uniform_bytes: String?; let encoding: String? }
            let cases: [Case]
        }
        let data = try Data(contentsOf: VectorFileRunner.bundledDirectory.appendingPathComponent("ristretto255_rfc9496.json"))
        let cases = try JSONDecoder().decode(File.self, from: data).cases.filter { $0.op == "from_uniform_bytes" }
        #expect(cases.count == 11)
        let one = [1] + [UInt8](repeating: 0, count: 31)
        for start in stride(from: 0, to: cases.count, by: 8) {
            var uniform = [UInt8](), out = [UInt8](repeating: 0, count: 256)
            for i in 0..<8 { uniform += Hex.decode(cases[min(start + i, cases.count - 1)].uniform_bytes!)! }
            #expect(cr_r255_hash_mul8(&out, uniform, one, 0) == 0)
            for i in 0..<min(8, cases.count - start) {
                #expect(Hex.encode(out[(32 * i)..<(32 * i + 32)]) == cases[start + i].encoding!, "case \(start + i)")
            }
        }
    }
}
