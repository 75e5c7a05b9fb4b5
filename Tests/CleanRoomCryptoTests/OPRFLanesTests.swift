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

    /// A bad element (an RFC 9496 A.2 encoding, s = 1 (negative), the identity, bit 255 set, p + 6)
    /// at positions 0, 7, 8 and 12 of a batch of 13: both paths throw the same
    /// `invalidGroupElement` (index and reason), for BlindEvaluate and Finalize, with every
    /// BlindEvaluate output before it written.
    @Test func aBadElementIsReportedAtItsIndexWithTheSameErrorOnBothPaths() throws {
        let paths = X25519Lanes.isAvailable ? [true, false] : [false]
        let keys = try paths.map {
            try OPRFServerKey(scalar: OPRFServerKey(using: try SeededRandom(seed: "k")).exportScalarForVectors(), accelerated: $0)
        }
        let clients = try paths.map {
            try OPRFClientBatch(inputs: Self.inputs(13, seed: 9), using: try SeededRandom(seed: "b"), accelerated: $0)
        }
        let blindedGood = clients[0].blindedElements
        var top = Array(blindedGood[0..<32])
        top[31] |= 0x80
        let bad: [[UInt8]] = [
            Hex.decode("0000000000000000000000000000000000000000000000000000000000000080")!,
            Hex.decode("0100000000000000000000000000000000000000000000000000000000000000")!,
            Hex.decode("26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371")!,
            [UInt8](repeating: 0, count: 32), top,
            Hex.decode("f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")!,
        ]
        let good = try keys[0].blindEvaluate(blindedGood)
        for (n, element) in bad.enumerated() {
            for position in [0, 7, 8, 12] {
                var blinded = blindedGood, evaluated = good
                blinded.replaceSubrange((32 * position)..<(32 * position + 32), with: element)
                evaluated.replaceSubrange((32 * position)..<(32 * position + 32), with: element)
                var errors: [String] = []
                for (key, client) in zip(keys, clients) {
                    var out = [UInt8](repeating: 0, count: blinded.count)
                    do {
                        try blinded.withUnsafeBytes { i in try out.withUnsafeMutableBytes { try key.blindEvaluate(i, into: $0) } }
                        Issue.record("BlindEvaluate accepted bad element \(n) at \(position)")
                    } catch let CleanRoomCryptoError.invalidGroupElement(index, reason) {
                        #expect(index == position)
                        #expect(out[0..<(32 * position)] == good[0..<(32 * position)])
                        errors.append("\(index) \(reason)")
                    }
                    do {
                        _ = try client.finalize(evaluated)
                        Issue.record("Finalize accepted bad element \(n) at \(position)")
                    } catch let CleanRoomCryptoError.invalidGroupElement(index, reason) {
                        #expect(index == position)
                        errors.append("\(index) \(reason)")
                    }
                }
                #expect(errors.count == 2 * paths.count)
                #expect(Set(errors.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)).count == 1, "\(errors)")
                #expect(Set(errors.enumerated().filter { $0.offset % 2 == 1 }.map(\.element)).count == 1, "\(errors)")
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
        // A half whose MAP is the identity (v = 0 in RFC 9496 §4.3.4): both halves the same gives
        // the identity, reported in the mask and encoded as zeros, as libsodium gives.
        let t0 = Hex.decode("45e4a3b534d5cf8a559215f1d2564332ea91148c66abcb8a6814840ba7aa4c7a")!
        var identity = [UInt8](repeating: 0xff, count: 256)
        let both = [UInt8]((0..<8).flatMap { _ in t0 + t0 })
        #expect(cr_r255_hash_mul8(&identity, both, one, 0) == 0xff)
        #expect(identity.allSatisfy { $0 == 0 })
        #expect(try OPRFRistretto255.elementFromUniformBytes(t0 + t0) == [UInt8](repeating: 0, count: 32))
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
