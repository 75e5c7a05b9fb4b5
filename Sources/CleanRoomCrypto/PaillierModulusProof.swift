// A non-interactive proof that a Paillier modulus n satisfies gcd(n, φ(n)) = 1: the n-th root
// protocol of Goldberg, Reyzin, Sagga and Baldimtsi ("Efficient Noninteractive Certification of
// RSA Moduli and Beyond", ASIACRYPT 2019, §3 and the "Paillier-N" protocol), made non-interactive
// by hashing the challenges, with m = 10 rounds.
//
// Why: `PaillierPublicKey(n:)` checks that n is odd, of a supported size, free of factors below
// 10,000 and not a square. A key owner can still pick n = r·R with r = 10007 prime and R ≡ 1
// (mod r) prime. Then r divides both n and φ(n), x ↦ xⁿ is not a bijection of Z*n, and
// re-randomisation by rⁿ no longer reaches every ciphertext of a plaintext: the owner can hide
// information in the subgroup it cannot reach. The party that holds only the public key refuses
// a key without a valid proof.
//
// Statement. Public: n (already accepted by `PaillierPublicKey(n:)`, so every prime factor of n is
// at least 10007) and `context`, opaque bytes bound into the challenges (the protocol passes a
// transcript hash). The prover shows that every ρ in a list of challenges has an n-th root.
//
// Challenges. L = byte length of n (256 or 384), k = bit length of n. For i = 0, …, 9 and a
// rejection counter c = 0, 1, 2, …:
//
//     msg = UInt32(L) ‖ n (L bytes) ‖ UInt32(len(context)) ‖ context ‖ UInt32(i) ‖ UInt32(c)
//     x   = expand_message_xmd(SHA-256, msg, DST = "CleanRoom-v1 paillier-modulus-proof", L bytes)
//
// (every integer big-endian; the DST is the 35 ASCII bytes shown; expand_message_xmd is RFC 9380
// §5.3.1.) x is read big-endian, its bits above k are cleared, and ρᵢ = x for the first c with
// 0 < x < n and gcd(x, n) = 1. Each ρᵢ is thus uniform in Z*n (rejection sampling of a uniform
// k-bit integer).
//
// Proof. σᵢ = ρᵢ^d mod n with d = n⁻¹ mod φ(n), computed by CRT: σᵢ ≡ ρᵢ^(d mod (p−1)) (mod p) and
// likewise mod q, with d mod (p−1) = n⁻¹ mod (p−1) (since p − 1 divides φ(n)). When
// gcd(n, φ(n)) = 1, x ↦ xⁿ is a permutation of Z*n and σᵢ is the only n-th root of ρᵢ in Z*n, so
// the proof is deterministic. Encoding: σ₀ ‖ … ‖ σ₉, each big-endian in exactly L bytes (10·L
// bytes: 2,560 at 2048 bits, 3,840 at 3072).
//
// Verification. Exactly 10·L bytes, 0 < σᵢ < n for each i, and σᵢⁿ mod n = ρᵢ for each i, with
// the ρᵢ recomputed from (n, context). Everything is public, so variable-time arithmetic is used.
//
// Soundness. Suppose gcd(n, φ(n)) ≠ 1: some prime p divides n and φ(n) = |Z*n|, and p ≥ 10007.
// Z*n is abelian of order divisible by p, so it has an element of order p (Cauchy), and since
// p | n that element is in the kernel of the homomorphism x ↦ xⁿ. The kernel has at least p
// elements, so the image, the n-th residues, holds at most |Z*n|/p elements: a uniform unit is an
// n-th residue with probability at most 1/p ≤ 1/10007, and a unit that is not has no n-th root
// at all, whatever the prover knows.
// The ten challenges are independent random-oracle outputs, so all ten are n-th residues with
// probability at most (1/10007)¹⁰ ≈ 2^−132.9 for each (n, context) the prover tries: a cheating
// key owner must expect about 2^132.9 hash evaluations (grinding over contexts or moduli) before
// it finds one it can prove.
//
// Not proven: that n has two prime factors, that they are of equal size or ≡ 3 (mod 4), that n is
// hard to factor, or that the owner knows the factors (only that it can take n-th roots). None of
// these is needed against the subgroup attack above. A square factor p² | n is excluded (then
// p | φ(n)).
import CGMP

/// A proof that a Paillier modulus n satisfies gcd(n, φ(n)) = 1: the n-th roots of `rounds`
/// challenges derived from n and a context (see the file header for the exact protocol).
public struct PaillierModulusProof: Sendable, Equatable {
    /// Number of challenges m; a bad modulus passes with probability at most 10007^−m ≈ 2^−132.9.
    public static let rounds = 10
    /// The domain separation tag of the challenge derivation (expand_message_xmd's DST).
    public static let domainTag: [UInt8] = Array("CleanRoom-v1 paillier-modulus-proof".utf8)

    /// σ₀, …, σ_{m−1}: the n-th roots of the challenges.
    public let roots: [BigInteger]

    /// A proof from its roots, unchecked (decoding and `verify` do the checks).
    init(roots: [BigInteger]) { self.roots = roots }

    /// Proves that the key's modulus satisfies gcd(n, φ(n)) = 1, bound to `context`.
    ///
    /// Deterministic: the same key and context give the same proof. The roots are computed by CRT
    /// with `mpz_powm_sec` for the secret exponents n⁻¹ mod (p−1) and n⁻¹ mod (q−1), which, like
    /// every intermediate, are wiped on release; each root is checked (σⁿ mod n = ρ) before it is
    /// returned, so a fault in the CRT computation cannot leak a factor. The two inverses come
    /// from `mpz_invert`, which is not constant time (like q⁻¹ mod p when the key is built).
    /// - Throws: `invalidPublicKey` if n has no n-th roots to give (gcd(n, φ(n)) ≠ 1, which
    ///   `PaillierPrivateKey` already refuses), `unsupportedParameter` for a context of 2³² bytes
    ///   or more, `openSSLFailure` if hashing fails, `mismatch` if a root fails its own check.
    public static func prove(privateKey key: PaillierPrivateKey, context: [UInt8]) throws -> PaillierModulusProof {
        let n = key.publicKey.n
        guard let dp = n.inverse(modulus: key.pMinus1), let dq = n.inverse(modulus: key.qMinus1) else {
            throw CleanRoomCryptoError.invalidPublicKey(reason: "gcd(n, φ(n)) ≠ 1: n has no n-th roots to prove with")
        }
        let challenges = try challenges(publicKey: key.publicKey, context: context)
        let roots = try challenges.enumerated().map { i, rho in
            // σ = σq + q·((σp − σq)·q⁻¹ mod p), with σp = ρ^dp mod p and σq = ρ^dq mod q.
            let sp = rho.mod(key.p).powerSecret(dp, modulus: key.p)
            let sq = rho.mod(key.q).powerSecret(dq, modulus: key.q)
            let sigma = sq + key.q * ((sp - sq) * key.qInvModP).mod(key.p)
            guard sigma.power(n, modulus: n, variableTime: true) == rho else {
                throw CleanRoomCryptoError.mismatch(what: "modulus proof root \(i) fails σⁿ = ρ (a computation fault; nothing is sent)")
            }
            return sigma
        }
        return PaillierModulusProof(roots: roots)
    }

    /// Checks the proof for `publicKey` and `context`.
    /// - Throws: `invalidPublicKey` with a reason naming the first failing root when the proof
    ///   does not show gcd(n, φ(n)) = 1 for this context: the key must then be refused.
    public func verify(publicKey: PaillierPublicKey, context: [UInt8]) throws {
        let n = publicKey.n
        guard roots.count == Self.rounds else {
            throw Self.refusal("it has \(roots.count) roots, expected \(Self.rounds)")
        }
        for (i, sigma) in roots.enumerated() {
            guard sigma.signum > 0, sigma < n else { throw Self.refusal("root \(i) is not in (0, n)") }
        }
        let challenges = try Self.challenges(publicKey: publicKey, context: context)
        for (i, (sigma, rho)) in zip(roots, challenges).enumerated() {
            guard sigma.power(n, modulus: n, variableTime: true) == rho else {
                throw Self.refusal("root \(i): σⁿ mod n differs from the challenge ρ\(i) (wrong root or context, or a bad modulus)")
            }
        }
    }

    static func refusal(_ detail: String) -> CleanRoomCryptoError {
        .invalidPublicKey(reason: "the key owner's proof that gcd(n, φ(n)) = 1 does not verify: \(detail)")
    }

    // MARK: Encoding

    /// Length of an encoded proof for a modulus of `modulusBytes` bytes: `rounds`·`modulusBytes`
    /// (2,560 at 2048 bits, 3,840 at 3072).
    public static func encodedLength(modulusBytes: Int) -> Int { rounds * modulusBytes }

    /// σ₀ ‖ … ‖ σ_{m−1}, each big-endian in exactly `modulusBytes` bytes.
    /// - Throws: `wrongLength` when a root does not fit (a proof for a larger key).
    public func encoded(modulusBytes: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: roots.count * modulusBytes)
        try out.withUnsafeMutableBytes { buffer in
            for (i, sigma) in roots.enumerated() {
                try sigma.writeBigEndian(
                    into: UnsafeMutableRawBufferPointer(rebasing: buffer[(i * modulusBytes)..<((i + 1) * modulusBytes)]))
            }
        }
        return out
    }

    /// Decodes a proof for `publicKey`: exactly `encodedLength(modulusBytes:)` bytes, each root
    /// 0 < σ < n. Decoding does not verify: call `verify`.
    /// - Throws: `invalidPublicKey` (the proof is refused) for a wrong length or a root out of range.
    public init(decoding bytes: [UInt8], publicKey: PaillierPublicKey) throws {
        let width = publicKey.modulusBytes
        let expected = Self.encodedLength(modulusBytes: width)
        guard bytes.count == expected else {
            throw Self.refusal("it has \(bytes.count) bytes, expected \(expected) (\(Self.rounds) roots of \(width) bytes)")
        }
        var roots = [BigInteger]()
        roots.reserveCapacity(Self.rounds)
        try bytes.withUnsafeBytes { raw in
            for i in 0..<Self.rounds {
                let sigma = BigInteger(bigEndian: UnsafeRawBufferPointer(rebasing: raw[(i * width)..<((i + 1) * width)]))
                guard sigma.signum > 0, sigma < publicKey.n else { throw Self.refusal("root \(i) is not in (0, n)") }
                roots.append(sigma)
            }
        }
        self.roots = roots
    }

    // MARK: Challenges

    /// The challenges ρ₀, …, ρ_{m−1} ∈ Z*n for `publicKey` and `context` (file header).
    /// - Throws: `unsupportedParameter` for a context of 2³² bytes or more, `openSSLFailure`.
    public static func challenges(publicKey: PaillierPublicKey, context: [UInt8]) throws -> [BigInteger] {
        let xmd = try ExpandMessageXMD(hash: .sha256, dst: domainTag)
        return try (0..<rounds).map { try challenge(n: publicKey.n, context: context, index: UInt32($0), xmd: xmd).value }
    }

    /// A challenge ρ and the rejection counter at which it was accepted.
    typealias Challenge = (value: BigInteger, counter: UInt32)

    /// Challenge `index`, with the rejection counter at which it was accepted.
    static func challenge(n: BigInteger, context: [UInt8], index: UInt32, xmd: ExpandMessageXMD) throws -> Challenge {
        let one = BigInteger(1)
        for counter in UInt32(0)...UInt32.max {
            let x = try candidate(n: n, context: context, index: index, counter: counter, xmd: xmd)
            if x.signum > 0, x < n, BigInteger.gcd(x, n) == one { return (x, counter) }
        }
        // 2³² rejections in a row: impossible for n of the supported sizes (each try succeeds
        // with probability above 1/2).
        throw CleanRoomCryptoError.unsupportedParameter(what: "modulus proof: no challenge \(index) below n")
    }

    /// The candidate for challenge `index` at rejection counter `counter`: expand_message_xmd
    /// over the message of the file header, bits above bitlen(n) cleared.
    static func candidate(n: BigInteger, context: [UInt8], index: UInt32, counter: UInt32, xmd: ExpandMessageXMD) throws -> BigInteger {
        guard let contextLength = UInt32(exactly: context.count) else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "modulus proof context of \(context.count) bytes (at most 2³² − 1)")
        }
        let bits = n.bitWidth
        let width = (bits + 7) / 8
        var message = [UInt8]()
        message.reserveCapacity(16 + width + context.count)
        func append(_ v: UInt32) { message += [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }
        append(UInt32(width))
        message += try n.bigEndianBytes(width: width)
        append(contextLength)
        message += context
        append(index)
        append(counter)
        var uniform = try xmd.expand(message, length: width)
        if bits % 8 != 0 { uniform[0] &= UInt8((1 << (bits % 8)) - 1) }
        return BigInteger(bigEndian: uniform)
    }
}
