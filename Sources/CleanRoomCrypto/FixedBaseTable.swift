// Fixed-base exponentiation with a windowed table (the "fixed-base windowing" method, Menezes,
// van Oorschot, Vanstone, Handbook of Applied Cryptography, Algorithm 14.109 style comb over
// 2^w-ary digits): with T[i][d] = g^(d·2^(w·i)) mod m precomputed, g^e = Π_i T[i][e_i] needs
// one modular multiplication per nonzero w-bit digit of e and no squarings.
//
// Timing: the table entry read depends on each digit of the exponent, and zero digits are
// skipped, so memory access and time depend on the exponent (a co-resident cache observer can
// learn about it). Callers name this with `variableTime: true`.
// Thread safety: immutable after construction; `power` may run on many threads at once.
import CGMP

/// g^e mod m for a fixed g and m, exponents of at most `exponentBits` bits.
final class FixedBaseTable: @unchecked Sendable {
    let modulus: BigInteger
    let exponentBits: Int
    let window: Int
    let windows: Int
    /// Limbs per entry (the modulus size).
    let entryLimbs: Int
    /// windows × (2^w − 1) entries of `entryLimbs` limbs; entry (i, d) holds g^(d·2^(w·i)) mod m.
    private let table: UnsafeMutablePointer<mp_limb_t>
    private let tableCount: Int

    init(base: BigInteger, modulus: BigInteger, exponentBits: Int, window: Int) {
        precondition(window >= 1 && window <= 12 && exponentBits > 0)
        self.modulus = modulus
        self.exponentBits = exponentBits
        self.window = window
        self.windows = (exponentBits + window - 1) / window
        self.entryLimbs = Int(__gmpz_size(modulus.z))
        let perWindow = (1 << window) - 1
        tableCount = windows * perWindow * entryLimbs
        table = .allocate(capacity: tableCount)
        table.initialize(repeating: 0, count: tableCount)
        let acc = BigInteger()
        // gi = g^(2^(w·i)) for the current window i
        let gi = BigInteger { __gmpz_mod($0, base.z, modulus.z) }
        withExtendedLifetime((acc, gi)) { fill(acc: acc, gi: gi, perWindow: perWindow) }
    }

    private func fill(acc: BigInteger, gi: BigInteger, perWindow: Int) {
        for i in 0..<windows {
            __gmpz_set(acc.z, gi.z)
            for d in 1...perWindow {
                if d > 1 {
                    __gmpz_mul(acc.z, acc.z, gi.z)
                    __gmpz_mod(acc.z, acc.z, modulus.z)
                }
                store(acc, at: entryOffset(window: i, digit: d))
            }
            // next gi = gi^(2^w) = acc · gi
            __gmpz_mul(gi.z, acc.z, gi.z)
            __gmpz_mod(gi.z, gi.z, modulus.z)
        }
    }

    deinit {
        secureWipe(UnsafeMutableRawBufferPointer(start: table, count: tableCount * MemoryLayout<mp_limb_t>.size))
        table.deallocate()
    }

    private func entryOffset(window i: Int, digit d: Int) -> Int { (i * ((1 << window) - 1) + (d - 1)) * entryLimbs }

    private func store(_ v: BigInteger, at offset: Int) {
        let size = Int(__gmpz_size(v.z))
        let limbs = __gmpz_limbs_read(v.z)!
        for k in 0..<entryLimbs { table[offset + k] = k < size ? limbs[k] : 0 }
    }

    /// g^e mod m for 0 ≤ e < 2^exponentBits, into `result`; `scratch` is a caller-owned temporary.
    func power(_ e: BigInteger, into result: BigInteger, scratch: BigInteger, variableTime: Bool) {
        precondition(variableTime, "fixed-base table lookups depend on the exponent")
        precondition(e.signum >= 0 && e.bitWidth <= exponentBits)
        __gmpz_set_ui(result.z, 1)
        var view = __mpz_struct()
        for i in 0..<windows {
            var d = 0
            for b in 0..<window where i * window + b < exponentBits {
                d |= Int(__gmpz_tstbit(e.z, mp_bitcnt_t(i * window + b))) << b
            }
            if d == 0 { continue }
            _ = __gmpz_roinit_n(&view, table + entryOffset(window: i, digit: d), mp_size_t(entryLimbs))
            __gmpz_mul(scratch.z, result.z, &view)
            __gmpz_tdiv_r(result.z, scratch.z, modulus.z)
        }
    }
}
