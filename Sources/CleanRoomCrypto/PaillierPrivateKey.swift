// Paillier key generation, key-owner encryption and decryption, g = n + 1.
// - Primes come from OpenSSL's BN_generate_prime_ex2 (never from GMP's random state).
// - Decryption uses the Chinese remainder theorem with mpz_powm_sec for the secret exponents
//   p − 1 and q − 1 (Paillier 1999, §7 "decryption using CRT").
// - Key-owner encryption follows Damgård, Jurik and Nielsen ("A generalization of Paillier's
//   public-key system with applications to electronic voting", IJIS 2010, §4.1): p ≡ q ≡ 3 (mod 4), h = −x² mod n
//   for random x, hs = hⁿ mod n², and the randomiser is hs^α for α uniform in [0, 2^⌈k/2⌉)
//   (k = bits of n). The key owner evaluates hs^α modulo p² and q² with fixed-base tables and
//   recombines by CRT, so an encryption costs about 2·⌈k/2⌉/w multiplications of k-bit numbers.
// Thread safety: immutable after construction; `encrypt` and `decrypt` may run concurrently.
import CGMP
import COpenSSL

/// A Paillier private key (p, q) with CRT and fixed-base precomputation.
public final class PaillierPrivateKey: @unchecked Sendable {
    /// The matching public key.
    public let publicKey: PaillierPublicKey
    let p: BigInteger, q: BigInteger
    let pSquared: BigInteger, qSquared: BigInteger
    let pMinus1: BigInteger, qMinus1: BigInteger
    /// hp = L_p(g^(p−1) mod p²)^(−1) mod p, and likewise hq.
    let hp: BigInteger, hq: BigInteger
    /// q^(−1) mod p, for recombining plaintexts.
    let qInvModP: BigInteger
    /// (q²)^(−1) mod p², for recombining ciphertexts.
    let qSquaredInvModPSquared: BigInteger
    /// Bits of the DJN exponent α: ⌈k/2⌉.
    public let randomiserBits: Int
    /// The IFMA tables for hs mod p² and q² (x86-64 with AVX-512 IFMA), else the OpenSSL ones.
    private let pair: FixedBasePair?
    private let tableP: FixedBaseTable?
    private let tableQ: FixedBaseTable?
    /// Whether key-owner encryption runs on the AVX-512 IFMA kernel.
    public var isAccelerated: Bool { pair != nil }
    /// Whether this CPU can run the AVX-512 IFMA kernel (`CLEANROOM_DISABLE_IFMA=1` turns it off).
    public static var acceleratedEncryptionAvailable: Bool { FixedBasePair.isSupported }
    /// The DJN base hs = hⁿ mod n², and hs mod p², hs mod q² (for the constant-time path).
    let hs: BigInteger
    private let hsP: BigInteger, hsQ: BigInteger

    /// Generates a fresh key with an n of `bits` bits (2048 or 3072).
    /// - Parameters:
    ///   - window: fixed-base window width in bits (memory: 2·(2^w−1)·⌈k/2⌉/w entries of k bits;
    ///     8 gives about 17 MB at 2048 bits and 38 MB at 3072 on the portable path, 21 MB and
    ///     50 MB on the IFMA path, whose entries are 52-bit limbs padded to whole registers).
    ///   - accelerated: use the AVX-512 IFMA kernel when the CPU has it (`false` forces the
    ///     portable OpenSSL path, for cross-checks and benchmarks).
    ///   - source: randomness; sessions use OpenSSL (primes from `BN_generate_prime_ex2`).
    /// - Throws: `unsupportedParameter` for other sizes, `openSSLFailure` if prime generation fails.
    public static func generate(
        bits: Int = 2048, window: Int = 8, accelerated: Bool = true,
        using source: some RandomSource = SecureRandom.system
    ) throws -> PaillierPrivateKey {
        guard PaillierPublicKey.supportedBits.contains(bits) else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "Paillier modulus of \(bits) bits (supported: 2048, 3072)")
        }
        // Primes ≡ 3 (mod 4), as Damgård–Jurik–Nielsen assume for h = −x² (then −1 is a
        // non-residue modulo both primes); half the candidates qualify.
        func prime() throws -> BigInteger {
            while true {
                let p = try source.generatePrime(bits: bits / 2)
                if __gmpz_fdiv_ui(p.z, 4) == 3 { return p }
            }
        }
        while true {
            let p = try prime()
            let q = try prime()
            guard p != q, (p * q).bitWidth == bits else { continue }
            return try PaillierPrivateKey(p: p, q: q, window: window, accelerated: accelerated, using: source)
        }
    }

    /// A key from given primes (for test vectors and loading a stored key).
    /// - Throws: `invalidPublicKey` unless p and q are distinct probable primes of equal size
    ///   giving a supported modulus with gcd(n, φ(n)) = 1.
    public init(
        p: BigInteger, q: BigInteger, window: Int = 8, accelerated: Bool = true,
        using source: some RandomSource = SecureRandom.system
    ) throws {
        for (name, v) in [("p", p), ("q", q)] where !v.isProbablePrime() {
            throw CleanRoomCryptoError.invalidPublicKey(reason: "\(name) is not prime")
        }
        guard p != q else { throw CleanRoomCryptoError.invalidPublicKey(reason: "p equals q") }
        guard p.bitWidth == q.bitWidth else { throw CleanRoomCryptoError.invalidPublicKey(reason: "p and q differ in size") }
        let n = p * q
        let one = BigInteger(1)
        pMinus1 = p - one
        qMinus1 = q - one
        guard BigInteger.gcd(n, pMinus1 * qMinus1) == one else {
            throw CleanRoomCryptoError.invalidPublicKey(reason: "gcd(n, φ(n)) ≠ 1")
        }
        publicKey = try PaillierPublicKey(n: n)
        self.p = p
        self.q = q
        pSquared = p * p
        qSquared = q * q
        // hp = L_p((n+1)^(p−1) mod p²)^(−1) mod p, where L_p(x) = (x − 1)/p.
        func h(_ prime: BigInteger, _ primeSquared: BigInteger, _ primeMinus1: BigInteger) throws -> BigInteger {
            let g = (n + one).mod(primeSquared)
            let x = g.powerSecret(primeMinus1, modulus: primeSquared)
            let l = (x - one).dividedFloor(by: prime)
            guard let inv = l.inverse(modulus: prime) else {
                throw CleanRoomCryptoError.invalidPublicKey(reason: "L_p(g^(p−1)) is not invertible")
            }
            return inv
        }
        hp = try h(p, pSquared, pMinus1)
        hq = try h(q, qSquared, qMinus1)
        qInvModP = q.inverse(modulus: p)!
        qSquaredInvModPSquared = qSquared.inverse(modulus: pSquared)!
        // DJN randomiser base: h = −x² mod n, hs = hⁿ mod n².
        randomiserBits = (publicKey.bits + 1) / 2
        let x = try BigInteger.randomUnit(modulus: n, using: source)
        let hBase = (-(x * x)).mod(n)
        hs = hBase.power(n, modulus: publicKey.nSquared, variableTime: true)
        hsP = hs.mod(pSquared)
        hsQ = hs.mod(qSquared)
        pair =
            accelerated
            ? FixedBasePair(
                base1: hsP, modulus1: pSquared, base2: hsQ, modulus2: qSquared, exponentBits: randomiserBits, window: window)
            : nil
        if pair == nil {
            tableP = try FixedBaseTable(base: hsP, modulus: pSquared, exponentBits: randomiserBits, window: window)
            tableQ = try FixedBaseTable(base: hsQ, modulus: qSquared, exponentBits: randomiserBits, window: window)
        } else {
            tableP = nil
            tableQ = nil
        }
    }

    /// The secret primes. Only for exporting throwaway keys to cross-check ciphertexts in an
    /// independent implementation (`cleanroom vectors paillier-export`); sessions never call it.
    public var secretPrimes: (p: BigInteger, q: BigInteger) { (p, q) }

    // MARK: Decryption

    /// Decrypts to the residue m ∈ [0, n) (CRT, `mpz_powm_sec` for the secret exponents).
    /// - Throws: `invalidCiphertext` when c is not in Z*_{n²}.
    public func decrypt(_ c: PaillierCiphertext) throws -> BigInteger {
        _ = try publicKey.ciphertext(value: c.value)
        let one = BigInteger(1)
        func part(_ prime: BigInteger, _ primeSquared: BigInteger, _ e: BigInteger, _ h: BigInteger) -> BigInteger {
            let x = c.value.mod(primeSquared).powerSecret(e, modulus: primeSquared)
            let l = (x - one).dividedFloor(by: prime)
            return (l * h).mod(prime)
        }
        let mp = part(p, pSquared, pMinus1, hp)
        let mq = part(q, qSquared, qMinus1, hq)
        // m = mq + q·((mp − mq)·q^(−1) mod p)
        return mq + q * ((mp - mq) * qInvModP).mod(p)
    }

    /// Decrypts to a signed plaintext in (−n/2, n/2).
    public func decryptSigned(_ c: PaillierCiphertext) throws -> BigInteger {
        publicKey.decodeSigned(try decrypt(c))
    }

    // MARK: Key-owner encryption

    /// Encrypts a signed plaintext as the key owner: (1 + m·n)·hs^α mod n² evaluated modulo p²
    /// and q² and recombined by CRT.
    /// - Parameter variableTime: `true` uses the fixed-base tables (fast; table reads depend on
    ///   α, see `FixedBaseTable`); `false` uses `mpz_powm_sec` modulo p² and q² (slower,
    ///   constant time in α).
    public func encrypt(
        _ m: BigInteger, variableTime: Bool, using source: some RandomSource = SecureRandom.system
    ) throws -> PaillierCiphertext {
        let alpha = try BigInteger.random(below: BigInteger(1).shiftedLeft(randomiserBits), using: source)
        return try encrypt(m, exponent: alpha, variableTime: variableTime)
    }

    /// Key-owner encryption with an explicit DJN exponent α (for tests).
    func encrypt(_ m: BigInteger, exponent alpha: BigInteger, variableTime: Bool) throws -> PaillierCiphertext {
        let encoded = try publicKey.encode(m)
        let rp = BigInteger(), rq = BigInteger()
        let factor = publicKey.plaintextFactor(encoded)
        // Locals whose raw mpz pointers reach C stay alive until the calls return.
        return try withExtendedLifetime((rp, rq, factor)) {
            try combine(alpha: alpha, factor: factor, rp: rp, rq: rq, variableTime: variableTime)
        }
    }

    private func combine(
        alpha: BigInteger, factor: BigInteger, rp: BigInteger, rq: BigInteger,
        variableTime: Bool
    ) throws -> PaillierCiphertext {
        if variableTime, let pair {
            // The kernel multiplies by (1 + m·n) mod p² and mod q² as it leaves Montgomery form.
            let fp = factor.mod(pSquared), fq = factor.mod(qSquared)
            let cp = BigInteger(), cq = BigInteger()
            pair.power(alpha, times: fp, fq, into: cp, cq)
            return recombine(cp, cq)
        } else if variableTime, let tableP, let tableQ {
            try tableP.power(alpha, into: rp, variableTime: true)
            try tableQ.power(alpha, into: rq, variableTime: true)
        } else if alpha.isZero {
            __gmpz_set_ui(rp.z, 1); __gmpz_set_ui(rq.z, 1)
        } else {
            __gmpz_powm_sec(rp.z, hsP.z, alpha.z, pSquared.z)
            __gmpz_powm_sec(rq.z, hsQ.z, alpha.z, qSquared.z)
        }
        // cp = (1 + m·n)·rp mod p², cq likewise; c = cq + q²·((cp − cq)·(q²)^(−1) mod p²).
        let cp = BigInteger { z in
            __gmpz_mod(z, factor.z, self.pSquared.z)
            __gmpz_mul(z, z, rp.z)
            __gmpz_mod(z, z, self.pSquared.z)
        }
        let cq = BigInteger { z in
            __gmpz_mod(z, factor.z, self.qSquared.z)
            __gmpz_mul(z, z, rq.z)
            __gmpz_mod(z, z, self.qSquared.z)
        }
        return recombine(cp, cq)
    }

    /// c = cq + q²·((cp − cq)·(q²)^(−1) mod p²), the ciphertext with c ≡ cp (mod p²) and
    /// c ≡ cq (mod q²).
    private func recombine(_ cp: BigInteger, _ cq: BigInteger) -> PaillierCiphertext {
        let c = withExtendedLifetime((cp, cq)) {
            BigInteger { z in
                __gmpz_sub(z, cp.z, cq.z)
                __gmpz_mul(z, z, self.qSquaredInvModPSquared.z)
                __gmpz_mod(z, z, self.pSquared.z)
                __gmpz_mul(z, z, self.qSquared.z)
                __gmpz_add(z, z, cq.z)
            }
        }
        return PaillierCiphertext(c)
    }
}
