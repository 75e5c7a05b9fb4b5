// Arithmetic in GF(2^255 - 19) on GMP's fixed-size mpn functions
// (https://gmplib.org/manual/Low_002dlevel-Functions).
//
// Elements are four 64-bit limbs holding any value below 2^256 (partially reduced); only
// `canonicalize` brings them into [0, p). Timing: multiplications and reductions use GMP's
// fixed-size kernels (mpn_mul_n and mpn_sqr, or directly the basecase kernels they call at this
// size, see CCleanRoomShim.h; mpn_addmul_1, mpn_mul_1, mpn_add_n, mpn_sub_n), which
// at four limbs run straight loops without value-dependent exits; carries of single limbs are
// propagated in Swift through every limb (GMP's mpn_add_1 / mpn_sub_1 stop early, so they are not
// used); selections use masks, not branches. These are not GMP's documented side-channel-silent
// mpn_sec_ functions, so the guarantee is "no data-dependent branches or table lookups in our
// code and in the kernels as built", not a formal one. Not thread-safe: each
// `Field25519Arena` belongs to one thread.
import CCleanRoomShim
import CGMP

/// Pointer to the four little-endian limbs of a field element.
@usableFromInline typealias Fe = UnsafeMutablePointer<mp_limb_t>

/// A block of limb storage for field elements and the scratch a multiplication needs.
@usableFromInline
struct Field25519Arena {
    @usableFromInline let base: UnsafeMutablePointer<mp_limb_t>
    @usableFromInline let slots: Int
    /// 8-limb product buffer used by mul/sqr.
    @usableFromInline let wide: Fe

    init(slots: Int) {
        self.slots = slots
        base = .allocate(capacity: 4 * slots + 8)
        base.initialize(repeating: 0, count: 4 * slots + 8)
        wide = base + 4 * slots
    }

    @inline(__always) @usableFromInline subscript(_ i: Int) -> Fe { base + 4 * i }

    func wipeAndDeallocate() {
        secureWipe(UnsafeMutableRawBufferPointer(start: base, count: (4 * slots + 8) * MemoryLayout<mp_limb_t>.size))
        base.deallocate()
    }
}

@usableFromInline
enum F25519 {
    /// Folds the 8-limb value at `t` (< 2^512) into 4 limbs at `r`, using 2^256 ≡ 38.
    @inline(__always) @usableFromInline
    static func reduceWide(_ r: Fe, _ t: Fe) {
        let c = __gmpn_addmul_1(t, t + 4, 4, 38)  // t[0..3] + 38·t[4..7], carry c < 39
        let c2 = addSmall(t, c &* 38)  // fold the carry once more
        t[0] = t[0] &+ c2 &* 38  // cannot carry: t < 38·39 after a wrap
        r[0] = t[0]; r[1] = t[1]; r[2] = t[2]; r[3] = t[3]
    }

    /// r += v over four limbs with the carry propagated through every limb (GMP's mpn_add_1
    /// stops early when the carry dies out, which would make timing depend on the value).
    @inline(__always) @usableFromInline
    static func addSmall(_ r: Fe, _ v: mp_limb_t) -> mp_limb_t {
        var carry = v
        for i in 0..<4 {
            let (s, o) = r[i].addingReportingOverflow(carry)
            r[i] = s
            carry = o ? 1 : 0
        }
        return carry
    }

    /// r −= v over four limbs, borrow propagated through every limb; returns the final borrow.
    @inline(__always) @usableFromInline
    static func subSmall(_ r: Fe, _ v: mp_limb_t) -> mp_limb_t {
        var borrow = v
        for i in 0..<4 {
            let (d, o) = r[i].subtractingReportingOverflow(borrow)
            r[i] = d
            borrow = o ? 1 : 0
        }
        return borrow
    }

    @inline(__always) @usableFromInline
    static func mul(_ r: Fe, _ a: Fe, _ b: Fe, _ w: Fe) {
        cr_mpn_mul4(w, a, b)
        reduceWide(r, w)
    }

    @inline(__always) @usableFromInline
    static func sqr(_ r: Fe, _ a: Fe, _ w: Fe) {
        cr_mpn_sqr4(w, a)
        reduceWide(r, w)
    }

    /// r = a squared k times.
    @inline(__always) @usableFromInline
    static func sqrN(_ r: Fe, _ a: Fe, _ k: Int, _ w: Fe) {
        sqr(r, a, w)
        for _ in 1..<k { sqr(r, r, w) }
    }

    @inline(__always) @usableFromInline
    static func add(_ r: Fe, _ a: Fe, _ b: Fe) {
        let c = __gmpn_add_n(r, a, b, 4)
        let c2 = addSmall(r, c &* 38)
        r[0] = r[0] &+ c2 &* 38
    }

    @inline(__always) @usableFromInline
    static func sub(_ r: Fe, _ a: Fe, _ b: Fe) {
        let bw = __gmpn_sub_n(r, a, b, 4)
        let bw2 = subSmall(r, bw &* 38)
        r[0] = r[0] &- bw2 &* 38
    }

    /// r = a · k for a small constant k < 2^32.
    @inline(__always) @usableFromInline
    static func mulSmall(_ r: Fe, _ a: Fe, _ k: mp_limb_t) {
        let c = __gmpn_mul_1(r, a, 4, k)
        let c2 = addSmall(r, c &* 38)
        r[0] = r[0] &+ c2 &* 38
    }

    @inline(__always) @usableFromInline
    static func copy(_ r: Fe, _ a: Fe) {
        r[0] = a[0]; r[1] = a[1]; r[2] = a[2]; r[3] = a[3]
    }

    @inline(__always) @usableFromInline
    static func set(_ r: Fe, _ v: mp_limb_t) {
        r[0] = v; r[1] = 0; r[2] = 0; r[3] = 0
    }

    /// Brings `r` into [0, p) without branches.
    @inline(__always) @usableFromInline
    static func canonicalize(_ r: Fe) {
        let mask63: mp_limb_t = (1 << 63) - 1
        for _ in 0..<2 {  // after two folds r < 2^255
            let top = r[3] >> 63
            r[3] &= mask63
            _ = addSmall(r, top &* 19)
        }
        // r >= p  <=>  r + 19 >= 2^255
        var t = (r[0], r[1], r[2], r[3])
        var carry: Bool
        (t.0, carry) = t.0.addingReportingOverflow(19)
        (t.1, carry) = t.1.addingReportingOverflow(carry ? 1 : 0)
        (t.2, carry) = t.2.addingReportingOverflow(carry ? 1 : 0)
        t.3 = t.3 &+ (carry ? 1 : 0)
        let ge = t.3 >> 63
        let m = 0 &- ge
        t.3 &= mask63
        r[0] = (t.0 & m) | (r[0] & ~m)
        r[1] = (t.1 & m) | (r[1] & ~m)
        r[2] = (t.2 & m) | (r[2] & ~m)
        r[3] = (t.3 & m) | (r[3] & ~m)
    }

    /// All-ones when the canonical value of `a` is zero, else 0. Canonicalizes `a` in place.
    @inline(__always) @usableFromInline
    static func isZeroMask(_ a: Fe) -> mp_limb_t {
        canonicalize(a)
        let x = a[0] | a[1] | a[2] | a[3]
        // (x | -x) has its top bit set iff x != 0
        return ((x | (0 &- x)) >> 63) &- 1
    }

    /// All-ones when a ≡ b (mod p). Uses `tmp` as scratch.
    @inline(__always) @usableFromInline
    static func equalMask(_ a: Fe, _ b: Fe, _ tmp: Fe) -> mp_limb_t {
        sub(tmp, a, b)
        return isZeroMask(tmp)
    }

    /// r = mask ? b : a  (mask all-ones or zero). r may alias a or b.
    @inline(__always) @usableFromInline
    static func select(_ r: Fe, _ a: Fe, _ b: Fe, _ mask: mp_limb_t) {
        for i in 0..<4 { r[i] = (b[i] & mask) | (a[i] & ~mask) }
    }

    /// sgn0 (RFC 9380 §4.1) of the canonical value, as a mask. Canonicalizes `a` in place.
    @inline(__always) @usableFromInline
    static func sgn0Mask(_ a: Fe) -> mp_limb_t {
        canonicalize(a)
        return 0 &- (a[0] & 1)
    }

    /// r = z^(2^250 - 1) and z11 = z^11; the common prefix of inversion and the (p-5)/8 power.
    /// Uses slots t0, t1 as scratch. Fixed addition chain: timing is independent of z.
    @usableFromInline
    static func pow2250m1(_ r: Fe, _ z11: Fe, _ z: Fe, _ t0: Fe, _ t1: Fe, _ w: Fe) {
        sqr(t0, z, w)  // z^2
        sqrN(t1, t0, 2, w)  // z^8
        mul(t1, t1, z, w)  // z^9
        mul(z11, t1, t0, w)  // z^11
        sqr(t0, z11, w)  // z^22
        mul(t0, t0, t1, w)  // z^31 = z^(2^5 - 1)
        sqrN(t1, t0, 5, w); mul(t0, t1, t0, w)  // 2^10 - 1
        sqrN(t1, t0, 10, w); mul(t1, t1, t0, w)  // 2^20 - 1
        sqrN(r, t1, 20, w); mul(t1, r, t1, w)  // 2^40 - 1
        sqrN(t1, t1, 10, w); mul(t0, t1, t0, w)  // 2^50 - 1
        sqrN(t1, t0, 50, w); mul(t1, t1, t0, w)  // 2^100 - 1
        sqrN(r, t1, 100, w); mul(t1, r, t1, w)  // 2^200 - 1
        sqrN(t1, t1, 50, w); mul(r, t1, t0, w)  // 2^250 - 1
    }

    /// r = z^(p - 2) = z^(2^255 - 21), i.e. 1/z (and 0 for z = 0).
    @usableFromInline
    static func invert(_ r: Fe, _ z: Fe, _ t0: Fe, _ t1: Fe, _ t2: Fe, _ z11: Fe, _ w: Fe) {
        pow2250m1(t2, z11, z, t0, t1, w)
        sqrN(t2, t2, 5, w)  // 2^255 - 32
        mul(r, t2, z11, w)  // 2^255 - 21
    }

    /// r = z^((p - 5)/8) = z^(2^252 - 3).
    @usableFromInline
    static func powP58(_ r: Fe, _ z: Fe, _ t0: Fe, _ t1: Fe, _ t2: Fe, _ z11: Fe, _ w: Fe) {
        pow2250m1(t2, z11, z, t0, t1, w)
        sqrN(t2, t2, 2, w)  // 2^252 - 4
        mul(r, t2, z, w)  // 2^252 - 3
    }

    /// Loads a 32-byte little-endian value (all 256 bits, not reduced).
    @inline(__always) @usableFromInline
    static func load(_ r: Fe, littleEndian bytes: UnsafeRawPointer) {
        for i in 0..<4 { r[i] = mp_limb_t(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))) }
    }

    /// Stores the canonical value as 32 little-endian bytes. Canonicalizes `a` in place.
    @inline(__always) @usableFromInline
    static func store(_ a: Fe, littleEndian out: UnsafeMutableRawPointer) {
        canonicalize(a)
        for i in 0..<4 { out.storeBytes(of: UInt64(a[i]).littleEndian, toByteOffset: 8 * i, as: UInt64.self) }
    }

    /// Reduces a big-endian byte string of up to 64 bytes (hash_to_field's 48) into r.
    @inline(__always) @usableFromInline
    static func loadReduced(_ r: Fe, bigEndian bytes: UnsafeRawBufferPointer, _ w: Fe) {
        precondition(bytes.count <= 64)
        for i in 0..<8 { w[i] = 0 }
        let n = bytes.count
        for k in 0..<n {  // byte k from the end goes to limb k/8, position k%8
            let byte = mp_limb_t(bytes[n - 1 - k])
            w[k >> 3] |= byte << (8 * (k & 7))
        }
        reduceWide(r, w)
        canonicalize(r)
    }
}
