// Arbitrary-precision integers on GNU MP (https://gmplib.org/manual/Integer-Functions).
// Thread safety: a BigInteger is immutable once built, so it may be shared across threads.
// Every limb is wiped before release (and GMP's own reallocations go through a wiping
// allocator installed by CCleanRoomShim), so secret values leave no copies behind.
import CCleanRoomShim
import CGMP
import COpenSSL

/// Installs the wiping GMP allocator before the first GMP allocation of the process.
let gmpWipingAllocator: Void = cr_gmp_install_wiping_allocator()

/// An immutable arbitrary-precision signed integer owning a GMP `mpz_t`.
///
/// Arithmetic that depends on secret exponents uses `mpz_powm_sec`; methods that leak timing
/// say so (`variableTime`).
public final class BigInteger: @unchecked Sendable {
    @usableFromInline let z: UnsafeMutablePointer<__mpz_struct>

    /// A new integer equal to zero.
    public init() {
        _ = gmpWipingAllocator
        z = .allocate(capacity: 1)
        __gmpz_init(z)
    }

    /// A new integer holding a machine integer.
    public convenience init(_ value: Int) {
        self.init()
        __gmpz_set_si(z, value)
    }

    /// A new integer holding an unsigned machine integer.
    public convenience init(_ value: UInt64) {
        self.init()
        __gmpz_set_ui(z, UInt(value))
    }

    /// Builds an integer in place; `body` receives the fresh `mpz_ptr`.
    @usableFromInline convenience init(_ body: (UnsafeMutablePointer<__mpz_struct>) -> Void) {
        self.init()
        body(z)
    }

    /// The non-negative integer whose big-endian encoding is `bytes` (empty means zero).
    public convenience init(bigEndian bytes: UnsafeRawBufferPointer) {
        self.init()
        if let base = bytes.baseAddress, bytes.count > 0 {
            __gmpz_import(z, bytes.count, 1, 1, 1, 0, base)
        }
    }

    /// The non-negative integer whose big-endian encoding is `bytes`.
    public convenience init(bigEndian bytes: [UInt8]) {
        self.init()
        bytes.withUnsafeBytes { raw in
            if let base = raw.baseAddress, raw.count > 0 {
                __gmpz_import(z, raw.count, 1, 1, 1, 0, base)
            }
        }
    }

    /// The value of an OpenSSL BIGNUM (non-negative, at most `bytes` bytes).
    convenience init(bignum: OpaquePointer, bytes: Int) throws {
        var buffer = [UInt8](repeating: 0, count: bytes)
        defer { secureWipe(&buffer) }
        guard BN_bn2binpad(bignum, &buffer, Int32(bytes)) == Int32(bytes) else {
            throw CleanRoomCryptoError.openSSLFailure(operation: "BN_bn2binpad")
        }
        self.init(bigEndian: buffer)
    }

    /// Parses hexadecimal digits (no prefix, optional leading `-`); nil when malformed.
    public convenience init?(hex: String) {
        self.init(string: hex, base: 16)
    }

    /// Parses decimal digits (optional leading `-`); nil when malformed.
    public convenience init?(decimal: String) {
        self.init(string: decimal, base: 10)
    }

    convenience init?(string: String, base: Int32) {
        let allowed: Set<Character> =
            base == 16
            ? Set("0123456789abcdefABCDEF") : Set("0123456789")
        var body = Substring(string)
        if body.first == "-" { body = body.dropFirst() }
        guard !body.isEmpty, body.allSatisfy({ allowed.contains($0) }) else { return nil }
        self.init()
        guard __gmpz_set_str(z, string, base) == 0 else { return nil }
    }

    deinit {
        cr_mpz_wipe(z)
        __gmpz_clear(z)
        z.deallocate()
    }

    // MARK: Properties

    /// -1, 0 or 1.
    public var signum: Int { Int(z.pointee._mp_size.signum()) }
    /// True when the value is zero.
    public var isZero: Bool { z.pointee._mp_size == 0 }
    /// True when the value is odd.
    public var isOdd: Bool { __gmpz_tstbit(z, 0) == 1 }
    /// Number of bits in the absolute value (0 for zero).
    public var bitWidth: Int { isZero ? 0 : Int(__gmpz_sizeinbase(z, 2)) }
    /// Lowercase hexadecimal (with `-` when negative).
    public var hexString: String { string(base: 16) }

    func string(base: Int32) -> String {
        let size = Int(__gmpz_sizeinbase(z, base)) + 2
        var buffer = [CChar](repeating: 0, count: size + 1)
        __gmpz_get_str(&buffer, base, z)
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The value as `Int` when it fits.
    public var intValue: Int? {
        guard __gmpz_fits_slong_p(z) != 0 else { return nil }
        return __gmpz_get_si(z)
    }

    /// Big-endian encoding of a non-negative value in exactly `width` bytes.
    /// - Throws: `plaintextOutOfRange` when negative or wider than `width`.
    public func bigEndianBytes(width: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: width)
        try out.withUnsafeMutableBytes { try writeBigEndian(into: $0) }
        return out
    }

    /// Writes the big-endian encoding of a non-negative value into all of `buffer`.
    public func writeBigEndian(into buffer: UnsafeMutableRawBufferPointer) throws {
        guard signum >= 0 else {
            throw CleanRoomCryptoError.plaintextOutOfRange(reason: "negative value cannot be encoded")
        }
        let needed = (bitWidth + 7) / 8
        guard needed <= buffer.count else {
            throw CleanRoomCryptoError.wrongLength(what: "integer encoding", got: needed, expected: buffer.count)
        }
        guard buffer.count > 0 else { return }
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        if needed > 0 {
            var written = 0
            __gmpz_export(buffer.baseAddress! + (buffer.count - needed), &written, 1, 1, 1, 0, z)
        }
    }

    // MARK: Arithmetic (variable time unless stated)

    public static func + (a: BigInteger, b: BigInteger) -> BigInteger { BigInteger { __gmpz_add($0, a.z, b.z) } }
    public static func - (a: BigInteger, b: BigInteger) -> BigInteger { BigInteger { __gmpz_sub($0, a.z, b.z) } }
    public static func * (a: BigInteger, b: BigInteger) -> BigInteger { BigInteger { __gmpz_mul($0, a.z, b.z) } }
    public static prefix func - (a: BigInteger) -> BigInteger { BigInteger { __gmpz_neg($0, a.z) } }

    /// The least non-negative residue of `self` modulo `m` (m > 0).
    public func mod(_ m: BigInteger) -> BigInteger {
        precondition(m.signum > 0, "modulus must be positive")
        return BigInteger { __gmpz_mod($0, self.z, m.z) }
    }

    /// Floor division by a positive divisor.
    public func dividedFloor(by d: BigInteger) -> BigInteger {
        precondition(d.signum > 0, "divisor must be positive")
        return BigInteger { __gmpz_fdiv_q($0, self.z, d.z) }
    }

    /// `self << bits`.
    public func shiftedLeft(_ bits: Int) -> BigInteger { BigInteger { __gmpz_mul_2exp($0, self.z, mp_bitcnt_t(bits)) } }
    /// `self >> bits` (floor).
    public func shiftedRight(_ bits: Int) -> BigInteger { BigInteger { __gmpz_fdiv_q_2exp($0, self.z, mp_bitcnt_t(bits)) } }
    /// The low `bits` bits of a non-negative value.
    public func lowBits(_ bits: Int) -> BigInteger { BigInteger { __gmpz_fdiv_r_2exp($0, self.z, mp_bitcnt_t(bits)) } }

    /// `self^e mod m` for a public exponent; variable time in `e` (`mpz_powm`).
    public func power(_ e: BigInteger, modulus m: BigInteger, variableTime: Bool) -> BigInteger {
        precondition(variableTime, "use powerSecret for secret exponents")
        return BigInteger { __gmpz_powm($0, self.z, e.z, m.z) }
    }

    /// `self^e mod m` for a secret exponent e > 0 and odd modulus, with `mpz_powm_sec`
    /// (its time and memory accesses do not depend on `e` or `self`).
    public func powerSecret(_ e: BigInteger, modulus m: BigInteger) -> BigInteger {
        precondition(e.signum > 0 && m.isOdd, "mpz_powm_sec needs e > 0 and an odd modulus")
        return BigInteger { __gmpz_powm_sec($0, self.z, e.z, m.z) }
    }

    /// The inverse modulo `m`, or nil when none exists.
    public func inverse(modulus m: BigInteger) -> BigInteger? {
        let r = BigInteger()
        return __gmpz_invert(r.z, self.z, m.z) != 0 ? r : nil
    }

    /// True when GMP's `mpz_probab_prime_p` with `rounds` Miller–Rabin rounds calls the value prime.
    func isProbablePrime(rounds: Int32 = 40) -> Bool { __gmpz_probab_prime_p(z, rounds) != 0 }

    /// Greatest common divisor.
    public static func gcd(_ a: BigInteger, _ b: BigInteger) -> BigInteger { BigInteger { __gmpz_gcd($0, a.z, b.z) } }

    /// A uniformly random integer in `[0, bound)` (rejection sampling; default source OpenSSL).
    public static func random(below bound: BigInteger, using source: some RandomSource = SecureRandom.system) throws -> BigInteger {
        precondition(bound.signum > 0, "bound must be positive")
        // Candidates of exactly as many bits as bound − 1 (so a power-of-two bound never rejects).
        let bits = max((bound - BigInteger(1)).bitWidth, 1)
        let bytes = (bits + 7) / 8
        let topMask: UInt8 = bits % 8 == 0 ? 0xff : UInt8((1 << (bits % 8)) - 1)
        var buffer = [UInt8](repeating: 0, count: bytes)
        defer { secureWipe(&buffer) }
        while true {
            try buffer.withUnsafeMutableBytes { try source.fill($0) }
            buffer[0] &= topMask
            let candidate = BigInteger(bigEndian: buffer)
            if candidate < bound { return candidate }
        }
    }

    /// A uniformly random unit of Z*_n in [1, n).
    public static func randomUnit(modulus n: BigInteger, using source: some RandomSource = SecureRandom.system) throws -> BigInteger {
        let one = BigInteger(1)
        while true {
            let r = try random(below: n, using: source)
            if !r.isZero && gcd(r, n) == one { return r }
        }
    }
}

extension BigInteger: Comparable, Equatable, Hashable, CustomStringConvertible {
    public static func == (a: BigInteger, b: BigInteger) -> Bool { __gmpz_cmp(a.z, b.z) == 0 }
    public static func < (a: BigInteger, b: BigInteger) -> Bool { __gmpz_cmp(a.z, b.z) < 0 }
    public func hash(into hasher: inout Hasher) { hasher.combine(hexString) }
    /// Decimal representation.
    public var description: String { string(base: 10) }
}

extension BigInteger {
    /// True when GMP allocates through CleanRoom's wiping allocator (installed on first use of
    /// `BigInteger`), so that limbs GMP frees or moves are overwritten first.
    public static var gmpAllocatorWipes: Bool {
        _ = gmpWipingAllocator
        return cr_gmp_wiping_allocator_installed() == 1
    }
}
