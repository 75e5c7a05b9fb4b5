// Exact samplers for differential privacy: the discrete Laplace and the discrete Gaussian on the
// integers, after Canonne, Kamath and Steinke, "The Discrete Gaussian for Differential Privacy"
// (NeurIPS 2020, arXiv:2004.00010), Algorithms 1–3.
//
// Why exact and integer-only: noise computed in floating point does not have the distribution it
// claims. The set of doubles a textbook Laplace sampler can return depends on the true value, so
// the low-order bits of a noisy answer can reveal it (Mironov, "On Significance of the Least
// Significant Bits for Differential Privacy", CCS 2012). Every step below works on integers and
// exact rationals (UInt64, 128-bit products via `multipliedFullWidth`, and GMP integers where
// those would overflow), and every coin is an unbiased draw from a `RandomSource`. There is no
// floating point in this file. (Reporting helpers that may round are in `DPCalibration.swift`.)
//
// Distributions.
//   Discrete Laplace, scale t > 0:   P(x) = (1 − e^(−1/t)) / (1 + e^(−1/t)) · e^(−|x|/t),  x ∈ Z.
//   Discrete Gaussian, variance parameter σ² > 0:   P(x) ∝ e^(−x²/(2σ²)),  x ∈ Z.
// t and σ² are positive rationals numerator/denominator (UInt64 each; reduced by their gcd).
//
// Algorithm 1, Bernoulli(e^(−γ)) for a rational γ = n/d ≥ 0 (von Neumann's series method).
// Write γ = q + r/d with q = ⌊n/d⌋. Draw q coins Bernoulli(e^(−1)) and return 0 at the first 0;
// then draw Bernoulli(e^(−r/d)) with the series method: K ← 1; while Bernoulli(r/(d·K)) = 1,
// K ← K + 1; return 1 iff K is odd. (P(K > k) = (r/d)^k / k!, so P(K odd) = e^(−r/d).)
// Bernoulli(a/b) is "a uniform integer below b is less than a" (rejection sampling, no modulo
// bias); when d·K overflows 64 bits it is drawn as Bernoulli(r/d) ∧ Bernoulli(1/K), the same
// probability. Bernoulli(e^(−1)) is the series method with r/d = 1.
//
// Algorithm 2, discrete Laplace with scale t = a/b (the paper's t/s with t = a, s = b).
//   loop:
//     U ← uniform in {0, …, a − 1};  D ← Bernoulli(e^(−U/a));  if D = 0, restart
//     V ← 0;  while Bernoulli(e^(−1)) = 1: V ← V + 1          (geometric, P(V = v) ∝ e^(−v))
//     X ← U + a·V                                               (geometric, P(X = x) ∝ e^(−x/a))
//     Y ← ⌊X / b⌋                                               (geometric, P(Y = y) ∝ e^(−y·b/a))
//     B ← Bernoulli(1/2);  if B = 1 and Y = 0, restart
//     return (1 − 2B)·Y
// X is computed in 128 bits, so any a and b work; only the result must fit Int64.
//
// Algorithm 3, discrete Gaussian with σ² = n/d.
//   t ← ⌊σ⌋ + 1   (⌊σ⌋ = ⌊√⌊n/d⌋⌋, an integer square root)
//   loop:
//     Y ← discrete Laplace with scale t
//     C ← Bernoulli(e^(−γ)) with γ = (|Y| − σ²/t)² / (2σ²) = (|Y|·d·t − n)² / (2·n·d·t²)
//     if C = 1, return Y
// γ's numerator and denominator are formed in 64/128-bit arithmetic when they fit and in GMP
// integers otherwise (large or finely divided σ²); both give the same exact rational.
//
// Expected cost: O(1) coins per draw whatever the scale (Algorithm 2 accepts a round with
// probability at least (1 − e^(−1))/2; Algorithm 3 accepts a proposal with a probability bounded
// away from zero for every σ, as CKS 2020 show).
//
// TIMING: the number of coins, and so the running time, depends on the value drawn (a draw far in
// the tail takes longer: V coins for the geometric part alone). Such timing differences have
// been exploited against DP libraries (Jin, McMurtry, Rubinstein and Ohrimenko, "Are We There
// Yet? Timing and Floating-Point Attacks on Differential Privacy Systems", IEEE S&P 2022).
// Callers must draw all the noise a session needs before any data element flows, so that the
// time a draw takes cannot be observed relative to, or correlated with, the protocol's messages.
//
// Reproducibility: a sampler's output is a deterministic function of the bytes its source
// returns, so a `SeededRandom` source gives the same draws on every run and platform.

/// The discrete Laplace distribution on the integers with scale t = `scaleNumerator` /
/// `scaleDenominator`: P(x) ∝ e^(−|x|/t). Sampled exactly (CKS 2020, Algorithm 2; see the file
/// header), with integer arithmetic only.
///
/// Adding one draw to an integer query of sensitivity Δ gives ε-differential privacy for
/// ε = Δ/t (`DPCalibration.laplaceScale`).
///
/// Range: every draw is an `Int64` in −(2⁶³ − 1) … 2⁶³ − 1. The scale is capped at
/// `maximumScale` = 2⁴⁸, where P(|X| ≥ 2⁶³) = 2e^(−2¹⁵)/(1 + e^(−2⁻⁴⁸)) < 2^−47000; a draw that
/// would not fit throws rather than return a wrong value.
///
/// Timing: the running time of `sample` depends on the value drawn. Draw all noise before any
/// data flows (see the file header).
public struct DiscreteLaplace: Sendable, Equatable {
    /// The largest scale accepted, 2⁴⁸ (about 2.8·10¹⁴).
    public static let maximumScale: UInt64 = 1 << 48

    /// Numerator of the scale t, in lowest terms with `scaleDenominator`.
    public let scaleNumerator: UInt64
    /// Denominator of the scale t (positive).
    public let scaleDenominator: UInt64

    /// The discrete Laplace distribution with scale t = `scaleNumerator` / `scaleDenominator`.
    /// - Throws: `unsupportedParameter` when either part is zero or t > `maximumScale`.
    public init(scaleNumerator: UInt64, scaleDenominator: UInt64) throws {
        guard scaleDenominator > 0 else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "discrete Laplace scale has a zero denominator")
        }
        guard scaleNumerator > 0 else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "discrete Laplace scale must be positive (numerator is zero)")
        }
        let (cap, overflow) = Self.maximumScale.multipliedReportingOverflow(by: scaleDenominator)
        guard overflow || scaleNumerator <= cap else {
            throw CleanRoomCryptoError.unsupportedParameter(
                what: "discrete Laplace scale \(scaleNumerator)/\(scaleDenominator) exceeds the maximum 2^48")
        }
        let g = DiscreteNoise.gcd(scaleNumerator, scaleDenominator)
        self.scaleNumerator = scaleNumerator / g
        self.scaleDenominator = scaleDenominator / g
    }

    /// One draw. The running time depends on the value drawn: draw all noise before any data flows.
    /// - Throws: what the source throws; `unsupportedParameter` if a draw exceeds `Int64`
    ///   (probability below 2^−47000, see the type's documentation).
    public func sample(using source: some RandomSource = SecureRandom.system) throws -> Int64 {
        try draw(from: RandomWords(source: source, capacity: DiscreteNoise.singleDrawWords))
    }

    /// `count` independent draws, reading the source in large blocks (faster than `count` calls
    /// of `sample`, and a different sequence for the same seed).
    public func samples(count: Int, using source: some RandomSource = SecureRandom.system) throws -> [Int64] {
        precondition(count >= 0, "count must be non-negative")
        let words = RandomWords(source: source)
        var out = [Int64]()
        out.reserveCapacity(count)
        for _ in 0..<count { out.append(try draw(from: words)) }
        return out
    }

    /// Algorithm 2 of CKS 2020 on a word stream.
    func draw<S>(from words: RandomWords<S>) throws -> Int64 {
        let a = scaleNumerator
        let b = scaleDenominator
        while true {
            let u = try a == 1 ? 0 : words.uniform(below: a)
            guard try words.bernoulliExpMinusFraction(u, over: a) else { continue }
            var v: UInt64 = 0
            while try words.bernoulliExpMinusOne() { v += 1 }
            // X = U + a·V in 128 bits, then Y = ⌊X / b⌋ (fits 64 bits iff the high word is below b).
            let product = a.multipliedFullWidth(by: v)
            let (low, carry) = product.low.addingReportingOverflow(u)
            let high = product.high + (carry ? 1 : 0)  // a·v ≤ (2⁶⁴ − 1)², so high ≤ 2⁶⁴ − 2 here
            guard high < b else { throw DiscreteNoise.drawOverflow }
            let y = b.dividingFullWidth((high: high, low: low)).quotient
            let negative = try words.word() & 1 == 1
            if negative && y == 0 { continue }
            guard y <= UInt64(Int64.max) else { throw DiscreteNoise.drawOverflow }
            return negative ? -Int64(y) : Int64(y)
        }
    }
}

/// The discrete Gaussian distribution on the integers with σ² = `sigmaSquaredNumerator` /
/// `sigmaSquaredDenominator`: P(x) ∝ e^(−x²/(2σ²)). Sampled exactly (CKS 2020, Algorithm 3: rejection
/// from a discrete Laplace of scale ⌊σ⌋ + 1; see the file header), with integer arithmetic only.
///
/// Its variance is below σ² (CKS 2020), and within a relative 2.2·10⁻⁷ of it for σ ≥ 1; adding one
/// draw to an integer query of sensitivity Δ gives ρ-zero-concentrated DP for ρ = Δ²/(2σ²)
/// (`DPCalibration.gaussianSigmaSquared`).
///
/// Range: every draw is an `Int64`. σ² < 2⁶⁴ by its type, so σ < 2³² and the proposal's Laplace
/// scale ⌊σ⌋ + 1 is at most 2³² (far below `DiscreteLaplace.maximumScale`): a draw beyond 2⁶³ has
/// probability below e^(−2³¹).
///
/// Timing: the running time of `sample` depends on the value drawn. Draw all noise before any
/// data flows (see the file header).
public struct DiscreteGaussian: Sendable, Equatable {
    /// Numerator of σ², in lowest terms with `sigmaSquaredDenominator`.
    public let sigmaSquaredNumerator: UInt64
    /// Denominator of σ² (positive).
    public let sigmaSquaredDenominator: UInt64
    /// The proposal distribution, discrete Laplace with scale ⌊σ⌋ + 1.
    let proposal: DiscreteLaplace
    /// ⌊σ⌋ + 1.
    let t: UInt64
    /// d·t, when it fits 64 bits.
    let dt: UInt64?
    /// 2·n·d·t², the denominator of γ, when it fits 64 bits.
    let gammaDenominator: UInt64?
    /// n, d·t and 2·n·d·t² as GMP integers, for the candidates whose γ does not fit 64/128 bits.
    let big: (n: BigInteger, dt: BigInteger, gammaDenominator: BigInteger)

    /// The discrete Gaussian with σ² = `sigmaSquaredNumerator` / `sigmaSquaredDenominator`.
    /// - Throws: `unsupportedParameter` when either part is zero.
    public init(sigmaSquaredNumerator: UInt64, sigmaSquaredDenominator: UInt64) throws {
        guard sigmaSquaredDenominator > 0 else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "discrete Gaussian sigma^2 has a zero denominator")
        }
        guard sigmaSquaredNumerator > 0 else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "discrete Gaussian sigma^2 must be positive (numerator is zero)")
        }
        let g = DiscreteNoise.gcd(sigmaSquaredNumerator, sigmaSquaredDenominator)
        let n = sigmaSquaredNumerator / g
        let d = sigmaSquaredDenominator / g
        self.sigmaSquaredNumerator = n
        self.sigmaSquaredDenominator = d
        t = DiscreteNoise.integerSquareRoot(n / d) + 1  // ≤ 2³², since n/d < 2⁶⁴
        proposal = try DiscreteLaplace(scaleNumerator: t, scaleDenominator: 1)
        let (dt, dtOverflow) = d.multipliedReportingOverflow(by: t)
        self.dt = dtOverflow ? nil : dt
        var denominator: UInt64? = nil
        if !dtOverflow {
            let (twoN, o1) = n.multipliedReportingOverflow(by: 2)
            let (twoNDT, o2) = twoN.multipliedReportingOverflow(by: dt)
            let (full, o3) = twoNDT.multipliedReportingOverflow(by: t)
            if !(o1 || o2 || o3) { denominator = full }
        }
        gammaDenominator = denominator
        let bigN = BigInteger(n)
        let bigDT = BigInteger(d) * BigInteger(t)
        big = (bigN, bigDT, BigInteger(2) * bigN * bigDT * BigInteger(t))
    }

    public static func == (lhs: DiscreteGaussian, rhs: DiscreteGaussian) -> Bool {
        lhs.sigmaSquaredNumerator == rhs.sigmaSquaredNumerator && lhs.sigmaSquaredDenominator == rhs.sigmaSquaredDenominator
    }

    /// One draw. The running time depends on the value drawn: draw all noise before any data flows.
    /// - Throws: what the source throws.
    public func sample(using source: some RandomSource = SecureRandom.system) throws -> Int64 {
        try draw(from: RandomWords(source: source, capacity: DiscreteNoise.singleDrawWords))
    }

    /// `count` independent draws, reading the source in large blocks (faster than `count` calls
    /// of `sample`, and a different sequence for the same seed).
    public func samples(count: Int, using source: some RandomSource = SecureRandom.system) throws -> [Int64] {
        precondition(count >= 0, "count must be non-negative")
        let words = RandomWords(source: source)
        var out = [Int64]()
        out.reserveCapacity(count)
        for _ in 0..<count { out.append(try draw(from: words)) }
        return out
    }

    /// Algorithm 3 of CKS 2020 on a word stream.
    func draw<S>(from words: RandomWords<S>) throws -> Int64 {
        while true {
            let y = try proposal.draw(from: words)
            if try accept(y.magnitude, words: words) { return y }
        }
    }

    /// Bernoulli(e^(−γ)) with γ = (y·d·t − n)² / (2·n·d·t²): in 64/128 bits when everything fits,
    /// otherwise in GMP integers (the same rational either way).
    func accept<S>(_ y: UInt64, words: RandomWords<S>) throws -> Bool {
        let n = sigmaSquaredNumerator
        if let dt, let denominator = gammaDenominator {
            let (m, overflow) = y.multipliedReportingOverflow(by: dt)
            if !overflow {
                let a = m >= n ? m - n : n - m
                let square = a.multipliedFullWidth(by: a)
                if square.high < denominator {
                    let (whole, remainder) = denominator.dividingFullWidth(square)
                    return try words.bernoulliExpMinus(whole: whole, remainder: remainder, denominator: denominator)
                }
            }
        }
        let a = BigInteger(y) * big.dt - big.n
        let square = a * a
        return try words.bernoulliExpMinus(
            whole: square.dividedFloor(by: big.gammaDenominator), remainder: square.mod(big.gammaDenominator),
            denominator: big.gammaDenominator)
    }
}

/// Shared pieces of the exact samplers.
public enum DiscreteNoise {
    /// Words buffered for a single `sample` call (a draw typically needs fewer than 20).
    static let singleDrawWords = 32

    static let drawOverflow = CleanRoomCryptoError.unsupportedParameter(what: "noise draw does not fit Int64")

    /// One exact draw of Bernoulli(e^(−γ)) for γ = `gammaNumerator` / `gammaDenominator` ≥ 0
    /// (CKS 2020, Algorithm 1 with the ⌊γ⌋ reduction; see the file header). Integer arithmetic only.
    /// The running time grows with the draw's path (about 1 + min(γ, 1.6) coins on average).
    /// - Throws: `unsupportedParameter` for a zero denominator; what the source throws.
    public static func bernoulliExpMinus(
        _ gammaNumerator: UInt64, _ gammaDenominator: UInt64, using source: some RandomSource = SecureRandom.system
    ) throws -> Bool {
        guard gammaDenominator > 0 else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "Bernoulli(exp(-gamma)): gamma has a zero denominator")
        }
        let words = RandomWords(source: source, capacity: singleDrawWords)
        return try words.bernoulliExpMinus(
            whole: gammaNumerator / gammaDenominator, remainder: gammaNumerator % gammaDenominator, denominator: gammaDenominator)
    }

    /// ⌊√m⌋, by the binary digit-by-digit method (integers only).
    static func integerSquareRoot(_ m: UInt64) -> UInt64 {
        var remainder = m
        var root: UInt64 = 0
        var bit: UInt64 = 1 << 62
        while bit > remainder { bit >>= 2 }
        while bit != 0 {
            if remainder >= root + bit {
                remainder -= root + bit
                root = (root >> 1) + bit
            } else {
                root >>= 1
            }
            bit >>= 2
        }
        return root
    }

    /// Greatest common divisor (Euclid); gcd(0, b) = b.
    static func gcd(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }
}

// The coins of Algorithm 1 on a buffered word stream.
extension RandomWords {
    /// Bernoulli(a/b) for 0 ≤ a, 0 < b: a uniform integer below b is less than a. Certain
    /// outcomes (a = 0, a ≥ b) use no randomness.
    func bernoulli(_ a: UInt64, over b: UInt64) throws -> Bool {
        if a == 0 { return false }
        if a >= b { return true }
        return try uniform(below: b) < a
    }

    /// Bernoulli(e^(−r/d)) for 0 ≤ r ≤ d by the series method (CKS 2020, Algorithm 1).
    func bernoulliExpMinusFraction(_ r: UInt64, over d: UInt64) throws -> Bool {
        var k: UInt64 = 1
        while true {
            let (dk, overflow) = d.multipliedReportingOverflow(by: k)
            let coin = overflow ? (try bernoulli(r, over: d) && bernoulli(1, over: k)) : try bernoulli(r, over: dk)
            if !coin { break }
            k += 1
        }
        return k & 1 == 1
    }

    /// Bernoulli(e^(−1)).
    func bernoulliExpMinusOne() throws -> Bool { try bernoulliExpMinusFraction(1, over: 1) }

    /// Bernoulli(e^(−γ)) for γ = whole + remainder/denominator, remainder < denominator.
    func bernoulliExpMinus(whole: UInt64, remainder: UInt64, denominator: UInt64) throws -> Bool {
        var i: UInt64 = 0
        while i < whole {
            guard try bernoulliExpMinusOne() else { return false }
            i += 1
        }
        return try bernoulliExpMinusFraction(remainder, over: denominator)
    }

    /// Bernoulli(e^(−γ)) for γ = whole + remainder/denominator in GMP integers
    /// (0 ≤ remainder < denominator).
    func bernoulliExpMinus(whole: BigInteger, remainder: BigInteger, denominator: BigInteger) throws -> Bool {
        if let w = whole.intValue {
            for _ in 0..<w { guard try bernoulliExpMinusOne() else { return false } }
        } else {
            // ⌊γ⌋ ≥ 2⁶³: the loop ends at the first failed coin long before the count matters.
            var i = BigInteger(0)
            let one = BigInteger(1)
            while i < whole {
                guard try bernoulliExpMinusOne() else { return false }
                i = i + one
            }
        }
        if let r = remainder.intValue, let d = denominator.intValue {
            return try bernoulliExpMinusFraction(UInt64(r), over: UInt64(d))
        }
        if remainder.isZero { return true }
        var k: UInt64 = 1
        while true {
            let bound = denominator * BigInteger(k)
            if !(try uniform(below: bound) < remainder) { break }
            k += 1
        }
        return k & 1 == 1
    }

    /// A uniform integer in [0, bound) for a GMP bound > 0 (whole words, masked to the bit
    /// length of bound − 1, rejected when too large: no modulo bias).
    func uniform(below bound: BigInteger) throws -> BigInteger {
        precondition(bound.signum > 0, "bound must be positive")
        let bits = max((bound - BigInteger(1)).bitWidth, 1)
        let count = (bits + 63) / 64
        var bytes = [UInt8](repeating: 0, count: count * 8)
        defer { secureWipe(&bytes) }
        while true {
            for i in 0..<count {
                var w = try word().bigEndian
                withUnsafeBytes(of: &w) { raw in
                    for j in 0..<8 { bytes[i * 8 + j] = raw[j] }
                }
            }
            let candidate = BigInteger(bigEndian: bytes).lowBits(bits)
            if candidate < bound { return candidate }
        }
    }
}
