@_spi(Deterministic) import CleanRoomCrypto
import Foundation
import Testing
import _CleanRoomTestSupport

@testable import CleanRoomProtocol

/// Differential privacy on cardinality: P1 adds discrete Laplace noise (drawn before the session)
/// to the count it releases; both results carry the same noisy count and the noise report.
@Suite struct PrivacyTests {
    /// The fixture collaboration with `privacy:` on the `overlap` cardinality analysis.
    static func yaml(epsilon: String) -> String {
        Fixtures.yaml(minIntersection: 1).replacingOccurrences(
            of: "  - name: overlap\n    kind: cardinality\n",
            with: "  - name: overlap\n    kind: cardinality\n    privacy: { mechanism: laplace, epsilon: \(epsilon) }\n")
    }

    @Test func theFileCarriesPrivacyOnlyWhereNoiseCanProtect() throws {
        let c = try Collaboration(yaml: Self.yaml(epsilon: "0.5"))
        #expect(try c.analysis(named: "overlap").privacy == PrivacySpec(mechanism: .laplace, epsilonMicros: 500_000))
        #expect(try c.digestHex() != (try Fixtures.collaboration(Fixtures.yaml(minIntersection: 1)).digestHex()))
        func refusal(_ text: String) -> String {
            do {
                _ = try Collaboration(yaml: text)
                return "accepted"
            } catch { return "\(error)" }
        }
        let onIntersection = Fixtures.yaml().replacingOccurrences(
            of: "kind: intersection\n", with: "kind: intersection\n    privacy: { mechanism: laplace, epsilon: 1 }\n")
        #expect(refusal(onIntersection).contains("an intersection reveals rows"), "\(refusal(onIntersection))")
        let onSum = Fixtures.yaml().replacingOccurrences(
            of: "  - name: total-spend\n    kind: intersection-sum\n",
            with: "  - name: total-spend\n    kind: intersection-sum\n    privacy: { mechanism: laplace, epsilon: 1 }\n")
        #expect(refusal(onSum).contains("needs 'max_rows_per_identifier'"), "\(refusal(onSum))")
        for bad in ["0", "-1", "10.5", "0.0000001", "x"] {
            #expect(refusal(Self.yaml(epsilon: bad)) != "accepted", "ε = \(bad)")
        }
        let gaussian = Self.yaml(epsilon: "1").replacingOccurrences(of: "mechanism: laplace", with: "mechanism: gaussian")
        #expect(refusal(gaussian).contains("the gaussian mechanism needs 'delta'"), "\(refusal(gaussian))")
    }

    /// The Gaussian mechanism on a count: σ² from (ε, δ) through zCDP, both parties equal, and
    /// over sessions the noise has mean 0 and variance near σ².
    @Test func aGaussianCountIsCalibratedThroughZCDP() throws {
        let yaml = Self.yaml(epsilon: "1").replacingOccurrences(
            of: "{ mechanism: laplace, epsilon: 1 }", with: "{ mechanism: gaussian, epsilon: 1, delta: 1e-6 }")
        let c = try Collaboration(yaml: yaml)
        let spec = try #require(try c.analysis(named: "overlap").privacy)
        let noise = try ReleaseNoise(spec)
        guard case .gaussian(let g) = noise.distribution else {
            Issue.record("expected a Gaussian, got \(noise.distribution)")
            return
        }
        let sigma2 = Double(g.sigmaSquaredNumerator) / Double(g.sigmaSquaredDenominator)
        // ε of ρ = Δ²/(2σ²) by Bun–Steinke must not exceed the file's ε = 1 at δ = 10⁻⁶, and the
        // rounding of ρ costs almost nothing (the zCDP σ² for these values is about 28.6).
        #expect(DPCalibration.zCDPEpsilon(rho: 1 / (2 * sigma2), delta: 1e-6) <= 1)
        #expect((28.6...28.7).contains(sigma2), "σ² = \(sigma2)")
        let d = Dataset.make(advertiserOnly: 30, publisherOnly: 30, shared: 40)
        var deltas: [Int] = []
        for seed in 0..<150 {
            let (ra, rp) = try runSession(c, "overlap", d, seed: "gaussian-\(seed)")
            #expect(ra.intersectionSize == rp.intersectionSize && ra.privacy == rp.privacy)
            #expect(ra.privacy?.mechanism == "gaussian" && ra.privacy?.delta == "1e-6")
            deltas.append(try #require(ra.intersectionSize?.value) - 40)
        }
        let mean = Double(deltas.reduce(0, +)) / Double(deltas.count)
        let variance = deltas.map { (Double($0) - mean) * (Double($0) - mean) }.reduce(0, +) / Double(deltas.count - 1)
        // sd ≈ 5.35: the mean of 150 draws is within ±2.2 of 0 at 5 standard errors; the sample
        // variance of 150 draws is within about ±40% of σ² at 3.5 standard errors.
        #expect(abs(mean) < 2.2, "mean noise \(mean)")
        #expect((0.6 * sigma2...1.4 * sigma2).contains(variance), "noise variance \(variance) against σ² = \(sigma2)")
    }

    /// The released count is exact plus discrete Laplace noise of scale 1/ε, clamped to
    /// [0, min(|X|, |Y|)]: over many sessions its mean is near the exact count, its spread near
    /// the distribution's, and both parties always get the same value and report.
    @Test func bothPartiesGetTheSameNoisyCount() throws {
        let d = Dataset.make(advertiserOnly: 30, publisherOnly: 30, shared: 40)
        let c = try Collaboration(yaml: Self.yaml(epsilon: "0.5"))
        var deltas: [Int] = []
        for seed in 0..<200 {
            let (ra, rp) = try runSession(c, "overlap", d, seed: "privacy-\(seed)")
            #expect(ra.intersectionSize == rp.intersectionSize)
            #expect(ra.privacy == rp.privacy)
            let value = try #require(ra.intersectionSize?.value)
            #expect((0...70).contains(value))
            deltas.append(value - 40)
        }
        let report = try #require(try Collaboration(yaml: Self.yaml(epsilon: "0.5")).analysis(named: "overlap").privacy)
        #expect(report.epsilonText == "0.5")
        let mean = Double(deltas.reduce(0, +)) / Double(deltas.count)
        let variance = deltas.map { (Double($0) - mean) * (Double($0) - mean) }.reduce(0, +) / Double(deltas.count - 1)
        // Discrete Laplace with t = 2: variance 2e^{-1/2}/(1 − e^{-1/2})² ≈ 7.7; sd ≈ 2.8, so the
        // mean of 200 draws is within ±1 of 0 with overwhelming probability (5 standard errors).
        #expect(abs(mean) < 1.0, "mean noise \(mean)")
        #expect((4.0...13.0).contains(variance), "noise variance \(variance)")
        #expect(Set(deltas).count > 5, "the count must actually vary")
    }

    @Test func theResultReportsTheMechanismScaleAndInterval() throws {
        let d = Dataset.make(advertiserOnly: 3, publisherOnly: 3, shared: 10)
        let (ad, pub) = try runSession(try Collaboration(yaml: Self.yaml(epsilon: "0.5")), "overlap", d)
        let expected = NoiseReport(mechanism: "laplace", epsilon: "0.5", scale: "2", interval95: ad.privacy?.interval95 ?? -1)
        #expect(ad.privacy == expected && pub.privacy == expected)
        // P(|X| ≥ k) = 2e^{-k/t}/(1 + e^{-1/t}) ≤ 5% first at k = 6 for t = 2.
        #expect(ad.privacy?.interval95 == 6)
        // Without privacy, the count is exact and no report is attached.
        let (exact, _) = try runSession(try Fixtures.collaboration(Fixtures.yaml(minIntersection: 1)), "overlap", d)
        #expect(exact.intersectionSize == .revealed(10) && exact.privacy == nil)
    }

    @Test func theClampAndTheThresholdApplyToTheNoisyValue() {
        let release = Release(analysis: try! Fixtures.collaboration(Fixtures.yaml(minIntersection: 5)).analysis(named: "overlap"))
        #expect(release.overlap(10, noise: -7, ceiling: 12) == .suppressed(below: 5))
        #expect(release.overlap(2, noise: 4, ceiling: 12) == .revealed(6))
        #expect(release.overlap(10, noise: 100, ceiling: 12) == .revealed(12))
        #expect(release.overlap(10, noise: .min, ceiling: 12) == .suppressed(below: 5))
        #expect(release.overlap(10, noise: .max, ceiling: 12) == .revealed(12))
    }
}
