import Testing

@testable import CleanRoomCrypto

/// One key per size for the whole suite: key generation is the slow part.
enum TestKeys {
    static let k2048: PaillierPrivateKey = try! PaillierPrivateKey.generate(bits: 2048)
    static let k3072: PaillierPrivateKey = try! PaillierPrivateKey.generate(bits: 3072, window: 6)
}

@Suite struct PaillierTests {
    @Test(arguments: [2048, 3072])
    func decryptInvertsEncrypt(bits: Int) throws {
        let sk = bits == 2048 ? TestKeys.k2048 : TestKeys.k3072
        let pk = sk.publicKey
        #expect(pk.bits == bits && pk.modulusBytes == bits / 8)
        let half = pk.maxSignedMagnitude
        let samples: [BigInteger] = [
            BigInteger(0), BigInteger(1), BigInteger(-1), half, -half,
            try BigInteger.random(below: half), -(try BigInteger.random(below: half)),
        ]
        for m in samples {
            #expect(try sk.decryptSigned(pk.encrypt(m)) == m)
            #expect(try sk.decryptSigned(sk.encrypt(m, variableTime: true)) == m)
            #expect(try sk.decryptSigned(sk.encrypt(m, variableTime: false)) == m)
        }
    }

    @Test func homomorphicSumOfTenThousandValues() throws {
        let sk = TestKeys.k2048
        let pk = sk.publicKey
        var expected = BigInteger(0)
        var ciphertexts: [PaillierCiphertext] = []
        ciphertexts.reserveCapacity(10_000)
        for _ in 0..<10_000 {
            // signed values of up to 40 bits
            var v = BigInteger(Int(try SecureRandom.uniform(below: 1 << 40)))
            if try SecureRandom.uniform(below: 2) == 1 { v = -v }
            expected = expected + v
            ciphertexts.append(try sk.encrypt(v, variableTime: true))
        }
        let sum = try #require(pk.sum(ciphertexts))
        #expect(try sk.decryptSigned(sum) == expected)
        #expect(try sk.decryptSigned(pk.rerandomize(sum)) == expected)
    }

    @Test func fixedBaseMatchesConstantTimeAndTextbookFormula() throws {
        let sk = TestKeys.k2048
        let pk = sk.publicKey
        for _ in 0..<5 {
            let alpha = try BigInteger.random(below: BigInteger(1).shiftedLeft(sk.randomiserBits))
            let m = try BigInteger.random(below: pk.maxSignedMagnitude)
            let fast = try sk.encrypt(m, exponent: alpha, variableTime: true)
            let slow = try sk.encrypt(m, exponent: alpha, variableTime: false)
            #expect(fast == slow)
            // (1 + m·n)·hs^α mod n² computed directly, without CRT or tables.
            let hsFull = sk.hs
            let direct = ((BigInteger(1) + m * pk.n) * hsFull.power(alpha, modulus: pk.nSquared, variableTime: true)).mod(pk.nSquared)
            #expect(fast.value == direct)
            #expect(try sk.decrypt(fast) == (try sk.decrypt(pk.encrypt(m))))
        }
        // α = 0 and α of all ones exercise the empty-product and every-digit paths.
        let allOnes = BigInteger(1).shiftedLeft(sk.randomiserBits) - BigInteger(1)
        for alpha in [BigInteger(0), allOnes] {
            #expect(
                try sk.encrypt(BigInteger(7), exponent: alpha, variableTime: true)
                    == sk.encrypt(BigInteger(7), exponent: alpha, variableTime: false))
        }
    }

    @Test func homomorphicOperations() throws {
        let sk = TestKeys.k2048
        let pk = sk.publicKey
        let a = try sk.encrypt(BigInteger(1000), variableTime: true)
        #expect(try sk.decryptSigned(pk.addPlaintext(a, BigInteger(-1500))) == BigInteger(-500))
        #expect(try sk.decryptSigned(pk.multiply(a, by: BigInteger(-3))) == BigInteger(-3000))
        #expect(try sk.decryptSigned(pk.multiply(a, by: BigInteger(0))) == BigInteger(0))
        let b = try pk.rerandomize(a)
        #expect(b != a)
        #expect(try sk.decrypt(b) == (try sk.decrypt(a)))
    }

    @Test func serialisationRoundTripsAndIsFixedWidth() throws {
        let sk = TestKeys.k2048
        let pk = sk.publicKey
        let bytes = pk.serialized()
        #expect(bytes.count == 256)
        #expect(try PaillierPublicKey.deserialize(bytes) == pk)
        let c = try sk.encrypt(BigInteger(1), variableTime: true)
        let cb = pk.serialize(c)
        #expect(cb.count == 512)
        #expect(try pk.ciphertext(bytes: cb) == c)
        // A small ciphertext value still takes the full width.
        let one = try pk.ciphertext(value: BigInteger(1))
        #expect(pk.serialize(one).count == 512 && pk.serialize(one).last == 1)
    }

    @Test func malformedCiphertextsAreRejected() throws {
        let sk = TestKeys.k2048
        let pk = sk.publicKey
        let bad: [BigInteger] = [BigInteger(0), pk.nSquared, pk.nSquared + BigInteger(1), pk.n, sk.p, sk.q * BigInteger(5), BigInteger(-4)]
        for c in bad {
            #expect(throws: CleanRoomCryptoError.self) { try pk.ciphertext(value: c) }
        }
        #expect(throws: CleanRoomCryptoError.wrongLength(what: "Paillier ciphertext", got: 511, expected: 512)) {
            try pk.ciphertext(bytes: [UInt8](repeating: 1, count: 511))
        }
        let tooBig = [UInt8](repeating: 0xff, count: 512)
        #expect(throws: CleanRoomCryptoError.invalidCiphertext(reason: "not below n²")) { try pk.ciphertext(bytes: tooBig) }
        #expect(throws: CleanRoomCryptoError.self) { try sk.decrypt(PaillierCiphertext(pk.n)) }
    }

    @Test func malformedPublicKeysAreRejected() throws {
        let n = TestKeys.k2048.publicKey.n
        #expect(throws: CleanRoomCryptoError.self) { try PaillierPublicKey(n: n + BigInteger(1)) }  // even
        #expect(throws: CleanRoomCryptoError.self) { try PaillierPublicKey(n: n.shiftedRight(8)) }  // wrong size
        #expect(throws: CleanRoomCryptoError.self) { try PaillierPublicKey(n: BigInteger(1).shiftedLeft(2047) + BigInteger(3 * 7)) }  // small factor 3
        let p = TestKeys.k2048.p
        #expect(throws: CleanRoomCryptoError.self) { try PaillierPublicKey(n: p * p) }  // square
        #expect(throws: CleanRoomCryptoError.self) { try PaillierPublicKey.deserialize([UInt8](repeating: 0xff, count: 100)) }
        #expect(throws: CleanRoomCryptoError.self) { try PaillierPrivateKey(p: p, q: p) }
        #expect(throws: CleanRoomCryptoError.self) { try PaillierPrivateKey(p: p, q: p + BigInteger(2)) }  // not prime (even)
    }

    @Test func plaintextsOutsideTheSignedRangeAreRejected() throws {
        let sk = TestKeys.k2048
        let pk = sk.publicKey
        let over = pk.maxSignedMagnitude + BigInteger(1)
        #expect(throws: CleanRoomCryptoError.self) { try pk.encrypt(over) }
        #expect(throws: CleanRoomCryptoError.self) { try pk.encrypt(-over) }
        #expect(throws: CleanRoomCryptoError.self) { try sk.encrypt(over, variableTime: true) }
        #expect(throws: CleanRoomCryptoError.self) { try pk.encrypt(BigInteger(1), randomness: pk.n) }
        #expect(throws: CleanRoomCryptoError.self) { try pk.encrypt(BigInteger(1), randomness: BigInteger(0)) }
    }

    @Test func unsupportedKeySizeIsRejected() {
        #expect(throws: CleanRoomCryptoError.self) { try PaillierPrivateKey.generate(bits: 1024) }
    }
}

@Suite struct PackingTests {
    @Test func packingRoundTripsAtSlotBoundaries() throws {
        let layout = PaillierSlotLayout(slotBits: 64, slotCount: 3)
        let max = UInt64.max
        for values: [UInt64] in [[0, 0, 0], [max, 0, max], [1, max, 1], [max, max, max]] {
            let packed = try layout.pack(values)
            #expect(try layout.unpack(packed) == values.map { BigInteger($0) })
        }
    }

    @Test func slotSumsReachTheirBoundWithoutSpilling() throws {
        let sk = TestKeys.k2048
        let pk = sk.publicKey
        // 3 columns of 20-bit values, 1,000 addends: slot width 20 + 10 + 1 = 31 bits.
        let layout = PaillierSlotLayout(valueBits: 20, maxAddends: 1000, slotCount: 3)
        #expect(layout.slotBits == 31)
        try layout.check(fitsIn: pk)
        let top: UInt64 = (1 << 20) - 1
        let one = try sk.encrypt(try layout.pack([top, 0, 1]), variableTime: true)
        let total = try #require(pk.sum(Array(repeating: one, count: 1000)))
        let slots = try layout.unpack(try sk.decrypt(total))
        #expect(slots == [BigInteger(top * 1000), BigInteger(0), BigInteger(1000)])
    }

    @Test func overflowingValuesAndLayoutsAreRejected() throws {
        let layout = PaillierSlotLayout(slotBits: 8, slotCount: 2)
        #expect(throws: CleanRoomCryptoError.slotOverflow(slot: 1, bits: 9, slotBits: 8)) { try layout.pack([1, 256]) }
        #expect(throws: CleanRoomCryptoError.self) { try layout.pack([1]) }
        #expect(throws: CleanRoomCryptoError.self) { try layout.pack([BigInteger(-1), BigInteger(0)]) }
        #expect(throws: CleanRoomCryptoError.self) { try layout.unpack(BigInteger(1).shiftedLeft(16)) }
        let wide = PaillierSlotLayout(slotBits: 1024, slotCount: 2)
        #expect(throws: CleanRoomCryptoError.layoutTooWide(totalBits: 2048, availableBits: 2046)) {
            try wide.check(fitsIn: TestKeys.k2048.publicKey)
        }
    }
}

@Suite struct BigIntegerTests {
    @Test func parsingRejectsGarbage() {
        #expect(BigInteger(hex: "xyz") == nil)
        #expect(BigInteger(hex: "") == nil)
        #expect(BigInteger(decimal: "12a") == nil)
        #expect(BigInteger(decimal: "-") == nil)
        #expect(BigInteger(decimal: "-42")?.intValue == -42)
        #expect(BigInteger(hex: "ff")?.intValue == 255)
    }

    @Test func bytesRoundTripAndWidthIsEnforced() throws {
        let v = try #require(BigInteger(hex: "0102030405"))
        #expect(try v.bigEndianBytes(width: 8) == [0, 0, 0, 1, 2, 3, 4, 5])
        #expect(BigInteger(bigEndian: [0, 0, 0, 1, 2, 3, 4, 5]) == v)
        #expect(throws: CleanRoomCryptoError.self) { try v.bigEndianBytes(width: 4) }
        #expect(throws: CleanRoomCryptoError.self) { try BigInteger(-1).bigEndianBytes(width: 4) }
    }

    @Test func randomBelowStaysInRange() throws {
        let bound = BigInteger(1000)
        for _ in 0..<500 {
            let r = try BigInteger.random(below: bound)
            #expect(r.signum >= 0 && r < bound)
        }
    }

    @Test func gmpUsesTheWipingAllocator() {
        #expect(BigInteger.gmpAllocatorWipes)
    }
}

/// The AVX-512 IFMA fixed-base kernel against GMP, and the accelerated key against the portable
/// one. On a CPU without IFMA the kernel must decline (and the portable path is what every other
/// Paillier test exercises).
@Suite struct FixedBaseKernelTests {
    @Test func kernelDeclinesExactlyWhenTheCPULacksIFMA() throws {
        let m = BigInteger(1).shiftedLeft(2047) + BigInteger(12345)
        let pair = FixedBasePair(base1: BigInteger(3), modulus1: m, base2: BigInteger(5), modulus2: m, exponentBits: 64, window: 4)
        #expect((pair != nil) == FixedBasePair.isSupported)
        // Beyond 3,326 bits (2^(52·64) ≥ 4m fails) the kernel declines on every CPU.
        let tooBig = BigInteger(1).shiftedLeft(3326) + BigInteger(1)
        #expect(
            FixedBasePair(base1: BigInteger(3), modulus1: tooBig, base2: BigInteger(5), modulus2: m, exponentBits: 64, window: 4) == nil)
        #expect(TestKeys.k2048.isAccelerated == FixedBasePair.isSupported)
        let portable = try PaillierPrivateKey(p: TestKeys.k2048.p, q: TestKeys.k2048.q, accelerated: false)
        #expect(!portable.isAccelerated)
    }

    @Test(
        .enabled(if: FixedBasePair.isSupported, "needs AVX-512 IFMA"),
        arguments: [(1500, 1), (2048, 8), (2081, 5), (2496, 7), (3072, 6), (3326, 3)])
    func kernelMatchesGMP(bits: Int, window: Int) throws {
        // Odd moduli of the given size (including the largest for each register count), random
        // bases, exponents of every shape: 0, 1, all ones, a single top bit, random.
        func oddModulus() throws -> BigInteger {
            let top = BigInteger(1).shiftedLeft(bits - 1)
            let m = try BigInteger.random(below: top) + top
            return m.isOdd ? m : m + BigInteger(1)
        }
        for _ in 0..<3 {
            let m1 = try oddModulus(), m2 = try oddModulus()
            let g1 = try BigInteger.random(below: m1), g2 = try BigInteger.random(below: m2)
            let eBits = 300
            let pair = try #require(
                FixedBasePair(base1: g1, modulus1: m1, base2: g2, modulus2: m2, exponentBits: eBits, window: window))
            let allOnes = BigInteger(1).shiftedLeft(eBits) - BigInteger(1)
            var exponents = [BigInteger(0), BigInteger(1), allOnes, BigInteger(1).shiftedLeft(eBits - 1)]
            for _ in 0..<8 { exponents.append(try BigInteger.random(below: BigInteger(1).shiftedLeft(eBits))) }
            for (k, e) in exponents.enumerated() {
                let r1 = BigInteger(), r2 = BigInteger()
                pair.power(e, into: r1, r2)
                #expect(r1 == g1.power(e, modulus: m1, variableTime: true), "bits \(bits) window \(window) e \(e.hexString)")
                #expect(r2 == g2.power(e, modulus: m2, variableTime: true))
                // with factors below m (the largest, m − 1, for the first exponent)
                let f1 = k == 0 ? m1 - BigInteger(1) : try BigInteger.random(below: m1)
                let f2 = k == 0 ? m2 - BigInteger(1) : try BigInteger.random(below: m2)
                pair.power(e, times: f1, f2, into: r1, r2)
                #expect(r1 == (f1 * g1.power(e, modulus: m1, variableTime: true)).mod(m1))
                #expect(r2 == (f2 * g2.power(e, modulus: m2, variableTime: true)).mod(m2))
            }
        }
    }

    @Test(.enabled(if: FixedBasePair.isSupported, "needs AVX-512 IFMA"), arguments: [2048, 3072])
    func acceleratedKeyMatchesPortableKey(bits: Int) throws {
        let sk = bits == 2048 ? TestKeys.k2048 : TestKeys.k3072
        #expect(sk.isAccelerated)
        let portable = try PaillierPrivateKey(p: sk.p, q: sk.q, window: 5, accelerated: false)
        let pk = sk.publicKey
        // Different DJN bases (each key draws its own h), so compare through decryption and
        // through the constant-time path of the same key.
        for i in 0..<20 {
            let alpha =
                i == 0
                ? BigInteger(1).shiftedLeft(sk.randomiserBits) - BigInteger(1)
                : try BigInteger.random(below: BigInteger(1).shiftedLeft(sk.randomiserBits))
            let m = try BigInteger.random(below: pk.maxSignedMagnitude)
            let fast = try sk.encrypt(m, exponent: alpha, variableTime: true)
            #expect(fast == (try sk.encrypt(m, exponent: alpha, variableTime: false)))
            #expect(try portable.decryptSigned(fast) == m)
            #expect(try sk.decryptSigned(portable.encrypt(m, exponent: alpha, variableTime: true)) == m)
        }
    }
}
