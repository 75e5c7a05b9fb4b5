import Testing

@testable import CleanRoomCrypto

/// The proof that gcd(n, φ(n)) = 1: honest proofs verify, every alteration is refused, and the
/// malicious modulus n = 10007·R (R ≡ 1 mod 10007), which `PaillierPublicKey(n:)` accepts, cannot
/// be proven.
@Suite struct PaillierModulusProofTests {
    static let context: [UInt8] = Array("transcript hash stand-in, 32 b.".utf8) + [0x01]

    /// The proof is refused with `invalidPublicKey` whose reason names the proof and contains `detail`.
    static func expectRefused(
        _ detail: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
    ) {
        do {
            try body()
            Issue.record("accepted a proof that must be refused (\(detail))", sourceLocation: sourceLocation)
        } catch CleanRoomCryptoError.invalidPublicKey(let reason) {
            #expect(reason.contains("proof that gcd(n, φ(n)) = 1 does not verify"), "\(reason)", sourceLocation: sourceLocation)
            #expect(reason.contains(detail), "\(reason)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("refused with an unexpected error: \(error)", sourceLocation: sourceLocation)
        }
    }

    // MARK: Honest keys

    @Test(arguments: [2048, 3072])
    func honestProofVerifiesAndIsDeterministic(bits: Int) throws {
        let sk = bits == 2048 ? TestKeys.k2048 : TestKeys.k3072
        let pk = sk.publicKey
        let proof = try PaillierModulusProof.prove(privateKey: sk, context: Self.context)
        #expect(proof.roots.count == PaillierModulusProof.rounds)
        try proof.verify(publicKey: pk, context: Self.context)
        // Deterministic: n-th roots are unique when gcd(n, φ(n)) = 1.
        #expect(try PaillierModulusProof.prove(privateKey: sk, context: Self.context) == proof)
        let bytes = try proof.encoded(modulusBytes: pk.modulusBytes)
        #expect(bytes.count == PaillierModulusProof.encodedLength(modulusBytes: pk.modulusBytes))
        #expect(bytes.count == (bits == 2048 ? 2560 : 3840))
        let decoded = try PaillierModulusProof(decoding: bytes, publicKey: pk)
        #expect(decoded == proof)
        try decoded.verify(publicKey: pk, context: Self.context)
        // Each root really is the n-th root of its challenge.
        let challenges = try PaillierModulusProof.challenges(publicKey: pk, context: Self.context)
        for (sigma, rho) in zip(proof.roots, challenges) {
            #expect(sigma.power(pk.n, modulus: pk.n, variableTime: true) == rho)
        }
    }

    @Test func challengesAreDistinctUnitsAndDependOnTheContext() throws {
        let pk = TestKeys.k2048.publicKey
        let a = try PaillierModulusProof.challenges(publicKey: pk, context: Self.context)
        #expect(a.count == 10 && Set(a).count == 10)
        for rho in a { #expect(rho.signum > 0 && rho < pk.n && BigInteger.gcd(rho, pk.n) == BigInteger(1)) }
        #expect(try PaillierModulusProof.challenges(publicKey: pk, context: Self.context) == a)
        for other in [[], Self.context.dropLast() + [0x00], Self.context + [0x00]] as [[UInt8]] {
            #expect(Set(try PaillierModulusProof.challenges(publicKey: pk, context: other)).isDisjoint(with: a))
        }
        let proof = try PaillierModulusProof.prove(privateKey: TestKeys.k2048, context: [])
        #expect(proof != (try PaillierModulusProof.prove(privateKey: TestKeys.k2048, context: Self.context)))
        try proof.verify(publicKey: pk, context: [])
    }

    @Test func changedRootIsRefused() throws {
        let sk = TestKeys.k2048
        let pk = sk.publicKey
        let proof = try PaillierModulusProof.prove(privateKey: sk, context: Self.context)
        for i in 0..<PaillierModulusProof.rounds {
            var roots = proof.roots
            roots[i] = (roots[i] + BigInteger(1)).mod(pk.n)
            Self.expectRefused("root \(i): σⁿ mod n differs") {
                try PaillierModulusProof(roots: roots).verify(publicKey: pk, context: Self.context)
            }
        }
        // −σ: (−σ)ⁿ = −ρ, n being odd.
        var negated = proof.roots
        negated[4] = pk.n - negated[4]
        Self.expectRefused("root 4") { try PaillierModulusProof(roots: negated).verify(publicKey: pk, context: Self.context) }
        // Roots in another order.
        Self.expectRefused("root 0") {
            try PaillierModulusProof(roots: proof.roots.reversed()).verify(publicKey: pk, context: Self.context)
        }
        // A changed byte of the encoding.
        var bytes = try proof.encoded(modulusBytes: pk.modulusBytes)
        bytes[pk.modulusBytes * 7 + 100] ^= 0x20
        Self.expectRefused("root 7") {
            try PaillierModulusProof(decoding: bytes, publicKey: pk).verify(publicKey: pk, context: Self.context)
        }
    }

    @Test func proofForAnotherContextIsRefused() throws {
        let sk = TestKeys.k2048
        let pk = sk.publicKey
        let proof = try PaillierModulusProof.prove(privateKey: sk, context: Self.context)
        var flipped = Self.context
        flipped[31] ^= 0x01
        for other in [flipped, [], Self.context + [0], Array(Self.context.dropLast())] {
            Self.expectRefused("root 0") { try proof.verify(publicKey: pk, context: other) }
        }
    }

    @Test func proofForAnotherKeyIsRefused() throws {
        let proof2048 = try PaillierModulusProof.prove(privateKey: TestKeys.k2048, context: Self.context)
        let bytes = try proof2048.encoded(modulusBytes: 256)
        // Another 2048-bit modulus (the malicious one serves as any other key here).
        let other = try PaillierPublicKey(n: Self.maliciousN)
        Self.expectRefused("root") {
            try PaillierModulusProof(decoding: bytes, publicKey: other).verify(publicKey: other, context: Self.context)
        }
        // A 3072-bit key: wrong length.
        Self.expectRefused("2560 bytes, expected 3840") {
            _ = try PaillierModulusProof(decoding: bytes, publicKey: TestKeys.k3072.publicKey)
        }
    }

    @Test func encodingsOfTheWrongLengthAreRefused() throws {
        let sk = TestKeys.k2048
        let pk = sk.publicKey
        let bytes = try PaillierModulusProof.prove(privateKey: sk, context: Self.context).encoded(modulusBytes: pk.modulusBytes)
        #expect(bytes.count == 2560)
        let variants: [[UInt8]] = [
            Array(bytes.dropLast()), bytes + [0], Array(bytes.dropLast(256)), bytes + bytes.prefix(256), [], Array(bytes.dropFirst()),
        ]
        for v in variants {
            Self.expectRefused("\(v.count) bytes, expected 2560") { _ = try PaillierModulusProof(decoding: v, publicKey: pk) }
        }
        // Nine or eleven roots built directly.
        let roots = try PaillierModulusProof.prove(privateKey: sk, context: Self.context).roots
        for count in [9, 11, 0] {
            let altered = Array((roots + roots).prefix(count))
            Self.expectRefused("\(count) roots, expected 10") {
                try PaillierModulusProof(roots: altered).verify(publicKey: pk, context: Self.context)
            }
        }
    }

    @Test func rootsOutsideTheRangeAreRefused() throws {
        let sk = TestKeys.k2048
        let pk = sk.publicKey
        let n = pk.n
        let proof = try PaillierModulusProof.prove(privateKey: sk, context: Self.context)
        let width = pk.modulusBytes
        let allOnes = BigInteger(1).shiftedLeft(8 * width) - BigInteger(1)
        var cases = [(0, BigInteger(0)), (2, n), (9, allOnes)]
        // σ + n ≡ σ (mod n): only the range check refuses it. It fits the width when σ < 2^2048 − n,
        // which no root of this random key may satisfy; k2048-root-plus-n in the vectors always does.
        if let i = proof.roots.firstIndex(where: { $0 + n <= allOnes }) { cases.append((i, proof.roots[i] + n)) }
        for (index, value) in cases {
            var roots = proof.roots
            roots[index] = value
            let bytes = try PaillierModulusProof(roots: roots).encoded(modulusBytes: width)
            Self.expectRefused("root \(index) is not in (0, n)") { _ = try PaillierModulusProof(decoding: bytes, publicKey: pk) }
            // verify checks the range too, for proofs built other than by decoding.
            Self.expectRefused("root \(index) is not in (0, n)") {
                try PaillierModulusProof(roots: roots).verify(publicKey: pk, context: Self.context)
            }
        }
        // A negative root, and one too wide to encode.
        Self.expectRefused("root 1 is not in (0, n)") {
            var roots = proof.roots
            roots[1] = -proof.roots[1]
            try PaillierModulusProof(roots: roots).verify(publicKey: pk, context: Self.context)
        }
        #expect(throws: CleanRoomCryptoError.self) {
            _ = try PaillierModulusProof(roots: [allOnes + BigInteger(1)]).encoded(modulusBytes: width)
        }
    }

    // MARK: The malicious modulus

    static let r = BigInteger(10007)
    /// R = k·r + 1 prime, so that n = r·R has 2048 bits and gcd(n, φ(n)) = r (found by
    /// Vectors/tools/paillier_modulus_proof.py generate; the same modulus as key `bad2048` of
    /// Vectors/paillier_modulus_proof.json).
    static let bigR = BigInteger(
        hex: "3b229eb33487169599a963e9bdd147468b5e94d23093ec4b27aa25d70da61b4c1d21090ff2dcd826693187bb59b2a2fe77274235a948506034494e1478ee"
            + "04248b0054c5b8c18dbfa909cae272693c80b9ba38a52cfdd358974d0584183392995d579e429a5d77af2d5cb23594cee5d6eb1e48613f08cd5653c6b6"
            + "0f82a793af78c56b379b130ab809062349a319dc2447745e63d91fc553e4f1114beb31ad0c67593c661cff1d22dcf98a5f3301f6c93003587a710102c9"
            + "50f37f4c8c5eae892404c06edd65c159bfe62d12e31839397f787bcd1f582b17e7893dc503271deabde26e04853f65bed57e3c77cd9884728297e0dfbdb"
            + "8c6faebe2cc53f06a1")!
    static let maliciousN = r * bigR

    @Test func maliciousModulusPassesThePublicKeyChecks() throws {
        let one = BigInteger(1)
        #expect(Self.r.isProbablePrime() && Self.bigR.isProbablePrime())
        #expect((Self.bigR - one).mod(Self.r).isZero)
        #expect(Self.maliciousN.bitWidth == 2048)
        let phi = (Self.r - one) * (Self.bigR - one)
        #expect(BigInteger.gcd(Self.maliciousN, phi) == Self.r)
        // The old checks accept it: odd, 2048 bits, no factor below 10000, not a square.
        let pk = try PaillierPublicKey(n: Self.maliciousN)
        #expect(pk.bits == 2048)
        // x ↦ xⁿ is not injective: z ≡ 1 (mod r), z ≡ g (mod R) with g of order r has zⁿ = 1.
        let g = BigInteger(2).power((Self.bigR - one).dividedFloor(by: Self.r), modulus: Self.bigR, variableTime: true)
        #expect(g != one)
        let z = try #require(crt(one, Self.r, g, Self.bigR))
        #expect(z != one && z.power(Self.maliciousN, modulus: Self.maliciousN, variableTime: true) == one)
        // A private key from its factors is refused, so `prove` cannot even be called.
        #expect(throws: CleanRoomCryptoError.self) { _ = try PaillierPrivateKey(p: Self.r, q: Self.bigR) }
        #expect(throws: CleanRoomCryptoError.self) { _ = try PaillierPrivateKey(p: Self.bigR, q: Self.r) }
    }

    /// x with x ≡ a (mod m1), x ≡ b (mod m2).
    func crt(_ a: BigInteger, _ m1: BigInteger, _ b: BigInteger, _ m2: BigInteger) -> BigInteger? {
        guard let inv = m1.inverse(modulus: m2) else { return nil }
        return (a + m1 * ((b - a) * inv).mod(m2)).mod(m1 * m2)
    }

    /// The owner's best attempt: d′ = n⁻¹ mod λ′ with λ′ = lcm(r − 1, (R − 1)/r), the largest
    /// exponent of a quotient of Z*n on which n is invertible; σ = ρ^d′ is an n-th root of ρ exactly
    /// when ρ is an n-th residue.
    static func bestEffortExponent() throws -> BigInteger {
        let one = BigInteger(1)
        let a = Self.r - one, b = (Self.bigR - one).dividedFloor(by: Self.r)
        let lambda = (a * b).dividedFloor(by: BigInteger.gcd(a, b))
        return try #require(Self.maliciousN.inverse(modulus: lambda))
    }

    @Test func maliciousModulusCannotBeProven() throws {
        let n = Self.maliciousN
        let pk = try PaillierPublicKey(n: n)
        let d = try Self.bestEffortExponent()
        let one = BigInteger(1)
        let residueExponent = (Self.bigR - one).dividedFloor(by: Self.r)
        // The attack works on n-th residues: for ρ = yⁿ the best-effort root is a true root.
        for _ in 0..<3 {
            let rho = try BigInteger.randomUnit(modulus: n).power(n, modulus: n, variableTime: true)
            #expect(rho.power(d, modulus: n, variableTime: true).power(n, modulus: n, variableTime: true) == rho)
        }
        for context in [[], Self.context] as [[UInt8]] {
            let challenges = try PaillierModulusProof.challenges(publicKey: pk, context: context)
            // The challenges are not n-th residues (ρ^((R−1)/r) ≠ 1 mod R), so no root exists.
            let residues = challenges.map { $0.mod(Self.bigR).power(residueExponent, modulus: Self.bigR, variableTime: true) == one }
            #expect(residues.filter { $0 }.count < 2, "each challenge is a residue with probability 1/10007")
            #expect(residues.contains(false))
            let roots = challenges.map { $0.power(d, modulus: n, variableTime: true) }
            for (i, (sigma, rho)) in zip(roots, challenges).enumerated() where !residues[i] {
                #expect(sigma.power(n, modulus: n, variableTime: true) != rho)
            }
            let first = try #require(residues.firstIndex(of: false))
            let bytes = try PaillierModulusProof(roots: roots).encoded(modulusBytes: pk.modulusBytes)
            Self.expectRefused("root \(first): σⁿ mod n differs") {
                try PaillierModulusProof(decoding: bytes, publicKey: pk).verify(publicKey: pk, context: context)
            }
            // Random roots and the challenges themselves fare no better.
            let random = try (0..<10).map { _ in try BigInteger.randomUnit(modulus: n) }
            Self.expectRefused("root 0") { try PaillierModulusProof(roots: random).verify(publicKey: pk, context: context) }
            Self.expectRefused("root 0") { try PaillierModulusProof(roots: challenges).verify(publicKey: pk, context: context) }
        }
        // An honest key's proof presented for the malicious modulus.
        let honest = try PaillierModulusProof.prove(privateKey: TestKeys.k2048, context: Self.context)
        Self.expectRefused("root") {
            let bytes = try honest.encoded(modulusBytes: 256)
            try PaillierModulusProof(decoding: bytes, publicKey: pk).verify(publicKey: pk, context: Self.context)
        }
    }

    // MARK: Challenge derivation

    @Test func rejectedCandidatesAreSkipped() throws {
        // For the malicious modulus and the empty context, challenge 0 is accepted at counter 3
        // (Vectors/paillier_modulus_proof.json records the counters; the Python tool recomputes them).
        let n = Self.maliciousN
        let xmd = try ExpandMessageXMD(hash: .sha256, dst: PaillierModulusProof.domainTag)
        let (value, counter) = try PaillierModulusProof.challenge(n: n, context: [], index: 0, xmd: xmd)
        #expect(counter == 3)
        for c in UInt32(0)..<counter {
            let x = try PaillierModulusProof.candidate(n: n, context: [], index: 0, counter: c, xmd: xmd)
            #expect(!(x < n) || BigInteger.gcd(x, n) != BigInteger(1))
            #expect(x.bitWidth <= 2048)
        }
        #expect(value == (try PaillierModulusProof.candidate(n: n, context: [], index: 0, counter: 3, xmd: xmd)))
        #expect(try PaillierModulusProof.challenges(publicKey: PaillierPublicKey(n: n), context: [])[0] == value)
    }

    @Test func candidateIsExpandMessageXMDOverTheDocumentedMessage() throws {
        // The message layout spelled out once more, byte by byte, against the implementation.
        let n = Self.maliciousN
        let xmd = try ExpandMessageXMD(hash: .sha256, dst: Array("CleanRoom-v1 paillier-modulus-proof".utf8))
        let context: [UInt8] = [0xaa, 0xbb, 0xcc]
        var message: [UInt8] = [0x00, 0x00, 0x01, 0x00]  // L = 256
        message += try n.bigEndianBytes(width: 256)
        message += [0x00, 0x00, 0x00, 0x03] + context  // len(context), context
        message += [0x00, 0x00, 0x00, 0x07]  // i = 7
        message += [0x00, 0x00, 0x00, 0x02]  // counter = 2
        let expected = BigInteger(bigEndian: try xmd.expand(message, length: 256))
        #expect(try PaillierModulusProof.candidate(n: n, context: context, index: 7, counter: 2, xmd: xmd) == expected)
    }
}
