// The unit check on a stream of Paillier ciphertexts from the key owner: every ciphertext c must
// satisfy gcd(c, n) = 1. A ciphertext with a factor of n in it survives homomorphic addition,
// re-randomisation by r^n and masking, so a key owner could plant one for a target identifier and
// read from the decrypted sum (gcd(sum, n) > 1) whether that identifier was added, that is, whether
// it matched. The check multiplies every ciphertext of the stream into a running product mod n,
// matched or not, and takes one gcd at the end: the same work whatever matched, so the abort it
// causes reveals no membership.
//
// Cost: two Montgomery operations per ciphertext on OpenSSL's BN (assembly), no division. A
// ciphertext c < n² < n·R (R = 2^bits(n)) is brought below n by one Montgomery reduction,
// REDC(c) = c·R⁻¹ mod n, and multiplied in with BN_mod_mul_montgomery, which adds another R⁻¹.
// R is a power of two and n is odd, so these factors are units and the gcd with n is unchanged.
import COpenSSL

/// Accumulates ciphertexts of one key and tells whether all of them were units mod n.
/// Not thread-safe; feed it from one thread.
public final class PaillierUnitCheck {
    private let mont: OpaquePointer
    private let ctx: OpaquePointer
    private let n: OpaquePointer
    private let product: OpaquePointer
    private let value: OpaquePointer
    private let reduced: OpaquePointer
    private var failed = false
    /// Ciphertexts multiplied in so far.
    public private(set) var count = 0

    /// - Throws: `openSSLFailure` when OpenSSL cannot allocate the context.
    public init(key: PaillierPublicKey) throws {
        guard let ctx = BN_CTX_new(), let mont = BN_MONT_CTX_new(), let n = BN_new(), let product = BN_new(), let value = BN_new(),
            let reduced = BN_new()
        else { throw CleanRoomCryptoError.openSSLFailure(operation: "BN_new") }
        (self.ctx, self.mont, self.n, self.product, self.value, self.reduced) = (ctx, mont, n, product, value, reduced)
        let bytes = try key.n.bigEndianBytes(width: key.modulusBytes)
        guard bytes.withUnsafeBytes({ BN_bin2bn($0.bindMemory(to: UInt8.self).baseAddress, Int32($0.count), n) }) != nil,
            BN_MONT_CTX_set(mont, n, ctx) == 1, BN_set_word(product, 1) == 1
        else { throw CleanRoomCryptoError.openSSLFailure(operation: "BN_MONT_CTX_set") }
    }

    deinit {
        for bn in [n, product, value, reduced] { BN_free(bn) }
        BN_MONT_CTX_free(mont)
        BN_CTX_free(ctx)
    }

    /// Multiplies in one ciphertext (big-endian bytes, already range-checked with `checkRange`,
    /// so below n²).
    public func add(_ bytes: UnsafeRawBufferPointer) {
        count += 1
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0,
            BN_bin2bn(base, Int32(bytes.count), value) != nil,
            BN_from_montgomery(reduced, value, mont, ctx) == 1,
            BN_mod_mul_montgomery(product, product, reduced, mont, ctx) == 1
        else {
            failed = true
            return
        }
    }

    /// True when every ciphertext added was a unit mod n (gcd(product, n) = 1).
    public var allUnits: Bool {
        guard !failed, BN_gcd(value, product, n, ctx) == 1 else { return false }
        return BN_is_one(value) == 1
    }
}
