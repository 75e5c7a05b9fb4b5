// Calibration and accuracy helpers for the exact samplers of DiscreteNoise.swift: which scale
// gives which privacy, and how wide the noise is. Parameters handed to a sampler are exact
// rationals (computed with integers); privacy parameters reported back, tail probabilities and
// interval half-widths are Doubles. Nothing here draws noise, so floating point is harmless
// here; it must never flow back into a sampler except through the exact functions.
//
// Formulas and sources.
//
// Discrete Laplace, scale t (P(x) ∝ e^(−|x|/t); the geometric mechanism of Ghosh, Roughgarden and
// Sundararajan, STOC 2009, with α = e^(−1/t)):
//   privacy   q(D) + X is ε-DP for an integer query of sensitivity Δ when ε = Δ/t, because
//             P(q + X = z) / P(q' + X = z) = e^((|z − q'| − |z − q|)/t) ≤ e^(|q − q'|/t).
//   tail      P(|X| ≥ k) = 2·e^(−k/t) / (1 + e^(−1/t)) for k ≥ 1 (a geometric series).
//   variance  2·e^(−1/t) / (1 − e^(−1/t))².
//
// Discrete Gaussian, parameter σ² (P(x) ∝ e^(−x²/(2σ²)); Canonne, Kamath, Steinke, NeurIPS 2020):
//   zCDP      q(D) + X is ρ-zero-concentrated DP for ρ = Δ²/(2σ²), exactly as the continuous
//             Gaussian (CKS 2020), so σ² = Δ²/(2ρ).
//   (ε, δ)    ρ-zCDP implies (ε, δ)-DP for ε = ρ + 2·√(ρ·ln(1/δ)) (Bun and Steinke, TCC 2016,
//             Proposition 1.3); solving for ρ: √ρ = √(L + ε) − √L with L = ln(1/δ). This is a
//             conservative route; the exact curve of the discrete Gaussian (CKS 2020) is
//               δ(ε) = P[X > εσ²/Δ − Δ/2] − e^ε · P[X > εσ²/Δ + Δ/2],
//             which `gaussianDelta` evaluates by summation. (For outputs q + x against q + Δ + x,
//             the privacy loss exceeds ε exactly when x < Δ/2 − εσ²/Δ; δ sums P − e^ε·P' there,
//             and symmetry turns both sums into the upper tails above.)
//   tail      computed by summing the pmf when σ² < 2³² (normaliser by Poisson summation,
//             Σ_x e^(−x²/(2σ²)) = √(2π)·σ·(1 + 2·Σ_{k≥1} e^(−2π²σ²k²))); above that the bound
//             P(X ≥ k) ≤ Q((k − 1)/σ) for k ≥ 1, Q the standard normal tail (each term is at most
//             the integral of the density over the unit interval before it, and the normaliser is
//             at least √(2π)·σ by the identity above), which overstates a half-width by at most 1.
import Foundation

/// Privacy calibration and accuracy reporting for `DiscreteLaplace` and `DiscreteGaussian` (see the
/// file header for each formula and its source).
public enum DPCalibration {
    /// Gaussian tails and δ are computed by summing the pmf for σ² below this (2³²; σ < 65,536).
    public static let gaussianSummationLimit: UInt64 = 1 << 32

    // MARK: Discrete Laplace

    /// The scale t = Δ/ε, exactly, for ε = `epsilonNumerator` / `epsilonDenominator`: adding
    /// `DiscreteLaplace(t)` to an integer query of sensitivity Δ gives ε-DP.
    /// - Returns: t in lowest terms.
    /// - Throws: `unsupportedParameter` for a zero argument or when t's parts exceed 64 bits.
    public static func laplaceScale(
        sensitivity: UInt64, epsilonNumerator: UInt64, epsilonDenominator: UInt64
    ) throws -> (numerator: UInt64, denominator: UInt64) {
        guard sensitivity > 0, epsilonNumerator > 0, epsilonDenominator > 0 else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "Laplace calibration needs a positive sensitivity and epsilon")
        }
        return try reduced(
            BigInteger(sensitivity) * BigInteger(epsilonDenominator), BigInteger(epsilonNumerator), what: "Laplace scale")
    }

    /// ε = Δ/t of a discrete Laplace of scale t (for reports).
    public static func laplaceEpsilon(sensitivity: UInt64, scaleNumerator: UInt64, scaleDenominator: UInt64) -> Double {
        Double(sensitivity) * Double(scaleDenominator) / Double(scaleNumerator)
    }

    /// P(|X| ≥ k) = 2e^(−k/t)/(1 + e^(−1/t)) for k ≥ 1 (and 1 for k = 0), X discrete Laplace of
    /// scale t.
    public static func laplaceTail(scaleNumerator: UInt64, scaleDenominator: UInt64, atLeast k: UInt64) -> Double {
        guard k > 0 else { return 1 }
        let inverseScale = Double(scaleDenominator) / Double(scaleNumerator)
        return 2 * exp(-Double(k) * inverseScale) / (1 + exp(-inverseScale))
    }

    /// Var(X) = 2e^(−1/t)/(1 − e^(−1/t))² for X discrete Laplace of scale t.
    public static func laplaceVariance(scaleNumerator: UInt64, scaleDenominator: UInt64) -> Double {
        let inverseScale = Double(scaleDenominator) / Double(scaleNumerator)
        let oneMinus = -expm1(-inverseScale)
        return 2 * exp(-inverseScale) / (oneMinus * oneMinus)
    }

    /// The smallest k ≥ 0 with P(|X| > k) ≤ 1 − `confidence`: [−k, k] holds a discrete Laplace draw
    /// of scale t with probability at least `confidence` (0.95 gives the 95% interval).
    /// - Throws: `unsupportedParameter` unless 0 < confidence < 1 and the scale is positive.
    public static func laplaceHalfWidth(scaleNumerator: UInt64, scaleDenominator: UInt64, confidence: Double = 0.95) throws -> UInt64 {
        let beta = try outside(confidence)
        guard scaleNumerator > 0, scaleDenominator > 0 else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "Laplace scale must be positive")
        }
        let tail = { (k: UInt64) in laplaceTail(scaleNumerator: scaleNumerator, scaleDenominator: scaleDenominator, atLeast: k) }
        // P(|X| > k) = tail(k + 1) ≤ β  ⇔  k + 1 ≥ t·ln(2/(β(1 + e^(−1/t)))); then fix rounding.
        let t = Double(scaleNumerator) / Double(scaleDenominator)
        let estimate = (t * log(2 / (beta * (1 + exp(-1 / t))))).rounded(.up) - 1
        guard estimate < 0x1p63 else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "Laplace half-width exceeds 2^63")
        }
        var k = UInt64(max(0, estimate))
        while tail(k + 1) > beta { k += 1 }
        while k > 0 && tail(k) <= beta { k -= 1 }
        return k
    }

    // MARK: Discrete Gaussian

    /// σ² = Δ²/(2ρ), exactly, for ρ = `rhoNumerator` / `rhoDenominator`: adding
    /// `DiscreteGaussian(σ²)` to an integer query of sensitivity Δ gives ρ-zCDP.
    /// - Returns: σ² in lowest terms.
    /// - Throws: `unsupportedParameter` for a zero argument or when σ²'s parts exceed 64 bits.
    public static func gaussianSigmaSquared(
        sensitivity: UInt64, rhoNumerator: UInt64, rhoDenominator: UInt64
    ) throws -> (numerator: UInt64, denominator: UInt64) {
        guard sensitivity > 0, rhoNumerator > 0, rhoDenominator > 0 else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "Gaussian calibration needs a positive sensitivity and rho")
        }
        let delta = BigInteger(sensitivity)
        return try reduced(delta * delta * BigInteger(rhoDenominator), BigInteger(2) * BigInteger(rhoNumerator), what: "sigma^2")
    }

    /// ρ = Δ²/(2σ²) of a discrete Gaussian (for reports and the budget).
    public static func gaussianRho(sensitivity: UInt64, sigmaSquaredNumerator: UInt64, sigmaSquaredDenominator: UInt64) -> Double {
        let delta = Double(sensitivity)
        return delta * delta * Double(sigmaSquaredDenominator) / (2 * Double(sigmaSquaredNumerator))
    }

    /// ε such that ρ-zCDP implies (ε, δ)-DP: ρ + 2√(ρ ln(1/δ)) (Bun–Steinke 2016, Prop. 1.3).
    public static func zCDPEpsilon(rho: Double, delta: Double) -> Double {
        precondition(rho >= 0 && delta > 0 && delta < 1, "need rho >= 0 and 0 < delta < 1")
        return rho + 2 * (rho * log(1 / delta)).squareRoot()
    }

    /// The smallest integer σ² for which the discrete Gaussian is (ε, δ)-DP for sensitivity Δ by
    /// the zCDP route (ρ = Δ²/(2σ²), then `zCDPEpsilon(ρ, δ) ≤ ε`). Conservative:
    /// `gaussianDelta` at the returned σ² is at most δ, usually well below.
    /// - Throws: `unsupportedParameter` unless ε > 0 and 0 < δ < 1, or when σ² would exceed 2⁶⁴.
    public static func gaussianSigmaSquared(sensitivity: UInt64, epsilon: Double, delta: Double) throws -> UInt64 {
        guard sensitivity > 0, epsilon > 0, epsilon.isFinite, delta > 0, delta < 1 else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "Gaussian calibration needs sensitivity > 0, epsilon > 0, 0 < delta < 1")
        }
        let l = log(1 / delta)
        let root = epsilon / ((l + epsilon).squareRoot() + l.squareRoot())  // √(L + ε) − √L without cancellation
        let d2 = Double(sensitivity) * Double(sensitivity)
        let estimate = (d2 / (2 * root * root)).rounded(.up)
        guard estimate < 0x1p64 else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "sigma^2 for these (epsilon, delta) exceeds 2^64")
        }
        var s = UInt64(max(1, estimate))
        while zCDPEpsilon(rho: d2 / (2 * Double(s)), delta: delta) > epsilon {
            guard s < UInt64.max else { throw CleanRoomCryptoError.unsupportedParameter(what: "sigma^2 exceeds 2^64") }
            s += 1
        }
        while s > 1 && zCDPEpsilon(rho: d2 / (2 * Double(s - 1)), delta: delta) <= epsilon { s -= 1 }
        return s
    }

    /// The exact δ at which the discrete Gaussian mechanism with σ² and sensitivity Δ is (ε, δ)-DP:
    /// P[X > εσ²/Δ − Δ/2] − e^ε·P[X > εσ²/Δ + Δ/2] (CKS 2020), by summation in Double.
    /// - Throws: `unsupportedParameter` when σ² ≥ `gaussianSummationLimit` or an argument is not positive.
    public static func gaussianDelta(
        sensitivity: UInt64, sigmaSquaredNumerator: UInt64, sigmaSquaredDenominator: UInt64, epsilon: Double
    ) throws -> Double {
        let s = try GaussianSums(sigmaSquaredNumerator, sigmaSquaredDenominator)
        guard sensitivity > 0, epsilon >= 0, epsilon.isFinite else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "gaussianDelta needs sensitivity > 0 and epsilon >= 0")
        }
        let delta = Double(sensitivity)
        let centre = epsilon * s.sigmaSquared / delta
        let d = s.probabilityAbove(centre - delta / 2) - exp(epsilon) * s.probabilityAbove(centre + delta / 2)
        return max(0, d)
    }

    /// P(|X| ≥ k) for X discrete Gaussian: by summation when σ² < `gaussianSummationLimit`,
    /// otherwise the upper bound 2·Q((k − 1)/σ) (see the file header).
    /// - Throws: `unsupportedParameter` for a zero part of σ².
    public static func gaussianTail(sigmaSquaredNumerator: UInt64, sigmaSquaredDenominator: UInt64, atLeast k: UInt64) throws -> Double {
        guard k > 0 else { return 1 }
        if let s = try? GaussianSums(sigmaSquaredNumerator, sigmaSquaredDenominator) {
            return min(1, 2 * s.tail(from: k) / s.normaliser)
        }
        guard sigmaSquaredNumerator > 0, sigmaSquaredDenominator > 0 else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "sigma^2 must be positive")
        }
        let sigma = (Double(sigmaSquaredNumerator) / Double(sigmaSquaredDenominator)).squareRoot()
        return min(1, 2 * normalTail(Double(k - 1) / sigma))
    }

    /// The smallest k ≥ 0 with P(|X| > k) ≤ 1 − `confidence` for X discrete Gaussian (exact when
    /// σ² < `gaussianSummationLimit`; above, from the tail bound, at most 1 too wide).
    /// - Throws: `unsupportedParameter` unless 0 < confidence < 1 and σ² > 0.
    public static func gaussianHalfWidth(
        sigmaSquaredNumerator: UInt64, sigmaSquaredDenominator: UInt64, confidence: Double = 0.95
    ) throws -> UInt64 {
        let beta = try outside(confidence)
        if let s = try? GaussianSums(sigmaSquaredNumerator, sigmaSquaredDenominator) {
            // Accumulate T(m) = Σ_{y ≥ m} w(y) downwards; P(|X| > m − 1) = 2T(m)/Z.
            var m = UInt64((40 * s.sigma).rounded(.up)) + 2
            var sum = 0.0
            while m >= 1 {
                sum += s.weight(Double(m))
                if 2 * sum / s.normaliser > beta { return m }
                m -= 1
            }
            return 0
        }
        guard sigmaSquaredNumerator > 0, sigmaSquaredDenominator > 0 else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "sigma^2 must be positive")
        }
        // Bound: P(|X| > k) ≤ 2·Q(k/σ); the smallest k with 2Q(k/σ) ≤ β.
        let sigma = (Double(sigmaSquaredNumerator) / Double(sigmaSquaredDenominator)).squareRoot()
        var low = 0.0
        var high = 40.0
        for _ in 0..<200 {
            let mid = (low + high) / 2
            if 2 * normalTail(mid) > beta { low = mid } else { high = mid }
        }
        var k = UInt64((high * sigma).rounded(.up))
        while 2 * normalTail(Double(k) / sigma) > beta { k += 1 }
        return k
    }

    // MARK: Helpers

    /// 1 − confidence, after checking 0 < confidence < 1.
    static func outside(_ confidence: Double) throws -> Double {
        guard confidence > 0, confidence < 1 else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "confidence must be strictly between 0 and 1")
        }
        return 1 - confidence
    }

    /// Q(x) = P(N(0, 1) > x).
    static func normalTail(_ x: Double) -> Double { erfc(x / 2.0.squareRoot()) / 2 }

    /// numerator/denominator in lowest terms, each as a UInt64.
    static func reduced(_ numerator: BigInteger, _ denominator: BigInteger, what: String) throws -> (numerator: UInt64, denominator: UInt64)
    {
        let g = BigInteger.gcd(numerator, denominator)
        guard let n = uint64(numerator.dividedFloor(by: g)), let d = uint64(denominator.dividedFloor(by: g)) else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "\(what) does not fit a 64-bit numerator and denominator")
        }
        return (n, d)
    }

    /// The value as a UInt64 when it is non-negative and fits.
    static func uint64(_ value: BigInteger) -> UInt64? {
        guard value.signum >= 0, value.bitWidth <= 64, let bytes = try? value.bigEndianBytes(width: 8) else { return nil }
        return bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}

/// Sums of the discrete Gaussian weights w(x) = e^(−x²/(2σ²)) in Double (σ² < 2³²).
struct GaussianSums {
    let sigmaSquared: Double
    let sigma: Double
    /// Z = Σ_x w(x).
    let normaliser: Double

    init(_ numerator: UInt64, _ denominator: UInt64) throws {
        guard numerator > 0, denominator > 0 else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "sigma^2 must be positive")
        }
        guard numerator / denominator < DPCalibration.gaussianSummationLimit else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "sigma^2 above 2^32: Gaussian sums are not evaluated")
        }
        sigmaSquared = Double(numerator) / Double(denominator)
        sigma = sigmaSquared.squareRoot()
        if sigmaSquared < 1 {
            var z = 1.0
            for x in 1...64 { z += 2 * exp(-Double(x * x) / (2 * sigmaSquared)) }
            normaliser = z
        } else {
            // Poisson summation: Σ_x e^(−x²/(2σ²)) = √(2π)σ·(1 + 2 Σ_{k≥1} e^(−2π²σ²k²)).
            var correction = 1.0
            for k in 1...4 { correction += 2 * exp(-2 * Double.pi * Double.pi * sigmaSquared * Double(k * k)) }
            normaliser = (2 * Double.pi).squareRoot() * sigma * correction
        }
    }

    func weight(_ x: Double) -> Double { exp(-x * x / (2 * sigmaSquared)) }

    /// T(m) = Σ_{x ≥ m} w(x) for m ≥ 1 (terms decrease; stops once they no longer change the sum).
    func tail(from m: UInt64) -> Double {
        var x = Double(m)
        var sum = 0.0
        while true {
            let w = weight(x)
            if w == 0 || w < sum * 0x1p-60 { return sum }
            sum += w
            x += 1
        }
    }

    /// P(X > a) for a real a.
    func probabilityAbove(_ a: Double) -> Double {
        let m = a.rounded(.down) + 1  // the smallest integer above a
        if m >= 1 {
            guard m < 0x1p63 else { return 0 }
            return tail(from: UInt64(m)) / normaliser
        }
        guard -m < 0x1p63 else { return 1 }
        return 1 - tail(from: UInt64(1 - m)) / normaliser  // P(X ≥ m) = 1 − P(X ≥ 1 − m) by symmetry
    }
}
