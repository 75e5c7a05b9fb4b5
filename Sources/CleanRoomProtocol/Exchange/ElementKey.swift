// Blinded elements as the matching step keeps them: 128-bit keys with their positions, and the
// encoding check on every curve element a peer sends.

/// A blinded element and its position in the list it came in.
struct KeyPosition: Comparable {
    let key: ElementKey
    let position: Int32

    static func < (x: KeyPosition, y: KeyPosition) -> Bool { x.key < y.key || (x.key == y.key && x.position < y.position) }

    /// True when a sorted list holds the same element twice.
    static func hasDuplicate(_ sorted: [KeyPosition]) -> Bool {
        zip(sorted, sorted.dropFirst()).contains { $0.key == $1.key }
    }

    /// The position of `key` in a sorted list without duplicates, by binary search.
    static func find(_ key: ElementKey, in sorted: [KeyPosition]) -> Int32? {
        var lo = 0, hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sorted[mid].key < key { lo = mid + 1 } else { hi = mid }
        }
        return lo < sorted.count && sorted[lo].key == key ? sorted[lo].position : nil
    }
}

/// A blinded element, identified by its first 128 bits. Blinded elements are pseudorandom curve
/// points that no party can steer without the other's key, so two different ones share these bits
/// with probability about N²/2^129 (below 2^-88 for 10^12 pairs); halving the key halves what
/// matching holds in memory.
struct ElementKey: Hashable, Comparable {
    static func < (x: ElementKey, y: ElementKey) -> Bool { (x.a, x.b) < (y.a, y.b) }

    let a: UInt64, b: UInt64

    init(_ bytes: [UInt8], at offset: Int) {
        (a, b) = bytes.withUnsafeBytes { p in
            (p.loadUnaligned(fromByteOffset: offset, as: UInt64.self), p.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
        }
    }
}

/// Checks on the encoding of curve25519 u-coordinates received from a peer.
enum BlindedElement {
    /// True when the 32 little-endian bytes encode a value below p = 2^255 − 19 with bit 255
    /// clear: the only form X25519 outputs. Rejecting the rest stops aliases of one point from
    /// slipping past duplicate checks.
    static func isCanonical(_ p: UnsafeRawPointer) -> Bool {
        let top = p.loadUnaligned(fromByteOffset: 24, as: UInt64.self).littleEndian
        guard top >> 63 == 0 else { return false }
        // value ≥ p  ⟺  top limbs all ones (0x7fff…, 0xffff…, 0xffff…) and low limb ≥ 2^64 − 19
        let l0 = p.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian
        let l1 = p.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian
        let l2 = p.loadUnaligned(fromByteOffset: 16, as: UInt64.self).littleEndian
        return !(top == 0x7fff_ffff_ffff_ffff && l2 == .max && l1 == .max && l0 >= 0xffff_ffff_ffff_ffed)
    }
}
