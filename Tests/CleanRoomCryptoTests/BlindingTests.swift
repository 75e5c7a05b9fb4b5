import Foundation
import Testing

@testable import CleanRoomCrypto

@Suite struct BlindingTests {
    @Test func blindingCommutesOverRandomInputs() throws {
        let hasher = try HashToCurve25519()
        for i in 0..<64 {
            let a = try BlindingKey(), b = try BlindingKey()
            let u = try hasher.hashToU(try SecureRandom.bytes(1 + i % 40))
            let ab = try a.blind(try b.blind(u))
            let ba = try b.blind(try a.blind(u))
            #expect(ab == ba)
            #expect(ab != u)
        }
    }

    @Test func differentKeysGiveDifferentResults() throws {
        let u = try HashToCurve25519().hashToU(Array("alice@example.com".utf8))
        #expect(try BlindingKey().blind(u) != BlindingKey().blind(u))
    }

    @Test func batchMatchesSingleElements() throws {
        let key = try BlindingKey()
        let hasher = try HashToCurve25519()
        let points = try (0..<100).map { try hasher.hashToU(Array("row \($0)".utf8)) }
        let flat = points.flatMap { $0 }
        var out = [UInt8](repeating: 0, count: flat.count)
        try flat.withUnsafeBytes { i in try out.withUnsafeMutableBytes { try key.blindBatch(i, into: $0) } }
        for (i, p) in points.enumerated() {
            #expect(Array(out[(32 * i)..<(32 * i + 32)]) == (try key.blind(p)))
        }
    }

    /// u-coordinates of low-order points (RFC 7748 §6.1 / Wycheproof): 0, 1 and an order-8 point.
    static let lowOrder: [[UInt8]] = [
        [UInt8](repeating: 0, count: 32),
        [1] + [UInt8](repeating: 0, count: 31),
        hex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
        hex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
        hex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),  // p − 1
    ]

    @Test(arguments: lowOrder)
    func lowOrderPointIsATypedError(u: [UInt8]) throws {
        let key = try BlindingKey()
        #expect(throws: CleanRoomCryptoError.lowOrderPoint(index: 0)) { try key.blind(u) }
    }

    @Test func lowOrderPointInABatchNamesItsIndex() throws {
        let key = try BlindingKey()
        let hasher = try HashToCurve25519()
        var flat = try (0..<5).flatMap { try hasher.hashToU(Array("x\($0)".utf8)) }
        flat.replaceSubrange(96..<128, with: Self.lowOrder[2])
        var out = [UInt8](repeating: 0, count: flat.count)
        #expect(throws: CleanRoomCryptoError.lowOrderPoint(index: 3)) {
            try flat.withUnsafeBytes { i in try out.withUnsafeMutableBytes { try key.blindBatch(i, into: $0) } }
        }
    }

    @Test func wrongLengthsAreRejected() throws {
        let key = try BlindingKey()
        #expect(throws: CleanRoomCryptoError.self) { try key.blind([UInt8](repeating: 9, count: 31)) }
        #expect(throws: CleanRoomCryptoError.self) { try BlindingKey(privateScalar: [1, 2, 3]) }
        let input = [UInt8](repeating: 9, count: 64)
        var out = [UInt8](repeating: 0, count: 32)
        #expect(throws: CleanRoomCryptoError.self) {
            try input.withUnsafeBytes { i in try out.withUnsafeMutableBytes { try key.blindBatch(i, into: $0) } }
        }
    }

    @Test func rfc7748PublicKeyFromScalar() throws {
        // RFC 7748 §6.1: Alice's private key and public key X25519(a, 9).
        let a = try BlindingKey(privateScalar: hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
        #expect(try a.publicValue() == hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"))
    }
}

func hex(_ s: String) -> [UInt8] {
    var out = [UInt8]()
    var i = s.startIndex
    while i < s.endIndex {
        let j = s.index(i, offsetBy: 2)
        out.append(UInt8(s[i..<j], radix: 16)!)
        i = j
    }
    return out
}

@Suite struct BlindingBatchVectorTests {
    /// Every Wycheproof public value that must give a shared secret (twists, non-canonical
    /// encodings, edge cases) blinds the same in one batch (the peer key object is reused and
    /// its value replaced) as one at a time (a fresh peer key each).
    @Test func wycheproofPublicValuesBlindTheSameInABatch() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Vectors/x25519_wycheproof.json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let cases = try #require(json["cases"] as? [[String: Any]])
        let publics = cases.filter { $0["expected"] as? String == "shared" }.map { hex($0["public"] as! String) }
        #expect(publics.count == 487)
        let key = try BlindingKey()
        let flat = publics.flatMap { $0 }
        var out = [UInt8](repeating: 0, count: flat.count)
        try flat.withUnsafeBytes { i in try out.withUnsafeMutableBytes { try key.blindBatch(i, into: $0) } }
        for (i, u) in publics.enumerated() {
            #expect(Array(out[(32 * i)..<(32 * i + 32)]) == (try key.blind(u)), "case \(i)")
        }
    }
}
