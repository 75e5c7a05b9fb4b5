import Testing

@testable import CleanRoomCrypto

@Suite struct HashToCurveTests {
    @Test func batchMatchesOneAtATime() throws {
        let hasher = try HashToCurve25519()
        let messages: [[UInt8]] = (0..<257).map { i in
            i == 0 ? [] : Array("customer-\(i)@example.com".utf8) + [UInt8](repeating: UInt8(i & 0xff), count: i % 7)
        }
        var out = [UInt64](repeating: 0, count: 4 * messages.count)
        var scratch = [UInt64](repeating: 0, count: 8 * messages.count)
        // Messages laid out back to back, as a batch arrives from a reader.
        let flat = messages.flatMap { $0 }
        var offsets = [0]
        for m in messages { offsets.append(offsets.last! + m.count) }
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
        for (i, m) in messages.enumerated() {
            let single = try hasher.hashToU(m)
            #expect(Array(bytes[(32 * i)..<(32 * i + 32)]) == single, "message \(i)")
            #expect(single == (try hasher.hashToCurve(m)).u)
        }
    }

    @Test func outputIsCanonicalAndOnTheCurve() throws {
        let hasher = try HashToCurve25519()
        let p = BigInteger(1).shiftedLeft(255) - BigInteger(19)
        for i in 0..<50 {
            let point = try hasher.hashToCurve(try SecureRandom.bytes(i))
            let u = BigInteger(bigEndian: point.u.reversed()), v = BigInteger(bigEndian: point.v.reversed())
            #expect(u < p && v < p && !u.isZero)
            // v² = u³ + 486662·u² + u (mod p)
            let lhs = (v * v).mod(p)
            let rhs = (u * u * u + BigInteger(486662) * u * u + u).mod(p)
            #expect(lhs == rhs)
        }
    }

    @Test func domainSeparationChangesTheOutput() throws {
        let m = Array("alice@example.com".utf8)
        let a = try HashToCurve25519().hashToU(m)
        let b = try HashToCurve25519(dst: Array("CLEANROOM-TEST-other".utf8)).hashToU(m)
        #expect(a != b)
        #expect(a == (try HashToCurve25519().hashToU(m)))
    }

    @Test func emptyDSTIsRejected() {
        #expect(throws: CleanRoomCryptoError.self) { try HashToCurve25519(dst: []) }
    }

    @Test func expandMessageRejectsBadLengths() throws {
        let x = try ExpandMessageXMD(hash: .sha256, dst: Array("DST".utf8))
        #expect(throws: CleanRoomCryptoError.self) { try x.expand([1, 2, 3], length: 0) }
        #expect(throws: CleanRoomCryptoError.self) { try x.expand([1, 2, 3], length: 255 * 32 + 1) }
        #expect(try x.expand([1, 2, 3], length: 255 * 32).count == 255 * 32)
    }

    @Test func mapOfFieldElementNeedsThirtyTwoBytes() throws {
        #expect(throws: CleanRoomCryptoError.self) { try HashToCurve25519().mapToCurve(fieldElement: [1]) }
    }

    @Test func zeroFieldElementMapsToTheOrderTwoPoint() throws {
        // u = 0: Elligator 2 gives x1 = −J with g(x1) non-square, so x = x2 = 0, y = 0: (0, 0).
        let point = try HashToCurve25519().mapToCurve(fieldElement: [UInt8](repeating: 0, count: 32))
        #expect(point.u == [UInt8](repeating: 0, count: 32) && point.v == point.u)
    }
}
