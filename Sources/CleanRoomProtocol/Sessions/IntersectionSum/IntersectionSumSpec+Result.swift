// Turning a decrypted, packed group sum into the per-column sums and means a result reports.
import CleanRoomCrypto

extension IntersectionSumSpec {
    /// Unpacks a decrypted group sum into per-column sums (and means) as the policy asks.
    /// - Throws: `invalidPeerCryptography` when the plaintext does not fit the slot layout.
    /// - Parameter offsets: what to subtract from each slot first (the offsets of the noise of
    ///   differential privacy, docs/privacy.md); empty without it. Noisy slots may then be negative.
    func groupResult(
        label: String?, count: Int, plaintext: BigInteger, layout: PaillierSlotLayout, offsets: [BigInteger] = []
    ) throws -> GroupResult {
        var slots: [BigInteger]
        do { slots = try layout.unpack(plaintext) } catch {
            throw CleanRoomProtocolError.invalidPeerCryptography(problem: "decrypted sum does not fit the slot layout")
        }
        guard slots.count == values.count + 1, offsets.isEmpty || offsets.count == slots.count else {
            throw CleanRoomProtocolError.invalidPeerCryptography(problem: "decrypted sum does not fit the slot layout")
        }
        for (i, offset) in offsets.enumerated() { slots[i] = slots[i] - offset }
        let rows = slots[values.count]
        let stats = Set(statistics)
        var sums: [String: String] = [:], means: [String: String] = [:]
        for (i, col) in values.enumerated() {
            let total = slots[i] + BigInteger(Int(col.min)) * rows
            sums[col.name] = DecimalFormat.format(total, scale: col.scale)
            means[col.name] = DecimalFormat.divide(total, by: count, scale: col.scale, extraDigits: 2)
        }
        return GroupResult(
            label: label, count: stats.contains(.count) ? count : nil, valueRows: stats.contains(.count) ? rows.intValue : nil,
            sums: stats.contains(.sum) ? sums : nil, means: stats.contains(.mean) ? means : nil)
    }
}
