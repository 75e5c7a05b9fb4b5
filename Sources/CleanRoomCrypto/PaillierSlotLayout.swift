// Packing several non-negative fixed-width values ("slots") into one Paillier plaintext, so that
// k value columns cost one encryption and one homomorphic addition instead of k. Slot i occupies
// bits [i·w, (i+1)·w); homomorphic addition adds slot-wise as long as no slot sum reaches 2^w,
// which the width guarantees: w = value bits + ⌈log2(max addends)⌉ + guard bits.

/// The layout of packed slots in a Paillier plaintext.
public struct PaillierSlotLayout: Sendable, Equatable {
    /// Bits per slot.
    public let slotBits: Int
    /// Number of slots.
    public let slotCount: Int
    /// Total bits used: slotBits · slotCount.
    public var totalBits: Int { slotBits * slotCount }

    /// A layout with explicit slot width.
    public init(slotBits: Int, slotCount: Int) {
        precondition(slotBits > 0 && slotCount > 0, "slot width and count must be positive")
        self.slotBits = slotBits
        self.slotCount = slotCount
    }

    /// A layout whose slots can hold the sum of up to `maxAddends` values of `valueBits` bits.
    public init(valueBits: Int, maxAddends: Int, guardBits: Int = 1, slotCount: Int) {
        precondition(valueBits > 0 && maxAddends > 0 && guardBits >= 0)
        let growth = maxAddends <= 1 ? 0 : Int.bitWidth - (maxAddends - 1).leadingZeroBitCount
        self.init(slotBits: valueBits + growth + guardBits, slotCount: slotCount)
    }

    /// Checks that packed plaintexts stay below n/2, so they also read as non-negative signed values.
    public func check(fitsIn key: PaillierPublicKey) throws {
        let available = key.bits - 2
        guard totalBits <= available else {
            throw CleanRoomCryptoError.layoutTooWide(totalBits: totalBits, availableBits: available)
        }
    }

    /// Σ values[i] · 2^(i·slotBits).
    /// - Throws: `mismatch` when the count differs from `slotCount`; `slotOverflow` for a
    ///   negative value or one of more than `slotBits` bits.
    public func pack(_ values: [BigInteger]) throws -> BigInteger {
        guard values.count == slotCount else {
            throw CleanRoomCryptoError.mismatch(what: "\(values.count) values for \(slotCount) slots")
        }
        var acc = BigInteger()
        for (i, v) in values.enumerated().reversed() {
            guard v.signum >= 0, v.bitWidth <= slotBits else {
                throw CleanRoomCryptoError.slotOverflow(slot: i, bits: v.signum < 0 ? -1 : v.bitWidth, slotBits: slotBits)
            }
            acc = acc.shiftedLeft(slotBits) + v
        }
        return acc
    }

    /// Packs machine integers.
    public func pack(_ values: [UInt64]) throws -> BigInteger { try pack(values.map { BigInteger($0) }) }

    /// Splits a plaintext into its slots.
    /// - Throws: `slotOverflow` when the plaintext is negative or wider than the layout.
    public func unpack(_ plaintext: BigInteger) throws -> [BigInteger] {
        guard plaintext.signum >= 0, plaintext.bitWidth <= totalBits else {
            throw CleanRoomCryptoError.slotOverflow(
                slot: slotCount, bits: plaintext.signum < 0 ? -1 : plaintext.bitWidth, slotBits: totalBits)
        }
        return (0..<slotCount).map { plaintext.shiftedRight($0 * slotBits).lowBits(slotBits) }
    }
}
