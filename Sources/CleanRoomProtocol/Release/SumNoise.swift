// Differential privacy on an intersection-sum (docs/privacy.md, "Sums"): the noise each party adds,
// derived from the policy alone, so both parties compute the same scales, bounds and layout.
//
// Who adds what:
// - P2 (the value owner) adds noise to every slot of every plaintext it returns in
//   DECRYPTED_SUMS, and to what it reads itself when it receives: it protects P2's values. Nothing
//   proves P1's entries disjoint (P1 could send one sum re-randomised many times and average the
//   noise away), so P2 splits its ε over every entry it may decrypt (`max_groups`, 1 ungrouped),
//   then evenly over the k + 1 slots of an entry (k value columns, one row counter).
// - P1 adds noise to every count it releases (to its own result and to P2) and, when P2 receives
//   the sums, homomorphically to every slot of every sum it sends: it protects P1's membership.
//   P1's groups are disjoint by construction (each identifier has one group), so one person
//   changes one entry; P1 splits its ε evenly over the k + 2 quantities of an entry (count, k
//   value slots, row counter).
//
// Sensitivity per quantity, with R = max_rows_per_identifier: a value slot R·(max − min), the row
// counter R, a count 1. Laplace scale t = Δ/ε_quantity.
//
// Every draw is clamped to ±M with M = Δ + m, m the smallest whole number with P(|X| ≥ m) ≤ 2^-60,
// so that a slot holds it: value + M sits in [0, 2M]. Clamping is (ε, δ)-DP with δ = P(|X| ≥ M − Δ)
// ≤ 2^-60 per quantity (on the event |X| < M − Δ neither neighbour's draw is clamped).
//
// Which groups P1 releases is decided on noisy counts: a group passes when its noisy count
// reaches τ = max(min_group_size, 1 + m_δ), m_δ the smallest with P(X ≥ m_δ) ≤ δ for one-sided
// discrete Laplace of the count scale; a group that one person creates (exact count 1) then passes
// with probability at most δ (DP partition selection, Korolova et al. 2009; Gopi et al. 2020).
import CleanRoomCrypto
import Foundation

/// The noise plan of an intersection-sum with `privacy:`.
struct SumNoise: Sendable {
    /// Per-quantity probability bound of a draw being clamped.
    static let truncationLog2 = 60

    /// One noisy quantity: its sampler and the clamp bound M.
    struct Quantity: Sendable {
        let distribution: NoiseDistribution
        let sensitivity: UInt64
        /// |draw| is clamped to this; value + bound fits the slot.
        let bound: UInt64

        init(_ privacy: PrivacySpec, sensitivity: UInt64, gaussianDelta: Double, shares: Int) throws {
            self.sensitivity = sensitivity
            distribution = try NoiseDistribution(
                privacy.mechanism, sensitivity: sensitivity, epsilonMicros: privacy.epsilonMicros, gaussianDelta: gaussianDelta,
                shares: shares)
            bound = sensitivity + distribution.tailBound(probability: pow(2, -Double(SumNoise.truncationLog2)), twoSided: true)
        }

        /// A draw clamped to ±bound.
        func draw(using random: some RandomSource) throws -> Int64 {
            let x = try distribution.sample(using: random)
            let m = Int64(bound)
            return min(max(x, -m), m)
        }

        /// Half-width of the interval holding the (clamped) draw with probability ≥ `confidence`.
        func halfWidth(confidence: Double) throws -> UInt64 { min(bound, try distribution.halfWidth(confidence: confidence)) }

        var scaleText: String { distribution.parameterText }
    }

    let privacy: PrivacySpec
    let columns: [ValueColumn]
    /// Entries P2 may decrypt in one session: `max_groups`, or 1 ungrouped.
    let entries: Int
    /// P2's noise per slot of an entry (k value slots, then the row counter).
    let owner: [Quantity]
    /// P1's noise per slot, when P2 receives the sums (nil otherwise: P2 sees only masked sums).
    let p1Slots: [Quantity]?
    /// P1's noise on each count it releases.
    let count: Quantity
    /// The smallest noisy count released (grouped: with the δ-calibrated part; ungrouped:
    /// `min_intersection`).
    let threshold: Int

    init(analysis: Analysis, sum: IntersectionSumSpec, privacy: PrivacySpec) throws {
        guard let rows = privacy.maxRowsPerIdentifier else {
            throw CleanRoomProtocolError.invalidCollaboration(
                path: "analyses.\(analysis.name).privacy", problem: "missing 'max_rows_per_identifier'")
        }
        self.privacy = privacy
        columns = sum.values
        let r = UInt64(rows)
        let sensitivities = sum.values.map { r * max(1, UInt64($0.max - $0.min)) } + [r]
        let k = sum.values.count
        let entries = sum.grouping?.maxGroups ?? 1
        self.entries = entries
        // δ of the Gaussian: P2's whole δ; P1's half of it when grouped (the other half is the
        // partition selection's), all of it otherwise.
        let delta = privacy.delta ?? 0
        let grouped = sum.grouping != nil
        let p1Gaussian = grouped ? delta / 2 : delta
        // P1's groups are disjoint, but the set sizes are public, so neighbouring inputs differ
        // by a substitution: one person leaves one group and another joins another. Two groups
        // change, so a grouped P1 splits its budget over twice the quantities of one group.
        let p1Shares = (k + 2) * (grouped ? 2 : 1)
        partitionDelta = privacy.mechanism == .gaussian ? delta / 2 : delta
        do {
            owner = try sensitivities.map { try Quantity(privacy, sensitivity: $0, gaussianDelta: delta, shares: (k + 1) * entries) }
            let ownerReceives = analysis.receivers.contains(sum.valueOwner)
            p1Slots =
                ownerReceives
                ? try sensitivities.map { try Quantity(privacy, sensitivity: $0, gaussianDelta: p1Gaussian, shares: p1Shares) } : nil
            count = try Quantity(privacy, sensitivity: 1, gaussianDelta: p1Gaussian, shares: p1Shares)
        } catch let error as CleanRoomCryptoError {
            throw CleanRoomProtocolError.invalidCollaboration(
                path: "analyses.\(analysis.name).privacy",
                problem:
                    "the noise this ε needs is too large (\(error)); raise epsilon, lower max_groups or max_rows_per_identifier, or narrow min/max"
            )
        }
        if let grouping = sum.grouping {
            let m = count.distribution.tailBound(probability: partitionDelta, twoSided: false)
            threshold = max(grouping.minGroupSize, 1 + Int(m))
        } else {
            threshold = analysis.minIntersection
        }
    }

    /// The δ the partition selection spends (grouped sums, P1).
    let partitionDelta: Double

    /// δ of one party's session: the Gaussian's δ, the partition selection's (P1, grouped), and
    /// 2^-60 per clamped quantity released.
    func delta(role: Role, grouped: Bool) -> Double {
        let clamp = pow(2, -Double(Self.truncationLog2))
        let gaussian = privacy.mechanism == .gaussian
        let delta = privacy.delta ?? 0
        switch role {
        case .p1:
            let perEntry = 1 + (p1Slots?.count ?? 0)
            let spent = gaussian ? delta : (grouped ? partitionDelta : 0)
            return spent + clamp * Double(perEntry)
        case .p2:
            return (gaussian ? delta : 0) + clamp * Double(owner.count * entries)
        }
    }

    /// The slot layout with room for both parties' clamped noise: each slot holds the exact sum
    /// (what `base` allows) plus P1's offset noise (0...2M) plus P2's.
    func widen(_ base: PaillierSlotLayout) -> PaillierSlotLayout {
        var room = BigInteger(1).shiftedLeft(base.slotBits - 1)
        let p1 = p1Slots?.map(\.bound).max() ?? 0
        let p2 = owner.map(\.bound).max() ?? 0
        room = room + BigInteger(2) * (BigInteger(p1) + BigInteger(p2))
        return PaillierSlotLayout(slotBits: room.bitWidth + 1, slotCount: base.slotCount)
    }

    /// One entry's noise, offset to be non-negative (draw + M per slot), packed.
    static func packedDraw(_ quantities: [Quantity], layout: PaillierSlotLayout, using random: some RandomSource) throws -> BigInteger {
        try layout.pack(try quantities.map { q in BigInteger(UInt64(try q.draw(using: random) + Int64(q.bound))) })
    }

    /// A pad over the bits above the layout: U·2^L with L = `layout.totalBits` and U uniform in
    /// [0, ⌊n/2^L⌋ − 1), so that a plaintext below 2^L plus the pad stays below n. Whoever hands a
    /// plaintext (or a ciphertext) to the peer adds one: an honest sum and its noise stay in the
    /// low L bits, which is all the reader decodes, while anything the peer placed above them
    /// (shifted values of single identifiers: docs/privacy.md, "Against a malicious peer") is
    /// hidden by a uniform value.
    static func pad(layout: PaillierSlotLayout, n: BigInteger, using random: some RandomSource) throws -> BigInteger {
        let room = n.shiftedRight(layout.totalBits) - BigInteger(1)
        return try BigInteger.random(below: room, using: random).shiftedLeft(layout.totalBits)
    }

    /// What decoding subtracts from each slot: P2's offsets, and P1's when it added noise.
    func offsets(p1Added: Bool) -> [BigInteger] {
        (0..<owner.count).map { i in
            BigInteger(owner[i].bound) + (p1Added ? BigInteger(p1Slots?[i].bound ?? 0) : BigInteger(0))
        }
    }

    /// What a result says about the noise: the count's scale and 95% interval, and per value
    /// column the 95% interval of its sum (union bound over the noises it carries: P2's, P1's
    /// when it added some, and the row counter's times |min| when min ≠ 0).
    func report(role: Role, grouped: Bool, p1Added: Bool) throws -> NoiseReport {
        let k = columns.count
        var sums: [String: NoiseReport.Column] = [:]
        for (i, col) in columns.enumerated() {
            var parts: [(Quantity, UInt64)] = [(owner[i], 1)]
            if p1Added, let p1 = p1Slots { parts.append((p1[i], 1)) }
            if col.min != 0 {
                parts.append((owner[k], col.min.magnitude))
                if p1Added, let p1 = p1Slots { parts.append((p1[k], col.min.magnitude)) }
            }
            let confidence = 1 - 0.05 / Double(parts.count)
            var half = BigInteger(0)
            for (q, factor) in parts { half = half + BigInteger(try q.halfWidth(confidence: confidence)) * BigInteger(factor) }
            sums[col.name] = NoiseReport.Column(
                scale: owner[i].scaleText, peerScale: p1Added ? p1Slots?[i].scaleText : nil,
                interval95: DecimalFormat.format(half, scale: col.scale))
        }
        return NoiseReport(
            mechanism: privacy.mechanism.rawValue, epsilon: privacy.epsilonText,
            delta: String(format: "%.3g", delta(role: role, grouped: grouped)), scale: count.scaleText,
            interval95: Int(try count.halfWidth(confidence: 0.95)), threshold: threshold,
            maxRowsPerIdentifier: privacy.maxRowsPerIdentifier, sums: sums)
    }
}

extension Analysis {
    /// The noise plan of an intersection-sum with privacy (nil for other analyses).
    func sumNoise() throws -> SumNoise? {
        guard let sum = sumSpec, let privacy else { return nil }
        return try SumNoise(analysis: self, sum: sum, privacy: privacy)
    }

    /// The δ `role` spends on one session of this analysis, in units of 10^-15, rounded up (0
    /// without privacy, and for a cardinality's discrete Laplace, which is pure ε).
    public func sessionDeltaFemtos(role: Role) throws -> Int64 {
        guard let privacy else { return 0 }
        guard let noise = try sumNoise() else { return privacy.mechanism == .gaussian ? (privacy.deltaFemtos ?? 0) : 0 }
        return Int64((noise.delta(role: role, grouped: sumSpec?.grouping != nil) * 1e15).rounded(.up))
    }

    /// For displays: the smallest noisy count released, the entries P2's ε is split over, and
    /// whether P1 adds noise to the sums (nil without privacy on an intersection-sum).
    public func sumNoiseSummary() throws -> (threshold: Int, entries: Int, p1AddsSlotNoise: Bool)? {
        try sumNoise().map { ($0.threshold, $0.entries, $0.p1Slots != nil) }
    }

    /// The packing layout of an intersection-sum, with room for noise when privacy is on.
    public func sumLayout() throws -> PaillierSlotLayout {
        guard let sum = sumSpec else {
            throw CleanRoomProtocolError.invalidCollaboration(path: "analyses.\(name)", problem: "not an intersection-sum")
        }
        let base = sum.slotLayout(maxRows: bounds(of: sum.valueOwner).max)
        return try sumNoise()?.widen(base) ?? base
    }
}
