// Paillier public-key operations, g = n + 1 (P. Paillier, "Public-Key Cryptosystems Based on
// Composite Degree Residuosity Classes", EUROCRYPT 1999; the g = n + 1 simplification as in
// Damgård–Jurik, PKC 2001). Encryption: c = (1 + m·n)·rⁿ mod n², r uniform in Z*n.
// Thread safety: keys and ciphertexts are immutable and may be shared across threads.
import CGMP
import Foundation

/// A Paillier ciphertext: an integer in Z*_{n²}. Obtain one from a key (`encrypt`,
/// `ciphertext(bytes:)`), which validates it.
public struct PaillierCiphertext: Sendable, Equatable {
    /// The ciphertext as an integer.
    public let value: BigInteger
    init(_ value: BigInteger) { self.value = value }
}

/// A Paillier public key (n, g = n + 1).
public final class PaillierPublicKey: @unchecked Sendable, Equatable {
    /// Modulus sizes CleanRoom accepts.
    public static let supportedBits: Set<Int> = [2048, 3072]

    /// The modulus n = p·q.
    public let n: BigInteger
    /// n².
    public let nSquared: BigInteger
    /// n² big-endian in `ciphertextBytes` bytes, for range checks on encodings.
    private let nSquaredBytes: [UInt8]
    /// Bit length of n.
    public let bits: Int
    /// (n - 1)/2: the largest magnitude of a signed plaintext.
    public let maxSignedMagnitude: BigInteger
    /// Byte width of n in encodings.
    public var modulusBytes: Int { bits / 8 }
    /// Byte width of a serialised ciphertext (n² in big-endian, fixed width).
    public var ciphertextBytes: Int { 2 * modulusBytes }

    /// A key from its modulus.
    /// - Throws: `invalidPublicKey` unless n is odd, of a supported size, has no small factor
    ///   and is not a perfect square.
    public init(n: BigInteger) throws {
        let bits = n.bitWidth
        guard PaillierPublicKey.supportedBits.contains(bits) else {
            throw CleanRoomCryptoError.invalidPublicKey(reason: "modulus has \(bits) bits; supported: 2048, 3072")
        }
        guard n.isOdd else { throw CleanRoomCryptoError.invalidPublicKey(reason: "modulus is even") }
        guard BigInteger.gcd(n, PaillierPublicKey.smallPrimorial) == BigInteger(1) else {
            throw CleanRoomCryptoError.invalidPublicKey(reason: "modulus has a factor below 10000")
        }
        guard __gmpz_perfect_square_p(n.z) == 0 else {
            throw CleanRoomCryptoError.invalidPublicKey(reason: "modulus is a perfect square")
        }
        self.n = n
        self.bits = bits
        self.nSquared = n * n
        self.nSquaredBytes = try (n * n).bigEndianBytes(width: 2 * (bits / 8))
        self.maxSignedMagnitude = n.shiftedRight(1)
    }

    /// Product of the primes below 10000, for the small-factor check.
    static let smallPrimorial: BigInteger = BigInteger { __gmpz_primorial_ui($0, 10000) }

    public static func == (a: PaillierPublicKey, b: PaillierPublicKey) -> Bool { a.n == b.n }

    // MARK: Encoding

    /// n as big-endian bytes of width `modulusBytes`.
    public func serialized() -> [UInt8] {
        guard let bytes = try? n.bigEndianBytes(width: modulusBytes) else { preconditionFailure("modulus wider than its bit size") }
        return bytes
    }

    /// Decodes and validates a public key serialised by `serialized()`.
    /// - Throws: `wrongLength` for a width other than 256 or 384 bytes; `invalidPublicKey`.
    public static func deserialize(_ bytes: [UInt8]) throws -> PaillierPublicKey {
        guard bytes.count == 256 || bytes.count == 384 else {
            throw CleanRoomCryptoError.wrongLength(what: "Paillier public key", got: bytes.count, expected: 256)
        }
        let key = try PaillierPublicKey(n: BigInteger(bigEndian: bytes))
        guard key.modulusBytes == bytes.count else {
            throw CleanRoomCryptoError.invalidPublicKey(reason: "modulus does not fill its \(bytes.count)-byte encoding")
        }
        return key
    }

    /// A ciphertext as fixed-width big-endian bytes (`ciphertextBytes`).
    /// - Precondition: `c` belongs to this key (a ciphertext of a larger key does not fit).
    public func serialize(_ c: PaillierCiphertext) -> [UInt8] {
        guard let bytes = try? c.value.bigEndianBytes(width: ciphertextBytes) else {
            preconditionFailure("ciphertext does not belong to this \(bits)-bit key")
        }
        return bytes
    }

    /// Writes a ciphertext into exactly `ciphertextBytes` bytes.
    public func serialize(_ c: PaillierCiphertext, into buffer: UnsafeMutableRawBufferPointer) throws {
        guard buffer.count == ciphertextBytes else {
            throw CleanRoomCryptoError.wrongLength(what: "Paillier ciphertext buffer", got: buffer.count, expected: ciphertextBytes)
        }
        try c.value.writeBigEndian(into: buffer)
    }

    /// Decodes and validates a ciphertext: exactly `ciphertextBytes` bytes, 0 < c < n², and (unless
    /// `requireUnit` is false) gcd(c, n) = 1. The unit check protects the key owner alone (a non-unit
    /// would reveal a factor of n), so a party adding the owner's ciphertexts may skip its cost; the
    /// key owner never does.
    public func ciphertext(bytes: UnsafeRawBufferPointer, requireUnit: Bool = true) throws -> PaillierCiphertext {
        try checkRange(bytes)
        return try ciphertext(value: BigInteger(bigEndian: bytes), requireUnit: requireUnit)
    }

    /// Decodes and validates a ciphertext from bytes.
    public func ciphertext(bytes: [UInt8], requireUnit: Bool = true) throws -> PaillierCiphertext {
        try bytes.withUnsafeBytes { try ciphertext(bytes: $0, requireUnit: requireUnit) }
    }

    /// Validates an integer as a ciphertext of this key: 0 < c < n² and (unless `requireUnit` is
    /// false) gcd(c, n) = 1.
    public func ciphertext(value c: BigInteger, requireUnit: Bool = true) throws -> PaillierCiphertext {
        guard c.signum > 0 else { throw CleanRoomCryptoError.invalidCiphertext(reason: "not positive") }
        guard c < nSquared else { throw CleanRoomCryptoError.invalidCiphertext(reason: "not below n²") }
        guard !requireUnit || BigInteger.gcd(c, n) == BigInteger(1) else {
            throw CleanRoomCryptoError.invalidCiphertext(reason: "shares a factor with n")
        }
        return PaillierCiphertext(c)
    }

    /// Checks an encoded ciphertext's width and range, 0 < c < n², on the bytes alone (no
    /// allocation), so every element of a large stream can be checked as it arrives.
    public func checkRange(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count == ciphertextBytes else {
            throw CleanRoomCryptoError.wrongLength(what: "Paillier ciphertext", got: bytes.count, expected: ciphertextBytes)
        }
        // Fixed-width big-endian: byte order is numeric order.
        let below = nSquaredBytes.withUnsafeBytes { bound in memcmp(bytes.baseAddress!, bound.baseAddress!, bytes.count) < 0 }
        guard below else { throw CleanRoomCryptoError.invalidCiphertext(reason: "not below n²") }
        guard bytes.contains(where: { $0 != 0 }) else { throw CleanRoomCryptoError.invalidCiphertext(reason: "not positive") }
    }

    // MARK: Plaintexts

    /// Encodes a signed plaintext m with |m| ≤ (n-1)/2 as m mod n.
    /// - Throws: `plaintextOutOfRange` outside (−n/2, n/2).
    public func encode(_ m: BigInteger) throws -> BigInteger {
        guard m.signum >= 0 ? !(m > maxSignedMagnitude) : !(-m > maxSignedMagnitude) else {
            throw CleanRoomCryptoError.plaintextOutOfRange(reason: "|m| must be at most (n-1)/2 (\(bits)-bit key)")
        }
        return m.mod(n)
    }

    /// Interprets a residue in [0, n) as a signed plaintext in (−n/2, n/2).
    public func decodeSigned(_ residue: BigInteger) -> BigInteger {
        residue > maxSignedMagnitude ? residue - n : residue
    }

    // MARK: Encryption and homomorphic operations

    /// (1 + m·n) mod n² for an encoded plaintext m in [0, n).
    func plaintextFactor(_ encoded: BigInteger) -> BigInteger {
        BigInteger { z in
            __gmpz_mul(z, encoded.z, self.n.z)
            __gmpz_add_ui(z, z, 1)
        }
    }

    /// Textbook encryption of a signed plaintext with fresh randomness r ∈ Z*n (from OpenSSL
    /// unless a test passes another source).
    public func encrypt(_ m: BigInteger, using source: some RandomSource = SecureRandom.system) throws -> PaillierCiphertext {
        try encrypt(m, randomness: BigInteger.randomUnit(modulus: n, using: source))
    }

    /// Encryption with explicit randomness r ∈ Z*n: (1 + m·n)·rⁿ mod n². For test vectors.
    /// - Throws: `plaintextOutOfRange`, or `unsupportedParameter` unless 0 < r < n, gcd(r, n) = 1.
    public func encrypt(_ m: BigInteger, randomness r: BigInteger) throws -> PaillierCiphertext {
        guard r.signum > 0, r < n, BigInteger.gcd(r, n) == BigInteger(1) else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "Paillier randomness must be a unit below n")
        }
        let encoded = try encode(m)
        // rⁿ mod n²: the exponent n is public, so mpz_powm is appropriate; r stays secret in
        // the sense that it is wiped with the BigInteger.
        let rn = BigInteger { __gmpz_powm($0, r.z, self.n.z, self.nSquared.z) }
        let factor = plaintextFactor(encoded)
        // Locals whose raw mpz pointers reach C stay alive until the calls return.
        let c = withExtendedLifetime((rn, factor)) {
            BigInteger { z in
                __gmpz_mul(z, factor.z, rn.z)
                __gmpz_mod(z, z, self.nSquared.z)
            }
        }
        return PaillierCiphertext(c)
    }

    /// Enc(a + b) = a·b mod n².
    public func add(_ a: PaillierCiphertext, _ b: PaillierCiphertext) -> PaillierCiphertext {
        PaillierCiphertext(
            BigInteger { z in
                __gmpz_mul(z, a.value.z, b.value.z)
                __gmpz_mod(z, z, self.nSquared.z)
            })
    }

    /// Adds every ciphertext of `items` to a running product; cheaper than repeated `add`.
    public func sum<S: Sequence>(_ items: S) -> PaillierCiphertext? where S.Element == PaillierCiphertext {
        var acc: BigInteger?
        for c in items {
            if let a = acc {
                acc = withExtendedLifetime((a, c)) {
                    BigInteger { z in
                        __gmpz_mul(z, a.z, c.value.z)
                        __gmpz_mod(z, z, self.nSquared.z)
                    }
                }
            } else {
                acc = c.value
            }
        }
        return acc.map(PaillierCiphertext.init)
    }

    /// Enc(a + k) for a signed plaintext k: c·(1 + k·n) mod n².
    public func addPlaintext(_ c: PaillierCiphertext, _ k: BigInteger) throws -> PaillierCiphertext {
        let factor = plaintextFactor(try encode(k))
        return withExtendedLifetime(factor) {
            PaillierCiphertext(
                BigInteger { z in
                    __gmpz_mul(z, c.value.z, factor.z)
                    __gmpz_mod(z, z, self.nSquared.z)
                })
        }
    }

    /// Enc(k·a) = c^k mod n² for a public signed integer k (k = 0 gives Enc(0) = 1, which is
    /// not hiding: re-randomise before sending). Variable time in k, which is public.
    public func multiply(_ c: PaillierCiphertext, by k: BigInteger) -> PaillierCiphertext {
        PaillierCiphertext(BigInteger { __gmpz_powm($0, c.value.z, k.z, self.nSquared.z) })
    }

    /// A fresh encryption of the same plaintext: c·rⁿ mod n² with new randomness.
    public func rerandomize(_ c: PaillierCiphertext, using source: some RandomSource = SecureRandom.system) throws -> PaillierCiphertext {
        let r = try BigInteger.randomUnit(modulus: n, using: source)
        return withExtendedLifetime(r) {
            PaillierCiphertext(
                BigInteger { z in
                    __gmpz_powm(z, r.z, self.n.z, self.nSquared.z)
                    __gmpz_mul(z, z, c.value.z)
                    __gmpz_mod(z, z, self.nSquared.z)
                })
        }
    }
}
