import Testing

@testable import CleanRoomCrypto

@Suite struct HashToCurveTests {
    @Test func batchMatchesOneAtATime() throws {
        let hasher = try HashToCurve25519()
        let messages: [[UInt8]] = (0..<257).map { i in
            i == 0 ? [] : Array("customer-\(i)@example.com".utf8) + [UInt8](repeating: UInt8(i & 0xff), count: i % 7)
        }
        // Messages laid out back to back, as a batch arrives from a reader.
        let batch = try HashToCurveIFMATests.batch(hasher, messages)
        for (i, m) in messages.enumerated() {
            let single = try hasher.hashToU(m)
            #expect(batch[i] == single, "message \(i)")
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
