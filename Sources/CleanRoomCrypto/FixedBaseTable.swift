import CCleanRoomShim
// Fixed-base exponentiation with a windowed table (Handbook of Applied Cryptography, §14.6.3,
// fixed-base windowing): with T[i][d] = g^(d·2^(w·i)) mod m precomputed, g^e = Π_i T[i][e_i]
// needs one modular multiplication per nonzero w-bit digit of e and no squarings. The products
// run in Montgomery form on OpenSSL's BN_mod_mul_montgomery (assembly on x86-64 and arm64),
// which is about 1.5× faster than GMP's multiply-then-divide at 2048 bits.
//
// Timing: the table entry read depends on each digit of the exponent, and zero digits are
// skipped, so memory access and time depend on the exponent (a co-resident cache observer can
// learn about it). Callers name this with `variableTime: true`.
// Thread safety: immutable after construction; `power` may run on many threads at once.
import CGMP
import COpenSSL

/// g^e mod m for a fixed g and odd m, exponents of at most `exponentBits` bits.
final class FixedBaseTable: @unchecked Sendable {
    let exponentBits: Int
    let window: Int
    let windows: Int
    let modulusBytes: Int
    private let mont: OpaquePointer
    /// windows × (2^w − 1) BIGNUMs in Montgomery form; entry (i, d) holds g^(d·2^(w·i)) mod m.
    private var table: [OpaquePointer] = []

    /// - Throws: `openSSLFailure` when OpenSSL cannot allocate or set up the Montgomery context.
    init(base: BigInteger, modulus: BigInteger, exponentBits: Int, window: Int) throws {
        precondition(window >= 1 && window <= 12 && exponentBits > 0 && modulus.isOdd)
        self.exponentBits = exponentBits
        self.window = window
        self.windows = (exponentBits + window - 1) / window
        self.modulusBytes = (modulus.bitWidth + 7) / 8
        guard let ctx = BN_CTX_new() else { throw CleanRoomCryptoError.openSSLFailure(operation: "BN_CTX_new") }
        defer { BN_CTX_free(ctx) }
        guard let mont = BN_MONT_CTX_new() else { throw CleanRoomCryptoError.openSSLFailure(operation: "BN_MONT_CTX_new") }
        self.mont = mont
        let m = try FixedBaseTable.bignum(modulus, width: modulusBytes)
        defer { BN_free(m) }
        guard BN_MONT_CTX_set(mont, m, ctx) == 1 else { throw CleanRoomCryptoError.openSSLFailure(operation: "BN_MONT_CTX_set") }
        let gi = try FixedBaseTable.bignum(base.mod(modulus), width: modulusBytes)
        defer { BN_clear_free(gi) }
        guard BN_to_montgomery(gi, gi, mont, ctx) == 1 else { throw CleanRoomCryptoError.openSSLFailure(operation: "BN_to_montgomery") }
        let perWindow = (1 << window) - 1
        table.reserveCapacity(windows * perWindow)
        for _ in 0..<windows {
            // row: gi, gi^2, ..., gi^(2^w − 1); then gi ← gi^(2^w) = last · gi
            var previous = gi
            for d in 1...perWindow {
                guard let entry = BN_new() else { throw CleanRoomCryptoError.openSSLFailure(operation: "BN_new") }
                table.append(entry)
                let ok = d == 1 ? BN_copy(entry, gi) != nil : BN_mod_mul_montgomery(entry, previous, gi, mont, ctx) == 1
                guard ok else { throw CleanRoomCryptoError.openSSLFailure(operation: "BN_mod_mul_montgomery") }
                previous = entry
            }
            guard BN_mod_mul_montgomery(gi, previous, gi, mont, ctx) == 1 else {
                throw CleanRoomCryptoError.openSSLFailure(operation: "BN_mod_mul_montgomery")
            }
        }
    }

    deinit {
        for entry in table { BN_clear_free(entry) }
        BN_MONT_CTX_free(mont)
    }

    private static func bignum(_ v: BigInteger, width: Int) throws -> OpaquePointer {
        var bytes = try v.bigEndianBytes(width: width)
        defer { secureWipe(&bytes) }
        guard let bn = BN_bin2bn(bytes, Int32(width), nil) else { throw CleanRoomCryptoError.openSSLFailure(operation: "BN_bin2bn") }
        return bn
    }

    /// g^e mod m for 0 ≤ e < 2^exponentBits, written into `result`.
    func power(_ e: BigInteger, into result: BigInteger, variableTime: Bool) throws {
        precondition(variableTime, "fixed-base table lookups depend on the exponent")
        precondition(e.signum >= 0 && e.bitWidth <= exponentBits)
        guard let ctx = BN_CTX_new() else { throw CleanRoomCryptoError.openSSLFailure(operation: "BN_CTX_new") }
        defer { BN_CTX_free(ctx) }
        guard let acc = BN_new() else { throw CleanRoomCryptoError.openSSLFailure(operation: "BN_new") }
        defer { BN_clear_free(acc) }
        let perWindow = (1 << window) - 1
        var started = false
        let limbs = __gmpz_limbs_read(e.z)!
        let limbCount = Int(__gmpz_size(e.z))
        let digitMask = UInt64(perWindow)
        for i in 0..<windows {
            // bits [i·w, i·w + w) of e, which may straddle two limbs
            let bit = i * window
            let li = bit >> 6, shift = bit & 63
            var word = li < limbCount ? UInt64(limbs[li]) >> shift : 0
            if shift + window > 64, li + 1 < limbCount { word |= UInt64(limbs[li + 1]) << (64 - shift) }
            let d = Int(word & digitMask)
            if d == 0 { continue }
            let entry = table[i * perWindow + d - 1]
            if started {
                guard BN_mod_mul_montgomery(acc, acc, entry, mont, ctx) == 1 else {
                    throw CleanRoomCryptoError.openSSLFailure(operation: "BN_mod_mul_montgomery")
                }
            } else {
                guard BN_copy(acc, entry) != nil else { throw CleanRoomCryptoError.openSSLFailure(operation: "BN_copy") }
                started = true
            }
        }
        if !started {
            __gmpz_set_ui(result.z, 1)
            return
        }
        guard BN_from_montgomery(acc, acc, mont, ctx) == 1 else {
            throw CleanRoomCryptoError.openSSLFailure(operation: "BN_from_montgomery")
        }
        var bytes = [UInt8](repeating: 0, count: modulusBytes)
        defer { secureWipe(&bytes) }
        guard BN_bn2binpad(acc, &bytes, Int32(modulusBytes)) == Int32(modulusBytes) else {
            throw CleanRoomCryptoError.openSSLFailure(operation: "BN_bn2binpad")
        }
        bytes.withUnsafeBytes { __gmpz_import(result.z, modulusBytes, 1, 1, 1, 0, $0.baseAddress!) }
    }
}

/// g1^e mod m1 and g2^e mod m2 for one exponent, on AVX-512 IFMA (CCleanRoomShim's
/// fixed_base_ifma.c): 52-bit limbs, two Montgomery chains interleaved in one loop. About three
/// times faster per product than `FixedBaseTable` where the CPU has IFMA; `nil` elsewhere.
/// Variable-time in the exponent, like `FixedBaseTable`.
/// Thread safety: immutable after construction; `power` may run on many threads at once.
final class FixedBasePair: @unchecked Sendable {
    private let handle: OpaquePointer
    let exponentBits: Int

    /// Whether this CPU runs the IFMA kernel (and `CLEANROOM_DISABLE_IFMA` does not turn it off).
    static var isSupported: Bool { cr_fixed_base2_supported() == 1 }

    /// Returns nil when the CPU lacks IFMA or the moduli are larger than the kernel handles.
    init?(base1: BigInteger, modulus1: BigInteger, base2: BigInteger, modulus2: BigInteger, exponentBits: Int, window: Int) {
        precondition(window >= 1 && window <= 12 && exponentBits > 0 && modulus1.isOdd && modulus2.isOdd)
        let made = withExtendedLifetime((base1, modulus1, base2, modulus2)) {
            cr_fixed_base2_new(base1.z, modulus1.z, base2.z, modulus2.z, Int32(exponentBits), Int32(window))
        }
        guard let made else { return nil }
        handle = made
        self.exponentBits = exponentBits
    }

    deinit { cr_fixed_base2_free(handle) }

    /// out1 = f1·g1^e mod m1, out2 = f2·g2^e mod m2 for 0 ≤ e < 2^exponentBits and 0 ≤ f < m
    /// (the factors ride on the multiplication that leaves Montgomery form).
    func power(
        _ e: BigInteger, times f1: BigInteger = BigInteger(1), _ f2: BigInteger = BigInteger(1),
        into out1: BigInteger, _ out2: BigInteger
    ) {
        precondition(e.signum >= 0 && e.bitWidth <= exponentBits)
        withExtendedLifetime((e, f1, f2, out1, out2)) {
            cr_fixed_base2_power(handle, __gmpz_limbs_read(e.z), Int(__gmpz_size(e.z)), f1.z, f2.z, out1.z, out2.z)
        }
    }
}
