import Foundation
import Testing

@_spi(Deterministic) @testable import CleanRoomCrypto

/// Reference distributions computed in Double (the samplers themselves use integers only).
enum NoiseReference {
    /// Exact pmf of the discrete Laplace with scale t.
    static func laplace(_ t: Double) -> (Int64) -> Double {
        let q = exp(-1 / t)
        let c = (1 - q) / (1 + q)
        return { x in c * exp(-Double(x.magnitude) / t) }
    }

    /// Exact pmf of the discrete Gaussian with σ² (normaliser by direct summation).
    static func gaussian(_ sigmaSquared: Double) -> (Int64) -> Double {
        let limit = Int64((40 * sigmaSquared.squareRoot()).rounded(.up)) + 40
        var z = 0.0
        for x in -limit...limit { z += exp(-Double(x * x) / (2 * sigmaSquared)) }
        return { x in exp(-Double(x) * Double(x) / (2 * sigmaSquared)) / z }
    }

    /// Mean, variance and fourth central moment of a symmetric pmf (summed over |x| ≤ limit).
    static func moments(_ pmf: (Int64) -> Double, limit: Int64) -> (variance: Double, fourth: Double) {
        var v = 0.0
        var f = 0.0
        for x in -limit...limit {
            let p = pmf(x)
            let d = Double(x)
            v += p * d * d
            f += p * d * d * d * d
        }
        return (v, f)
    }
}

/// Sample statistics.
struct SampleStats {
    let n: Double
    let mean: Double
    let variance: Double
    let counts: [Int64: Int]

    init(_ xs: [Int64]) {
        n = Double(xs.count)
        mean = xs.reduce(0.0) { $0 + Double($1) } / n
        let m = mean
        variance = xs.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / (n - 1)
        var c = [Int64: Int]()
        for x in xs { c[x, default: 0] += 1 }
        counts = c
    }

    func count(_ x: Int64) -> Int { counts[x] ?? 0 }
}

@Suite struct DiscreteNoiseTests {
    static let draws = 20_000

    /// Mean within 5 standard errors of 0, sample variance within 5 standard errors of the exact
    /// variance, P(X = k) within 5σ of the pmf for |k| ≤ 4 and P(X = k) ≈ P(X = −k).
    func checkDistribution(_ xs: [Int64], pmf: (Int64) -> Double, limit: Int64, label: String) {
        let s = SampleStats(xs)
        let (variance, fourth) = NoiseReference.moments(pmf, limit: limit)
        let meanSE = (variance / s.n).squareRoot()
        #expect(abs(s.mean) <= 5 * meanSE, "\(label): mean \(s.mean), 5 SE = \(5 * meanSE)")
        let varianceSE = ((fourth - variance * variance) / s.n).squareRoot()
        #expect(
            abs(s.variance - variance) <= 5 * varianceSE,
            "\(label): variance \(s.variance), exact \(variance), 5 SE = \(5 * varianceSE)")
        for k: Int64 in -4...4 {
            let p = pmf(k)
            let expected = s.n * p
            let sd = (s.n * p * (1 - p)).squareRoot()
            #expect(
                abs(Double(s.count(k)) - expected) <= 5 * sd, "\(label): count of \(k) is \(s.count(k)), expected \(expected) ± \(5 * sd)")
        }
        for k: Int64 in 1...4 {
            let a = s.count(k)
            let b = s.count(-k)
            #expect(
                Double(abs(a - b)) <= 5 * Double(a + b).squareRoot() + 1, "\(label): P(X = \(k)) vs P(X = \(-k)): \(a) vs \(b)")
        }
        #expect(xs.allSatisfy { $0.magnitude < UInt64(limit) }, "\(label): a draw beyond \(limit)")
    }

    @Test func discreteLaplaceScaleTwo() throws {
        let laplace = try DiscreteLaplace(scaleNumerator: 2, scaleDenominator: 1)
        let source = try SeededRandom(seed: "discrete-laplace-2")
        let xs = try (0..<Self.draws).map { _ in try laplace.sample(using: source) }
        checkDistribution(xs, pmf: NoiseReference.laplace(2), limit: 200, label: "Laplace t=2")
        let exact = DPCalibration.laplaceVariance(scaleNumerator: 2, scaleDenominator: 1)
        #expect(abs(exact - 2 * exp(-0.5) / pow(1 - exp(-0.5), 2)) < 1e-12)
    }

    @Test func discreteLaplaceBatchAndFractionalScale() throws {
        // samples(count:) and a scale 7/3 that is not an integer.
        let laplace = try DiscreteLaplace(scaleNumerator: 7, scaleDenominator: 3)
        let xs = try laplace.samples(count: Self.draws, using: try SeededRandom(seed: "discrete-laplace-7/3"))
        checkDistribution(xs, pmf: NoiseReference.laplace(7.0 / 3), limit: 200, label: "Laplace t=7/3")
    }

    @Test func discreteLaplaceWith128BitIntermediates() throws {
        // t = (2⁶³ + 1)/2⁶² ≈ 2: U + a·V exceeds 64 bits as soon as V ≥ 2.
        let laplace = try DiscreteLaplace(scaleNumerator: (1 << 63) + 1, scaleDenominator: 1 << 62)
        #expect(laplace.scaleDenominator == 1 << 62)
        let xs = try laplace.samples(count: Self.draws, using: try SeededRandom(seed: "discrete-laplace-wide"))
        checkDistribution(xs, pmf: NoiseReference.laplace(2), limit: 200, label: "Laplace t=(2^63+1)/2^62")
    }

    @Test func discreteGaussianSigmaSquaredFour() throws {
        let gaussian = try DiscreteGaussian(sigmaSquaredNumerator: 4, sigmaSquaredDenominator: 1)
        #expect(gaussian.t == 3 && gaussian.gammaDenominator != nil)
        let source = try SeededRandom(seed: "discrete-gaussian-4")
        let xs = try (0..<Self.draws).map { _ in try gaussian.sample(using: source) }
        let pmf = NoiseReference.gaussian(4)
        checkDistribution(xs, pmf: pmf, limit: 100, label: "Gaussian s2=4")
        // The variance is below σ² (by 6·10⁻³² here: equal in Double) and well below it for small σ.
        #expect(abs(NoiseReference.moments(pmf, limit: 100).variance - 4) < 1e-12)
        #expect(abs(NoiseReference.moments(NoiseReference.gaussian(0.25), limit: 100).variance - 0.2150126750881385) < 1e-12)
    }

    @Test func discreteGaussianFractionalSigma() throws {
        // σ² = 5/2: ⌊σ⌋ = 1, so the proposal has scale 2.
        let gaussian = try DiscreteGaussian(sigmaSquaredNumerator: 10, sigmaSquaredDenominator: 4)
        #expect(gaussian.sigmaSquaredNumerator == 5 && gaussian.sigmaSquaredDenominator == 2 && gaussian.t == 2)
        let xs = try gaussian.samples(count: Self.draws, using: try SeededRandom(seed: "discrete-gaussian-5/2"))
        checkDistribution(xs, pmf: NoiseReference.gaussian(2.5), limit: 100, label: "Gaussian s2=5/2")
    }

    @Test func discreteGaussianGMPPath() throws {
        // σ² = (9·2⁴⁰ + 1)/2⁴⁰: 2·n·d·t² overflows 64 bits, so every γ is formed in GMP integers.
        let gaussian = try DiscreteGaussian(sigmaSquaredNumerator: 9 << 40 + 1, sigmaSquaredDenominator: 1 << 40)
        #expect(gaussian.gammaDenominator == nil && gaussian.t == 4)
        let xs = try gaussian.samples(count: Self.draws, using: try SeededRandom(seed: "discrete-gaussian-gmp"))
        checkDistribution(xs, pmf: NoiseReference.gaussian(9 + 0x1p-40), limit: 100, label: "Gaussian s2=9+2^-40")
    }

    @Test func discreteGaussianLargestSigma() throws {
        // σ² = 2⁶⁴ − 1, the largest accepted: the proposal has scale 2³², γ needs GMP.
        let gaussian = try DiscreteGaussian(sigmaSquaredNumerator: .max, sigmaSquaredDenominator: 1)
        #expect(gaussian.t == 1 << 32 && gaussian.gammaDenominator == nil)
        let n = 2_000
        let xs = try gaussian.samples(count: n, using: try SeededRandom(seed: "discrete-gaussian-max"))
        let s = SampleStats(xs)
        let sigmaSquared = 0x1p64
        #expect(abs(s.mean) <= 5 * (sigmaSquared / Double(n)).squareRoot())
        #expect(abs(s.variance / sigmaSquared - 1) <= 5 * (2 / Double(n)).squareRoot(), "variance \(s.variance)")
    }

    @Test func tinySigmaIsAlmostAlwaysZero() throws {
        // σ² = 1/1000: P(X ≠ 0) = 2e^(−500)/Z, so every draw is 0.
        let gaussian = try DiscreteGaussian(sigmaSquaredNumerator: 1, sigmaSquaredDenominator: 1000)
        let xs = try gaussian.samples(count: 2_000, using: try SeededRandom(seed: "tiny"))
        #expect(xs.allSatisfy { $0 == 0 })
        // Laplace with t = 1/10: P(X ≠ 0) = 2e^(−10)/(1 + e^(−10)) ≈ 9.1·10⁻⁵.
        let laplace = try DiscreteLaplace(scaleNumerator: 1, scaleDenominator: 10)
        let ys = try laplace.samples(count: 20_000, using: try SeededRandom(seed: "tiny"))
        #expect(ys.filter { $0 != 0 }.count <= 10)
        #expect(ys.allSatisfy { $0.magnitude <= 2 })
    }

    @Test(arguments: [(0, 1), (1, 2), (1, 1), (3, 1), (10, 3), (UInt64(1) << 63, UInt64.max)] as [(UInt64, UInt64)])
    func bernoulliExpMinusFrequency(numerator: UInt64, denominator: UInt64) throws {
        let source = try SeededRandom(seed: "bernoulli-\(numerator)-\(denominator)")
        let n = Self.draws
        var hits = 0
        for _ in 0..<n where try DiscreteNoise.bernoulliExpMinus(numerator, denominator, using: source) { hits += 1 }
        let p = exp(-Double(numerator) / Double(denominator))
        let expected = Double(n) * p
        let sd = (Double(n) * p * (1 - p)).squareRoot()
        #expect(
            abs(Double(hits) - expected) <= 5 * sd, "gamma = \(numerator)/\(denominator): \(hits) hits, expected \(expected) ± \(5 * sd)")
    }

    @Test func bernoulliExpMinusHugeGamma() throws {
        let source = try SeededRandom(seed: "bernoulli-huge")
        for _ in 0..<1_000 {
            #expect(try DiscreteNoise.bernoulliExpMinus(1 << 62, 1, using: source) == false)
        }
        // The GMP form with ⌊γ⌋ ≥ 2⁶³ and γ = 0.
        let words = RandomWords(source: source, capacity: 8)
        let huge = BigInteger(1).shiftedLeft(70)
        #expect(try words.bernoulliExpMinus(whole: huge, remainder: BigInteger(1), denominator: huge) == false)
        #expect(try words.bernoulliExpMinus(whole: BigInteger(0), remainder: BigInteger(0), denominator: huge) == true)
    }

    @Test func bernoulliGMPFractionFrequency() throws {
        // γ = r/D with D > 2⁶⁴: the GMP series method; γ = 1/2 + 2⁻⁷⁰.
        let words = RandomWords(source: try SeededRandom(seed: "bernoulli-gmp"))
        let d = BigInteger(1).shiftedLeft(70)
        let r = BigInteger(1).shiftedLeft(69) + BigInteger(1)
        var hits = 0
        let n = Self.draws
        for _ in 0..<n where try words.bernoulliExpMinus(whole: BigInteger(0), remainder: r, denominator: d) { hits += 1 }
        let p = exp(-0.5)
        let sd = (Double(n) * p * (1 - p)).squareRoot()
        #expect(abs(Double(hits) - Double(n) * p) <= 5 * sd, "\(hits) hits")
    }

    @Test func uniformBelowGMPBound() throws {
        // 3·2⁶⁴: three-word candidates; each third of the range about equally often.
        let words = RandomWords(source: try SeededRandom(seed: "uniform-gmp"))
        let third = BigInteger(1).shiftedLeft(64)
        let bound = BigInteger(3) * third
        var buckets = [0, 0, 0]
        for _ in 0..<3_000 {
            let u = try words.uniform(below: bound)
            #expect(u.signum >= 0 && u < bound)
            buckets[u.dividedFloor(by: third).intValue!] += 1
        }
        #expect(buckets.allSatisfy { abs($0 - 1_000) <= 5 * 26 }, "\(buckets)")
    }

    @Test func parameterValidation() throws {
        func message(_ body: () throws -> Void) -> String? {
            do {
                try body()
                return nil
            } catch let error as CleanRoomCryptoError {
                guard case .unsupportedParameter = error else { return "wrong case: \(error)" }
                return error.description
            } catch {
                return "unexpected \(error)"
            }
        }
        #expect(message { _ = try DiscreteLaplace(scaleNumerator: 1, scaleDenominator: 0) }?.contains("zero denominator") == true)
        #expect(message { _ = try DiscreteLaplace(scaleNumerator: 0, scaleDenominator: 1) }?.contains("must be positive") == true)
        #expect(message { _ = try DiscreteLaplace(scaleNumerator: 1 << 63, scaleDenominator: 1) }?.contains("exceeds the maximum") == true)
        #expect(message { _ = try DiscreteLaplace(scaleNumerator: (1 << 48) + 1, scaleDenominator: 1) }?.contains("exceeds") == true)
        #expect(message { _ = try DiscreteLaplace(scaleNumerator: .max, scaleDenominator: 2) }?.contains("exceeds") == true)
        #expect(message { _ = try DiscreteLaplace(scaleNumerator: 1 << 48, scaleDenominator: 1) } == nil)
        #expect(message { _ = try DiscreteLaplace(scaleNumerator: .max, scaleDenominator: .max) } == nil)
        #expect(
            message { _ = try DiscreteGaussian(sigmaSquaredNumerator: 1, sigmaSquaredDenominator: 0) }?.contains("zero denominator") == true
        )
        #expect(
            message { _ = try DiscreteGaussian(sigmaSquaredNumerator: 0, sigmaSquaredDenominator: 5) }?.contains("must be positive") == true
        )
        #expect(message { _ = try DiscreteNoise.bernoulliExpMinus(1, 0, using: SystemRandom()) }?.contains("zero denominator") == true)
        // Lowest terms.
        let laplace = try DiscreteLaplace(scaleNumerator: 12, scaleDenominator: 8)
        #expect(laplace == (try DiscreteLaplace(scaleNumerator: 3, scaleDenominator: 2)))
        #expect(laplace.scaleNumerator == 3 && laplace.scaleDenominator == 2)
    }

    @Test func sameSeedSameSequence() throws {
        let laplace = try DiscreteLaplace(scaleNumerator: 10, scaleDenominator: 1)
        let gaussian = try DiscreteGaussian(sigmaSquaredNumerator: 100, sigmaSquaredDenominator: 1)
        func run(_ seed: String) throws -> [Int64] {
            let source = try SeededRandom(seed: seed)
            var out = [Int64]()
            for _ in 0..<500 {
                out.append(try laplace.sample(using: source))
                out.append(try gaussian.sample(using: source))
            }
            out += try laplace.samples(count: 500, using: source)
            out += try gaussian.samples(count: 500, using: source)
            return out
        }
        let a = try run("transcript-seed")
        #expect(a == (try run("transcript-seed")))
        #expect(a != (try run("transcript-seed-2")))
        // The system source is not replayed.
        #expect(try laplace.samples(count: 100, using: SystemRandom()) != (try laplace.samples(count: 100, using: SystemRandom())))
    }

    @Test func integerSquareRootAndGCD() {
        for m: UInt64 in 0...10_000 {
            let r = DiscreteNoise.integerSquareRoot(m)
            #expect(r * r <= m && (r + 1) * (r + 1) > m)
        }
        #expect(DiscreteNoise.integerSquareRoot(.max) == 0xffff_ffff)
        #expect(DiscreteNoise.integerSquareRoot(0xffff_fffe_0000_0001) == 0xffff_ffff)  // (2³² − 1)²
        #expect(DiscreteNoise.integerSquareRoot(0xffff_fffe_0000_0000) == 0xffff_fffe)
        #expect(DiscreteNoise.integerSquareRoot(1 << 62) == 1 << 31)
        #expect(DiscreteNoise.integerSquareRoot((1 << 62) - 1) == (1 << 31) - 1)
        #expect(DiscreteNoise.gcd(12, 18) == 6 && DiscreteNoise.gcd(0, 7) == 7 && DiscreteNoise.gcd(.max, .max) == .max)
    }

    // MARK: Calibration

    @Test func exactCalibration() throws {
        #expect(try DPCalibration.laplaceScale(sensitivity: 3, epsilonNumerator: 1, epsilonDenominator: 2) == (6, 1))
        #expect(try DPCalibration.laplaceScale(sensitivity: 2, epsilonNumerator: 4, epsilonDenominator: 6) == (3, 1))
        #expect(try DPCalibration.laplaceScale(sensitivity: 5, epsilonNumerator: 3, epsilonDenominator: 10) == (50, 3))
        #expect(DPCalibration.laplaceEpsilon(sensitivity: 5, scaleNumerator: 50, scaleDenominator: 3) == 0.3)
        #expect(try DPCalibration.gaussianSigmaSquared(sensitivity: 1, rhoNumerator: 1, rhoDenominator: 2) == (1, 1))
        #expect(try DPCalibration.gaussianSigmaSquared(sensitivity: 10, rhoNumerator: 1, rhoDenominator: 10) == (500, 1))
        #expect(try DPCalibration.gaussianSigmaSquared(sensitivity: 3, rhoNumerator: 4, rhoDenominator: 1) == (9, 8))
        #expect(DPCalibration.gaussianRho(sensitivity: 3, sigmaSquaredNumerator: 9, sigmaSquaredDenominator: 8) == 4)
        #expect(throws: CleanRoomCryptoError.self) {
            try DPCalibration.laplaceScale(sensitivity: .max, epsilonNumerator: 1, epsilonDenominator: 3)
        }
        #expect(throws: CleanRoomCryptoError.self) {
            try DPCalibration.gaussianSigmaSquared(sensitivity: 1 << 33, rhoNumerator: 1, rhoDenominator: 1)
        }
        #expect(throws: CleanRoomCryptoError.self) {
            try DPCalibration.laplaceScale(sensitivity: 1, epsilonNumerator: 0, epsilonDenominator: 1)
        }
    }

    @Test func laplaceTailAndHalfWidth() throws {
        // Against the pmf summed directly, for t = 2 and t = 10/3.
        for (a, b) in [(2, 1), (10, 3)] as [(UInt64, UInt64)] {
            let pmf = NoiseReference.laplace(Double(a) / Double(b))
            for k: UInt64 in [1, 2, 5, 12] {
                var direct = 0.0
                for x in Int64(k)...400 { direct += 2 * pmf(x) }
                let tail = DPCalibration.laplaceTail(scaleNumerator: a, scaleDenominator: b, atLeast: k)
                #expect(abs(tail - direct) < 1e-12, "t = \(a)/\(b), k = \(k): \(tail) vs \(direct)")
            }
            for confidence in [0.5, 0.95, 0.99] {
                let k = try DPCalibration.laplaceHalfWidth(scaleNumerator: a, scaleDenominator: b, confidence: confidence)
                let beta = 1 - confidence
                #expect(DPCalibration.laplaceTail(scaleNumerator: a, scaleDenominator: b, atLeast: k + 1) <= beta)
                #expect(k == 0 || DPCalibration.laplaceTail(scaleNumerator: a, scaleDenominator: b, atLeast: k) > beta)
            }
        }
        // t = 2, 95%: P(|X| ≥ k) = 2e^(−k/2)/(1 + e^(−1/2)) ≤ 0.05 first at k = 7, so the half-width is 6.
        #expect(try DPCalibration.laplaceHalfWidth(scaleNumerator: 2, scaleDenominator: 1) == 6)
        #expect(throws: CleanRoomCryptoError.self) {
            try DPCalibration.laplaceHalfWidth(scaleNumerator: 2, scaleDenominator: 1, confidence: 1)
        }
    }

    @Test func gaussianTailAndHalfWidth() throws {
        for s2: UInt64 in [1, 4, 9, 100, 10_000] {
            let pmf = NoiseReference.gaussian(Double(s2))
            let limit = Int64(50 * Double(s2).squareRoot()) + 50
            for confidence in [0.5, 0.95, 0.99] {
                let k = try DPCalibration.gaussianHalfWidth(sigmaSquaredNumerator: s2, sigmaSquaredDenominator: 1, confidence: confidence)
                // Brute force: P(|X| > k) ≤ β < P(|X| > k − 1).
                var outside = 0.0
                for x in (Int64(k) + 1)...limit { outside += 2 * pmf(x) }
                let outsideBefore = outside + 2 * pmf(Int64(k))
                #expect(outside <= 1 - confidence && (k == 0 || outsideBefore > 1 - confidence), "s2 = \(s2), k = \(k)")
                let tail = try DPCalibration.gaussianTail(sigmaSquaredNumerator: s2, sigmaSquaredDenominator: 1, atLeast: k + 1)
                #expect(abs(tail - outside) <= 1e-12 + 1e-9 * outside)
            }
        }
        // Above the summation limit: the bound, within 1 of the normal quantile (1.959964·σ).
        let k = try DPCalibration.gaussianHalfWidth(sigmaSquaredNumerator: 1 << 40, sigmaSquaredDenominator: 1)
        #expect(abs(Double(k) - 1.959964 * 0x1p20) <= 2, "\(k)")
        let bound = try DPCalibration.gaussianTail(sigmaSquaredNumerator: 1 << 40, sigmaSquaredDenominator: 1, atLeast: k + 1)
        #expect(bound <= 0.05 && bound > 0.0499)
    }

    @Test func gaussianDeltaMatchesReference() throws {
        // References computed independently with mpmath (30 digits) from the same formula.
        let cases: [(UInt64, UInt64, Double, Double)] = [
            (4, 1, 1, 7.248776845952578e-3), (100, 1, 0.5, 6.934370347517868e-9), (1000, 10, 1, 1.0969519418155753e-4),
        ]
        for (s2, sensitivity, epsilon, reference) in cases {
            let d = try DPCalibration.gaussianDelta(
                sensitivity: sensitivity, sigmaSquaredNumerator: s2, sigmaSquaredDenominator: 1, epsilon: epsilon)
            #expect(abs(d / reference - 1) < 1e-6, "s2 = \(s2): \(d) vs \(reference)")
        }
        // The zCDP calibration is conservative against the exact curve, and not absurdly so.
        for (sensitivity, epsilon, delta) in [(1, 1.0, 1e-6), (10, 0.5, 1e-9), (3, 2.0, 1e-5)] as [(UInt64, Double, Double)] {
            let s2 = try DPCalibration.gaussianSigmaSquared(sensitivity: sensitivity, epsilon: epsilon, delta: delta)
            let rho = DPCalibration.gaussianRho(sensitivity: sensitivity, sigmaSquaredNumerator: s2, sigmaSquaredDenominator: 1)
            #expect(DPCalibration.zCDPEpsilon(rho: rho, delta: delta) <= epsilon)
            #expect(DPCalibration.zCDPEpsilon(rho: rho * Double(s2) / Double(s2 - 1), delta: delta) > epsilon)
            let exact = try DPCalibration.gaussianDelta(
                sensitivity: sensitivity, sigmaSquaredNumerator: s2, sigmaSquaredDenominator: 1, epsilon: epsilon)
            #expect(exact <= delta && exact > delta * 1e-4, "Δ = \(sensitivity): sigma^2 = \(s2), exact delta \(exact)")
        }
    }

    @Test func intervalsCoverDraws() throws {
        let source = try SeededRandom(seed: "coverage")
        let laplace = try DiscreteLaplace(scaleNumerator: 3, scaleDenominator: 1)
        let gaussian = try DiscreteGaussian(sigmaSquaredNumerator: 25, sigmaSquaredDenominator: 1)
        let kL = try DPCalibration.laplaceHalfWidth(scaleNumerator: 3, scaleDenominator: 1)
        let kG = try DPCalibration.gaussianHalfWidth(sigmaSquaredNumerator: 25, sigmaSquaredDenominator: 1)
        let pL = 1 - DPCalibration.laplaceTail(scaleNumerator: 3, scaleDenominator: 1, atLeast: kL + 1)
        let pG = 1 - (try DPCalibration.gaussianTail(sigmaSquaredNumerator: 25, sigmaSquaredDenominator: 1, atLeast: kG + 1))
        let n = Double(Self.draws)
        for (xs, k, p) in [
            (try laplace.samples(count: Self.draws, using: source), kL, pL),
            (try gaussian.samples(count: Self.draws, using: source), kG, pG),
        ] {
            let inside = Double(xs.filter { $0.magnitude <= k }.count)
            #expect(abs(inside - n * p) <= 5 * (n * p * (1 - p)).squareRoot(), "k = \(k): \(inside) inside, expected \(n * p)")
        }
    }

    // MARK: Slow goodness of fit (CLEANROOM_SLOW_DP_TESTS=1)

    static var slow: Bool { ProcessInfo.processInfo.environment["CLEANROOM_SLOW_DP_TESTS"] == "1" }

    /// Pearson's χ² over bins with expected count ≥ 5 (the two tails pooled), and its degrees of
    /// freedom; z is the Wilson–Hilferty normal approximation of the upper tail.
    static func chiSquare(_ xs: [Int64], pmf: (Int64) -> Double) -> (chi2: Double, df: Int, z: Double) {
        let n = Double(xs.count)
        var counts = [Int64: Int]()
        for x in xs { counts[x, default: 0] += 1 }
        var hi: Int64 = 0
        while n * pmf(hi + 1) >= 5 { hi += 1 }
        var chi2 = 0.0
        var inner = 0.0
        for x in -hi...hi {
            let e = n * pmf(x)
            inner += pmf(x)
            let o = Double(counts[x] ?? 0)
            chi2 += (o - e) * (o - e) / e
        }
        let eTail = n * (1 - inner) / 2
        let lower = Double(xs.filter { $0 < -hi }.count)
        let upper = Double(xs.filter { $0 > hi }.count)
        chi2 += (lower - eTail) * (lower - eTail) / eTail + (upper - eTail) * (upper - eTail) / eTail
        let df = Int(2 * hi + 3) - 1
        let k = Double(df)
        let z = (pow(chi2 / k, 1.0 / 3) - (1 - 2 / (9 * k))) / (2 / (9 * k)).squareRoot()
        return (chi2, df, z)
    }

    @Test(.enabled(if: slow)) func chiSquareGoodnessOfFit() throws {
        let n = 1_000_000
        for t: UInt64 in [1, 3, 10] {
            let laplace = try DiscreteLaplace(scaleNumerator: t, scaleDenominator: 1)
            let xs = try laplace.samples(count: n, using: try SeededRandom(seed: "chi2-laplace-\(t)"))
            let r = Self.chiSquare(xs, pmf: NoiseReference.laplace(Double(t)))
            print("CHI2 laplace t=\(t) chi2=\(r.chi2) df=\(r.df) wilson-hilferty-z=\(r.z)")
            #expect(r.z < 4.5, "Laplace t = \(t): chi2 = \(r.chi2) on \(r.df) df")
        }
        for s2: UInt64 in [1, 9, 100] {
            let gaussian = try DiscreteGaussian(sigmaSquaredNumerator: s2, sigmaSquaredDenominator: 1)
            let xs = try gaussian.samples(count: n, using: try SeededRandom(seed: "chi2-gaussian-\(s2)"))
            let r = Self.chiSquare(xs, pmf: NoiseReference.gaussian(Double(s2)))
            print("CHI2 gaussian s2=\(s2) chi2=\(r.chi2) df=\(r.df) wilson-hilferty-z=\(r.z)")
            #expect(r.z < 4.5, "Gaussian s2 = \(s2): chi2 = \(r.chi2) on \(r.df) df")
        }
    }

    @Test(.enabled(if: slow)) func drawsPerSecond() throws {
        let laplace = try DiscreteLaplace(scaleNumerator: 10, scaleDenominator: 1)
        let gaussian = try DiscreteGaussian(sigmaSquaredNumerator: 100, sigmaSquaredDenominator: 1)
        let clock = ContinuousClock()
        func rate(_ label: String, count: Int, _ body: () throws -> Void) rethrows {
            let elapsed = try clock.measure(body)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            print("RATE \(label): \(Int(Double(count) / seconds)) draws/s")
        }
        let system = SystemRandom()
        let n = 200_000
        try rate("laplace t=10 samples(count:) system", count: n) { _ = try laplace.samples(count: n, using: system) }
        try rate("gaussian s2=100 samples(count:) system", count: n) { _ = try gaussian.samples(count: n, using: system) }
        try rate("laplace t=10 sample() system", count: n) { for _ in 0..<n { _ = try laplace.sample(using: system) } }
        try rate("gaussian s2=100 sample() system", count: n) { for _ in 0..<n { _ = try gaussian.sample(using: system) } }
        let big = try DiscreteGaussian(sigmaSquaredNumerator: 9 << 40 + 1, sigmaSquaredDenominator: 1 << 40)
        try rate("gaussian s2=9+2^-40 (GMP path) samples(count:) system", count: n) { _ = try big.samples(count: n, using: system) }
    }
}
