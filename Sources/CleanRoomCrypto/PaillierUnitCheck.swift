// The unit check on a stream of Paillier ciphertexts from the key owner: every ciphertext c must
// satisfy gcd(c, n) = 1. A ciphertext with a factor of n in it survives homomorphic addition,
// re-randomisation by r^n and masking, so a key owner could plant one for a target identifier and
// read from the decrypted sum (gcd(sum, n) > 1) whether that identifier was added, that is, whether
// it matched. The check multiplies every ciphertext of the stream into a running product mod n,
// matched or not, and takes one gcd at the end: about a microsecond per ciphertext, and the same
// work whatever matched, so the abort it causes reveals no membership.
import CGMP

/// Accumulates ciphertexts of one key and tells whether all of them were units mod n.
/// Not thread-safe; feed it from one thread. (Its two working integers are private and mutated in
/// place, unlike every other `BigInteger`.)
public final class PaillierUnitCheck {
    private let key: PaillierPublicKey
    private let product = BigInteger(1)
    private let scratch = BigInteger()
    private let one = BigInteger(1)
    /// Ciphertexts multiplied in so far.
    public private(set) var count = 0

    public init(key: PaillierPublicKey) { self.key = key }

    /// Multiplies in one ciphertext (big-endian bytes, already range-checked with `checkRange`).
    public func add(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        __gmpz_import(scratch.z, bytes.count, 1, 1, 1, 0, base)
        __gmpz_mul(product.z, product.z, scratch.z)
        __gmpz_mod(product.z, product.z, key.n.z)
        count += 1
    }

    /// True when every ciphertext added was a unit mod n (gcd(product, n) = 1).
    public var allUnits: Bool {
        __gmpz_gcd(scratch.z, product.z, key.n.z)
        return __gmpz_cmp(scratch.z, one.z) == 0
    }
}
