// One calibrated noise distribution: the mechanism an analysis's `privacy:` names, with its
// parameter for one released quantity (sensitivity Δ, a 1/shares part of the session's budget).
//
// - laplace: discrete Laplace, scale t = Δ·shares/ε (pure ε-DP; basic composition over shares).
// - gaussian: discrete Gaussian. The session's (ε, δ) is turned into ρ-zCDP with
//   √ρ = √(L + ε) − √L, L = ln(1/δ) (Bun and Steinke 2016, Prop. 1.3, solved for ρ), rounded down
//   to a multiple of 2^-40; zCDP composes by adding, so each of the shares gets ρ/shares and
//   σ² = Δ²·shares/(2ρ) (Canonne, Kamath, Steinke 2020). Calibration uses Double; the parameters
//   handed to a sampler are exact rationals.
import CleanRoomCrypto
import Foundation

/// The sampler of one released quantity.
enum NoiseDistribution: Sendable, Equatable {
    case laplace(DiscreteLaplace)
    case gaussian(DiscreteGaussian)

    /// ρ of a session's (ε, δ) as a rational with denominator 2^40, rounded down (less ρ, more
    /// noise).
    static func rho(epsilonMicros: Int, delta: Double) throws -> (numerator: UInt64, denominator: UInt64) {
        let epsilon = Double(epsilonMicros) / 1e6
        let l = log(1 / delta)
        let root = epsilon / ((l + epsilon).squareRoot() + l.squareRoot())
        let numerator = (root * root * 0x1p40).rounded(.down)
        guard numerator >= 1 else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "ρ of ε = \(epsilon), δ = \(delta) is below 2^-40")
        }
        return (UInt64(numerator), 1 << 40)
    }

    /// The distribution for sensitivity `sensitivity` and 1/`shares` of the session's privacy.
    /// - Parameter gaussianDelta: the δ the Gaussian's share of the session spends (ignored for
    ///   Laplace).
    init(_ mechanism: PrivacySpec.Mechanism, sensitivity: UInt64, epsilonMicros: Int, gaussianDelta: Double, shares: Int) throws {
        switch mechanism {
        case .laplace:
            let t = try DPCalibration.laplaceScale(
                sensitivity: sensitivity, epsilonNumerator: UInt64(epsilonMicros), epsilonDenominator: 1_000_000 * UInt64(shares))
            self = .laplace(try DiscreteLaplace(scaleNumerator: t.numerator, scaleDenominator: t.denominator))
        case .gaussian:
            // σ² = Δ²·shares/(2ρ), rounded up to a multiple of 2^-20 (more noise, never less) so
            // that it fits the sampler's 64-bit numerator and denominator.
            let rho = try Self.rho(epsilonMicros: epsilonMicros, delta: gaussianDelta)
            let delta = BigInteger(sensitivity)
            let numerator = delta * delta * BigInteger(rho.denominator) * BigInteger(UInt64(shares)) * BigInteger(UInt64(1) << 20)
            let denominator = BigInteger(2) * BigInteger(rho.numerator)
            let scaled = (numerator + denominator - BigInteger(1)).dividedFloor(by: denominator)
            guard scaled.bitWidth <= 64, let s = UInt64(scaled.description) else {
                throw CleanRoomCryptoError.unsupportedParameter(what: "σ² of this noise exceeds 2^44")
            }
            self = .gaussian(try DiscreteGaussian(sigmaSquaredNumerator: s, sigmaSquaredDenominator: 1 << 20))
        }
    }

    func sample(using random: some RandomSource) throws -> Int64 {
        switch self {
        case .laplace(let d): return try d.sample(using: random)
        case .gaussian(let d): return try d.sample(using: random)
        }
    }

    /// The half-width of the interval holding a draw with probability ≥ `confidence`.
    func halfWidth(confidence: Double) throws -> UInt64 {
        switch self {
        case .laplace(let d):
            return try DPCalibration.laplaceHalfWidth(
                scaleNumerator: d.scaleNumerator, scaleDenominator: d.scaleDenominator, confidence: confidence)
        case .gaussian(let d):
            return try DPCalibration.gaussianHalfWidth(
                sigmaSquaredNumerator: d.sigmaSquaredNumerator, sigmaSquaredDenominator: d.sigmaSquaredDenominator,
                confidence: confidence)
        }
    }

    /// The smallest m ≥ 1 with P(X ≥ m) ≤ p (one-sided) or P(|X| ≥ m) ≤ p (two-sided), rounded
    /// up, never down.
    /// - Laplace of scale t: P(X ≥ m) = e^(−m/t)/(1 + e^(−1/t)), so m ≥ t·ln(factor/p).
    /// - Gaussian of parameter σ²: P(X ≥ m) ≤ Q((m − 1)/σ) ≤ e^(−(m−1)²/(2σ²))/2 (DPCalibration's
    ///   bound, then the Chernoff bound on Q), so m ≥ 1 + σ·√(2·ln(factor/(2p))).
    func tailBound(probability p: Double, twoSided: Bool) -> UInt64 {
        let sides = twoSided ? 2.0 : 1.0
        let m: Double
        switch self {
        case .laplace(let d):
            let t = Double(d.scaleNumerator) / Double(d.scaleDenominator)
            m = t * log(sides / (1 + exp(-1 / t)) / p)
        case .gaussian(let d):
            let sigma = (Double(d.sigmaSquaredNumerator) / Double(d.sigmaSquaredDenominator)).squareRoot()
            m = 1 + sigma * (2 * log(max(1, sides / (2 * p)))).squareRoot()
        }
        return UInt64(max(1, m.rounded(.up) + 1))
    }

    /// The parameter as a result reports it: t for Laplace, σ² for Gaussian (a fraction when not
    /// whole).
    var parameterText: String {
        func fraction(_ n: UInt64, _ d: UInt64) -> String { d == 1 ? "\(n)" : "\(n)/\(d)" }
        switch self {
        case .laplace(let d): return fraction(d.scaleNumerator, d.scaleDenominator)
        case .gaussian(let d): return fraction(d.sigmaSquaredNumerator, d.sigmaSquaredDenominator)
        }
    }
}
