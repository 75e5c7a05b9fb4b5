import CCleanRoomShim
// RFC 9497, "Oblivious Pseudorandom Functions (OPRFs) Using Prime-Order Groups": the OPRF mode
// (modeOPRF = 0x00; not VOPRF, not POPRF) with the suite OPRF(ristretto255, SHA-512), §4.1.
//
//   HashToGroup   hash_to_ristretto255 (RFC 9380 Appendix B, RFC 9496 §4.3.4): our
//                 expand_message_xmd (SHA-512, 64 bytes, DST "HashToGroup-" ‖ contextString), then
//                 libsodium's one-way map crypto_core_ristretto255_from_hash
//   DeriveKeyPair §3.2.1, HashToScalar with DST "DeriveKeyPair" ‖ contextString
//   Blind, BlindEvaluate, Finalize, Evaluate   §3.3.1
//   elements      RFC 9496 encodings, 32 bytes; scalars 32 bytes little-endian, below the order ℓ
//
// Group arithmetic is libsodium's (ref10: scalar multiplication, inversion and the map run in
// constant time). Randomness comes only from a `RandomSource` (OpenSSL's RAND_priv_bytes in
// sessions), never from libsodium's generator. Every element received from the peer is checked
// before use: bit 255 clear (libsodium 1.0.18 ignores it), a canonical encoding of a group element
// (crypto_core_ristretto255_is_valid_point refuses every RFC 9496 Appendix A.2 encoding) and not
// the identity, which §4.1 forbids. Secret
// scalars live in buffers wiped with sodium_memzero on release.
//
// Thread safety: `OPRFServerKey` and `OPRFClientBatch` are immutable after initialisation and may be
// shared; each call allocates its own scratch and digest context.
import COpenSSL
import CSodium

/// Constants and group helpers of the suite OPRF(ristretto255, SHA-512), RFC 9497 §4.1.
public enum OPRFRistretto255 {
    /// The suite identifier of RFC 9497 §4.1.
    public static let suiteIdentifier = "ristretto255-SHA512"
    /// modeOPRF (RFC 9497 §3.1). VOPRF and POPRF are not implemented.
    public static let mode: UInt8 = 0x00
    /// contextString = "OPRFV1-" ‖ I2OSP(mode, 1) ‖ "-" ‖ identifier (RFC 9497 §3.1).
    public static let contextString: [UInt8] = Array("OPRFV1-".utf8) + [mode] + Array("-".utf8) + Array(suiteIdentifier.utf8)
    /// Ne: bytes of a serialized element.
    public static let elementBytes = 32
    /// Ns: bytes of a serialized scalar.
    public static let scalarBytes = 32
    /// Nh: bytes of an OPRF output (SHA-512).
    public static let outputBytes = 64
    /// The longest input: RFC 9497 §5.1 requires inputs shorter than 2¹⁶ − 1 bytes (Finalize
    /// encodes the length in two bytes).
    public static let maxInputBytes = 65534

    static let hashToGroupDST: [UInt8] = Array("HashToGroup-".utf8) + contextString
    static let deriveKeyPairDST: [UInt8] = Array("DeriveKeyPair".utf8) + contextString
    static let finalizeLabel: [UInt8] = Array("Finalize".utf8)

    /// libsodium is initialised once. Its ristretto255 code keeps no state; `sodium_init` only picks
    /// implementations (its random generator is never used here).
    private static let sodiumReady: Bool = sodium_init() >= 0

    static func requireSodium() throws {
        guard sodiumReady else { throw CleanRoomCryptoError.libsodiumFailure(operation: "sodium_init") }
    }

    // MARK: Elements

    /// HashToGroup(input) of RFC 9497 §4.1: the 32-byte encoding of hash_to_ristretto255(input).
    /// - Throws: `invalidOPRFInput` when the input is too long or maps to the identity.
    public static func hashToGroup(_ input: [UInt8]) throws -> [UInt8] {
        try requireSodium()
        var out = [UInt8](repeating: 0, count: elementBytes)
        let xmd = try ExpandMessageXMD(hash: .sha512, dst: hashToGroupDST)
        try out.withUnsafeMutableBytes { try hashToGroup(input, index: 0, xmd: xmd, into: $0) }
        return out
    }

    /// HashToGroup into `output` (32 bytes), with a caller's expand_message_xmd context.
    static func hashToGroup(_ input: [UInt8], index: Int, xmd: ExpandMessageXMD, into output: UnsafeMutableRawBufferPointer) throws {
        guard input.count <= maxInputBytes else {
            throw CleanRoomCryptoError.invalidOPRFInput(index: index, reason: "\(input.count) bytes, at most \(maxInputBytes)")
        }
        var uniform = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        try withUnsafeMutableBytes(of: &uniform) { u in
            defer { sodium_memzero(u.baseAddress, u.count) }
            try input.withUnsafeBytes { try xmd.expand($0, into: u) }
            guard
                crypto_core_ristretto255_from_hash(
                    output.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    u.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 0
            else { throw CleanRoomCryptoError.libsodiumFailure(operation: "crypto_core_ristretto255_from_hash") }
        }
        guard sodium_is_zero(output.baseAddress!.assumingMemoryBound(to: UInt8.self), elementBytes) == 0 else {
            throw CleanRoomCryptoError.invalidOPRFInput(index: index, reason: "hashes to the identity element")
        }
    }

    /// DeserializeElement's checks (RFC 9497 §4.1) on one 32-byte encoding from the peer: a canonical
    /// ristretto255 encoding (RFC 9496 §4.3.1) and not the identity.
    /// - Throws: `invalidGroupElement(index:reason:)`.
    public static func validateElement(_ element: UnsafeRawBufferPointer, index: Int) throws {
        guard element.count == elementBytes else {
            throw CleanRoomCryptoError.invalidGroupElement(index: index, reason: "\(element.count) bytes, expected \(elementBytes)")
        }
        let p = element.baseAddress!.assumingMemoryBound(to: UInt8.self)
        // libsodium 1.0.18 masks bit 255 before its canonicity check, so it accepts an encoding
        // with that bit set as a second encoding of the same element (found by
        // Vectors/oprf_ristretto255_sha512_cleanroom.json, case "top-bit"). RFC 9496 §4.3.1
        // requires s < p, which bit 255 set can never be.
        guard p[31] & 0x80 == 0 else {
            throw CleanRoomCryptoError.invalidGroupElement(index: index, reason: "not a canonical encoding (bit 255 set)")
        }
        guard crypto_core_ristretto255_is_valid_point(p) == 1 else {
            throw CleanRoomCryptoError.invalidGroupElement(index: index, reason: "not a canonical encoding of a group element")
        }
        // The identity's only canonical encoding is 32 zero bytes.
        guard sodium_is_zero(p, elementBytes) == 0 else {
            throw CleanRoomCryptoError.invalidGroupElement(index: index, reason: "the identity element")
        }
    }

    /// scalar · element for a 32-byte element from the peer, with the checks of `validateElement`
    /// folded into the multiplication: bit 255 and the identity are checked on the bytes, and
    /// `crypto_scalarmult_ristretto255` decodes the element itself and fails on every encoding
    /// `crypto_core_ristretto255_is_valid_point` refuses (the same `ristretto255_frombytes`), so
    /// the element is decoded once instead of twice. `scalar` must be a nonzero canonical scalar:
    /// the product of a non-identity element of the prime-order group is then never the identity.
    /// - Throws: `invalidGroupElement(index:reason:)`.
    static func multiplyPeerElement(
        _ element: UnsafeRawBufferPointer, index: Int, by scalar: UnsafePointer<UInt8>, into output: UnsafeMutablePointer<UInt8>
    ) throws {
        guard element.count == elementBytes else {
            throw CleanRoomCryptoError.invalidGroupElement(index: index, reason: "\(element.count) bytes, expected \(elementBytes)")
        }
        let p = element.baseAddress!.assumingMemoryBound(to: UInt8.self)
        guard p[31] & 0x80 == 0 else {
            throw CleanRoomCryptoError.invalidGroupElement(index: index, reason: "not a canonical encoding (bit 255 set)")
        }
        guard sodium_is_zero(p, elementBytes) == 0 else {
            throw CleanRoomCryptoError.invalidGroupElement(index: index, reason: "the identity element")
        }
        guard crypto_scalarmult_ristretto255(output, scalar, p) == 0 else {
            throw CleanRoomCryptoError.invalidGroupElement(index: index, reason: "not a canonical encoding of a group element")
        }
    }

    /// Checks every 32-byte element of a batch from the peer (`validateElement`).
    /// - Throws: `wrongLength` when the batch is not whole elements; `invalidGroupElement` for the
    ///   first bad one.
    public static func validateElements(_ batch: UnsafeRawBufferPointer) throws {
        guard batch.count % elementBytes == 0 else {
            throw CleanRoomCryptoError.wrongLength(what: "ristretto255 element batch", got: batch.count, expected: batch.count / 32 * 32)
        }
        for i in 0..<(batch.count / elementBytes) {
            try validateElement(UnsafeRawBufferPointer(rebasing: batch[(i * elementBytes)..<((i + 1) * elementBytes)]), index: i)
        }
    }

    /// Finalize's hash (`finalizeHash`) of each input with its element, the elements computed by
    /// `products` into a scratch buffer of `inputs.count × 32` bytes that is wiped afterwards (the
    /// elements are the unblinded PRF points, secret). Outputs are 64 bytes each, in input order.
    static func finalizeProducts(
        of inputs: [[UInt8]], into output: UnsafeMutableRawBufferPointer, products: (UnsafeMutablePointer<UInt8>) throws -> Void
    ) throws {
        guard !inputs.isEmpty else { return }
        let digest = try FinalizeDigest()
        let elements = UnsafeMutableRawBufferPointer.allocate(byteCount: inputs.count * elementBytes, alignment: 8)
        defer {
            sodium_memzero(elements.baseAddress, elements.count)
            elements.deallocate()
        }
        try products(elements.baseAddress!.assumingMemoryBound(to: UInt8.self))
        for (i, input) in inputs.enumerated() {
            try finalizeHash(
                input: input, element: UnsafeRawBufferPointer(rebasing: elements[(i * elementBytes)..<((i + 1) * elementBytes)]),
                digest: digest, into: UnsafeMutableRawBufferPointer(rebasing: output[(i * outputBytes)..<((i + 1) * outputBytes)]))
        }
    }

    /// Lanes per call of the IFMA kernels (ristretto255_ifma.c).
    static let lanes = 8

    /// scalar_i · element_i for `elements.count / 32` consecutive elements from the peer, with the
    /// checks of `validateElement`, where scalar_i is the 32 bytes at `scalars + i·scalarStride`
    /// (stride 0: one scalar for all). On AVX-512 IFMA (when `accelerated`) eight at a time through
    /// `cr_r255_mul8`, otherwise one at a time through `multiplyPeerElement`; the bytes are the
    /// same. A bad element is reported by `multiplyPeerElement` in both cases, so the error (first
    /// bad index and reason) is the same; outputs before it are written.
    /// - Throws: `invalidGroupElement(index:reason:)`.
    static func multiplyPeerElements(
        _ elements: UnsafeRawBufferPointer, scalars: UnsafePointer<UInt8>, scalarStride: Int, into output: UnsafeMutablePointer<UInt8>,
        accelerated: Bool
    ) throws {
        let n = elements.count / elementBytes
        guard accelerated, X25519Lanes.isAvailable else {
            for i in 0..<n {
                try multiplyPeerElement(
                    UnsafeRawBufferPointer(rebasing: elements[(i * 32)..<((i + 1) * 32)]), index: i, by: scalars + i * scalarStride,
                    into: output + 32 * i)
            }
            return
        }
        // points (8 × 32), products (8 × 32), gathered scalars (8 × 32)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 3 * 32 * lanes, alignment: 64)
        defer {
            sodium_memzero(scratch.baseAddress, scratch.count)
            scratch.deallocate()
        }
        let points = scratch.baseAddress!.assumingMemoryBound(to: UInt8.self), products = points + 32 * lanes,
            gathered = products + 32 * lanes
        let input = elements.baseAddress!.assumingMemoryBound(to: UInt8.self)
        for start in stride(from: 0, to: n, by: lanes) {
            let m = min(lanes, n - start)
            for i in 0..<lanes {
                let j = start + min(i, m - 1)
                (points + 32 * i).update(from: input + 32 * j, count: 32)
                if scalarStride != 0 { (gathered + 32 * i).update(from: scalars + scalarStride * j, count: 32) }
            }
            let invalid = cr_r255_mul8(products, points, scalarStride == 0 ? scalars : UnsafePointer(gathered), scalarStride == 0 ? 0 : 32)
            guard invalid >= 0 else { throw CleanRoomCryptoError.unsupportedParameter(what: "the IFMA kernel became unavailable") }
            let real = Int(invalid) & ((1 << m) - 1)
            let good = real == 0 ? m : real.trailingZeroBitCount
            (output + 32 * start).update(from: products, count: 32 * good)
            if good < m {
                let i = start + good
                try multiplyPeerElement(
                    UnsafeRawBufferPointer(rebasing: elements[(i * 32)..<((i + 1) * 32)]), index: i, by: scalars + i * scalarStride,
                    into: output + 32 * i)
                throw CleanRoomCryptoError.libsodiumFailure(operation: "element \(i): the IFMA kernel refused what libsodium accepts")
            }
        }
    }

    /// scalar_i · HashToGroup(inputs[i]) for every input, into `output` (32 bytes each), scalars as
    /// in `multiplyPeerElements`. On AVX-512 IFMA eight at a time through `cr_r255_hash_mul8`
    /// (the one-way map and the multiplication in one pass), otherwise HashToGroup and libsodium.
    /// Every scalar must be canonical and nonzero.
    /// - Throws: `invalidOPRFInput` for an input too long or hashing to the identity. With several
    ///   bad inputs the index reported is the first too-long one, or else the first hashing to
    ///   the identity; on the kernel path a too-long input later in the same group of eight is
    ///   reported before an earlier identity hash (which needs an expand_message_xmd preimage of
    ///   one of two known field elements, so it is never seen in practice).
    static func hashAndMultiply(
        _ inputs: [[UInt8]], scalars: UnsafePointer<UInt8>, scalarStride: Int, into output: UnsafeMutablePointer<UInt8>, accelerated: Bool
    ) throws {
        let xmd = try ExpandMessageXMD(hash: .sha512, dst: hashToGroupDST)
        guard accelerated, X25519Lanes.isAvailable else {
            var point = [UInt8](repeating: 0, count: elementBytes)  // HashToGroup of a private input
            defer { sodium_memzero(&point, elementBytes) }
            for (i, input) in inputs.enumerated() {
                try point.withUnsafeMutableBytes { try hashToGroup(input, index: i, xmd: xmd, into: $0) }
                guard crypto_scalarmult_ristretto255(output + 32 * i, scalars + i * scalarStride, point) == 0 else {
                    throw CleanRoomCryptoError.libsodiumFailure(operation: "crypto_scalarmult_ristretto255")
                }
            }
            return
        }
        // uniform strings (8 × 64), gathered scalars (8 × 32), products (8 × 32)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 128 * lanes, alignment: 64)
        defer {
            sodium_memzero(scratch.baseAddress, scratch.count)
            scratch.deallocate()
        }
        let uniform = scratch.baseAddress!.assumingMemoryBound(to: UInt8.self), gathered = uniform + 64 * lanes
        let products = gathered + 32 * lanes
        for start in stride(from: 0, to: inputs.count, by: lanes) {
            let m = min(lanes, inputs.count - start)
            for i in 0..<lanes {
                let j = start + min(i, m - 1)
                if i < m {
                    guard inputs[j].count <= maxInputBytes else {
                        throw CleanRoomCryptoError.invalidOPRFInput(index: j, reason: "\(inputs[j].count) bytes, at most \(maxInputBytes)")
                    }
                    try inputs[j].withUnsafeBytes {
                        try xmd.expand($0, into: UnsafeMutableRawBufferPointer(start: uniform + 64 * i, count: 64))
                    }
                } else {
                    (uniform + 64 * i).update(from: uniform + 64 * (m - 1), count: 64)
                }
                if scalarStride != 0 { (gathered + 32 * i).update(from: scalars + scalarStride * j, count: 32) }
            }
            let zero = cr_r255_hash_mul8(
                products, uniform, scalarStride == 0 ? scalars : UnsafePointer(gathered), scalarStride == 0 ? 0 : 32)
            guard zero >= 0 else { throw CleanRoomCryptoError.unsupportedParameter(what: "the IFMA kernel became unavailable") }
            let real = Int(zero) & ((1 << m) - 1)
            guard real == 0 else {
                throw CleanRoomCryptoError.invalidOPRFInput(
                    index: start + real.trailingZeroBitCount, reason: "hashes to the identity element")
            }
            (output + 32 * start).update(from: products, count: 32 * m)
        }
    }

    /// k·B for a canonical scalar k (B the ristretto255 generator). For vectors: the result of
    /// k = 0 is the identity, which libsodium reports as a failure and this returns as 32 zeros.
    package static func scalarMultBase(_ scalar: [UInt8]) throws -> [UInt8] {
        try requireSodium()
        guard scalar.count == scalarBytes else { throw CleanRoomCryptoError.wrongLength(what: "scalar", got: scalar.count, expected: 32) }
        var out = [UInt8](repeating: 0, count: elementBytes)
        if crypto_scalarmult_ristretto255_base(&out, scalar) != 0 { return [UInt8](repeating: 0, count: elementBytes) }
        return out
    }

    /// The one-way map of RFC 9496 §4.3.4 on 64 bytes (libsodium's crypto_core_ristretto255_from_hash).
    package static func elementFromUniformBytes(_ bytes: [UInt8]) throws -> [UInt8] {
        try requireSodium()
        guard bytes.count == 64 else { throw CleanRoomCryptoError.wrongLength(what: "uniform bytes", got: bytes.count, expected: 64) }
        var out = [UInt8](repeating: 0, count: elementBytes)
        guard crypto_core_ristretto255_from_hash(&out, bytes) == 0 else {
            throw CleanRoomCryptoError.libsodiumFailure(operation: "crypto_core_ristretto255_from_hash")
        }
        return out
    }

    // MARK: Scalars

    /// Whether 32 bytes are a canonical scalar (below ℓ) that is not zero. Constant time: the value
    /// is reduced modulo ℓ and compared with `sodium_memcmp`.
    static func isCanonicalNonzeroScalar(_ s: UnsafeRawBufferPointer) -> Bool {
        guard s.count == scalarBytes else { return false }
        // 64 bytes of stack for the widened value, then 32 for the reduced one: no allocation.
        var wide = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        var reduced = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &wide) { w in
            withUnsafeMutableBytes(of: &reduced) { r in
                defer {
                    sodium_memzero(w.baseAddress, w.count)
                    sodium_memzero(r.baseAddress, r.count)
                }
                w.copyMemory(from: s)
                let out = r.baseAddress!.assumingMemoryBound(to: UInt8.self)
                crypto_core_ristretto255_scalar_reduce(out, w.baseAddress!.assumingMemoryBound(to: UInt8.self))
                let canonical = sodium_memcmp(out, s.baseAddress!, scalarBytes) == 0
                let zero = sodium_is_zero(out, scalarBytes) == 1
                return canonical && !zero
            }
        }
    }

    /// RandomScalar (RFC 9497 §4.7.2, with 64 bytes where L = 48 would do): 64 bytes from `source`
    /// reduced modulo ℓ (bias below 2⁻²⁵⁹),
    /// drawn again in the negligible event of zero. Writes 32 bytes into `output`.
    static func randomScalar(into output: UnsafeMutableRawBufferPointer, using source: some RandomSource) throws {
        var wide = [UInt8](repeating: 0, count: 64)
        defer { sodium_memzero(&wide, 64) }
        repeat {
            try wide.withUnsafeMutableBytes { try source.fill($0) }
            crypto_core_ristretto255_scalar_reduce(output.baseAddress!.assumingMemoryBound(to: UInt8.self), wide)
        } while sodium_is_zero(output.baseAddress!.assumingMemoryBound(to: UInt8.self), scalarBytes) == 1
    }

    /// Hash(I2OSP(len(input), 2) ‖ input ‖ I2OSP(32, 2) ‖ element ‖ "Finalize"), SHA-512, into 64 bytes.
    static func finalizeHash(
        input: [UInt8], element: UnsafeRawBufferPointer, digest: FinalizeDigest, into output: UnsafeMutableRawBufferPointer
    ) throws {
        var inputLength: (UInt8, UInt8) = (UInt8(input.count >> 8), UInt8(input.count & 0xff))
        var elementLength: (UInt8, UInt8) = (0, UInt8(elementBytes))
        let ctx = digest.ctx
        guard EVP_DigestInit_ex(ctx, digest.md, nil) == 1,
            withUnsafeBytes(of: &inputLength, { EVP_DigestUpdate(ctx, $0.baseAddress, 2) }) == 1,
            input.isEmpty || EVP_DigestUpdate(ctx, input, input.count) == 1,
            withUnsafeBytes(of: &elementLength, { EVP_DigestUpdate(ctx, $0.baseAddress, 2) }) == 1,
            EVP_DigestUpdate(ctx, element.baseAddress, elementBytes) == 1,
            EVP_DigestUpdate(ctx, finalizeLabel, finalizeLabel.count) == 1,
            EVP_DigestFinal_ex(ctx, output.baseAddress!.assumingMemoryBound(to: UInt8.self), nil) == 1
        else { throw CleanRoomCryptoError.openSSLFailure(operation: "SHA-512 (OPRF Finalize)") }
    }
}

/// One SHA-512 digest context, reused across a batch (not thread-safe; one per call).
final class FinalizeDigest {
    let md: OpaquePointer
    let ctx: OpaquePointer

    init() throws {
        guard let md = EVP_MD_fetch(nil, "SHA512", nil) else {
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_MD_fetch(SHA512)")
        }
        guard let ctx = EVP_MD_CTX_new() else {
            EVP_MD_free(md)
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_MD_CTX_new")
        }
        self.md = md
        self.ctx = ctx
    }

    deinit {
        EVP_MD_CTX_free(ctx)
        EVP_MD_free(md)
    }
}

/// The server's secret key skS of RFC 9497's OPRF mode: BlindEvaluate on the client's blinded
/// elements, Evaluate on the server's own inputs.
public final class OPRFServerKey: @unchecked Sendable {
    private let scalar: UnsafeMutableRawBufferPointer
    /// Whether BlindEvaluate and Evaluate may use the IFMA kernels (when the CPU has them); false
    /// forces libsodium, the reference the kernels are tested against. The bytes are the same.
    public let accelerated: Bool

    /// A fresh key (GenerateKeyPair, RFC 9497 §3.2): a random nonzero scalar from `source`
    /// (OpenSSL's private DRBG unless a test passes another source).
    public convenience init(using source: some RandomSource = SecureRandom.system, accelerated: Bool = true) throws {
        try OPRFRistretto255.requireSodium()
        var bytes = [UInt8](repeating: 0, count: 32)
        defer { sodium_memzero(&bytes, 32) }
        try bytes.withUnsafeMutableBytes { try OPRFRistretto255.randomScalar(into: $0, using: source) }
        try self.init(scalar: bytes, accelerated: accelerated)
    }

    /// A key from an explicit serialized scalar (vectors and tests).
    /// - Throws: `invalidScalar` unless 32 bytes, canonical and nonzero.
    public init(scalar bytes: [UInt8], accelerated: Bool = true) throws {
        try OPRFRistretto255.requireSodium()
        guard bytes.withUnsafeBytes({ OPRFRistretto255.isCanonicalNonzeroScalar($0) }) else {
            throw CleanRoomCryptoError.invalidScalar(reason: "a key must be 32 bytes, below the group order and not zero")
        }
        scalar = .allocate(byteCount: 32, alignment: 8)
        scalar.copyBytes(from: bytes)
        self.accelerated = accelerated
    }

    /// DeriveKeyPair(seed, info) of RFC 9497 §3.2.1 (deterministic; RFC 9497's vectors use it).
    /// - Parameters:
    ///   - seed: 32 bytes (Ns) of secret seed.
    ///   - info: public key info, at most 65,534 bytes (RFC 9497 §5.1).
    /// - Throws: `wrongLength` for a seed of another size, `unsupportedParameter` for an info too
    ///   long, `invalidScalar` in the negligible event that 256 counters all give zero.
    public static func derive(seed: [UInt8], info: [UInt8]) throws -> OPRFServerKey {
        try OPRFRistretto255.requireSodium()
        guard seed.count == OPRFRistretto255.scalarBytes else {
            throw CleanRoomCryptoError.wrongLength(what: "DeriveKeyPair seed", got: seed.count, expected: 32)
        }
        guard info.count <= OPRFRistretto255.maxInputBytes else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "DeriveKeyPair info of \(info.count) bytes")
        }
        let xmd = try ExpandMessageXMD(hash: .sha512, dst: OPRFRistretto255.deriveKeyPairDST)
        var deriveInput = seed + [UInt8(info.count >> 8), UInt8(info.count & 0xff)] + info + [0]
        var uniform = [UInt8](repeating: 0, count: 64)
        var sk = [UInt8](repeating: 0, count: 32)
        defer {
            secureWipe(&deriveInput)
            sodium_memzero(&uniform, 64)
            sodium_memzero(&sk, 32)
        }
        for counter in 0...255 {
            deriveInput[deriveInput.count - 1] = UInt8(counter)
            try deriveInput.withUnsafeBytes { i in try uniform.withUnsafeMutableBytes { try xmd.expand(i, into: $0) } }
            crypto_core_ristretto255_scalar_reduce(&sk, uniform)  // HashToScalar: little-endian, mod ℓ
            if sodium_is_zero(sk, 32) == 0 { return try OPRFServerKey(scalar: sk) }
        }
        throw CleanRoomCryptoError.invalidScalar(reason: "DeriveKeyPair found no nonzero scalar in 256 tries")
    }

    deinit {
        sodium_memzero(scalar.baseAddress, scalar.count)
        scalar.deallocate()
    }

    /// The serialized secret scalar, for test vectors only (never sent, never logged).
    package func exportScalarForVectors() -> [UInt8] { Array(UnsafeRawBufferPointer(scalar)) }

    /// pkS = skS·B (RFC 9497 §3.2). The OPRF mode never sends it; vectors and tests may compare it.
    public func publicKey() throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: OPRFRistretto255.elementBytes)
        guard crypto_scalarmult_ristretto255_base(&out, scalar.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 0 else {
            throw CleanRoomCryptoError.libsodiumFailure(operation: "crypto_scalarmult_ristretto255_base")
        }
        return out
    }

    /// BlindEvaluate (RFC 9497 §3.3.1) on `input.count / 32` consecutive blinded elements from the
    /// client, into `output` (same layout). Each element is validated first.
    /// - Throws: `wrongLength` for sizes that are not whole elements or do not match;
    ///   `invalidGroupElement(index:reason:)` for the first element that is not canonical or is the
    ///   identity (earlier outputs are valid, later ones unspecified).
    public func blindEvaluate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        let ne = OPRFRistretto255.elementBytes
        guard input.count % ne == 0 else {
            throw CleanRoomCryptoError.wrongLength(what: "blinded element batch", got: input.count, expected: input.count / ne * ne)
        }
        guard output.count == input.count else {
            throw CleanRoomCryptoError.wrongLength(what: "evaluated element batch", got: output.count, expected: input.count)
        }
        guard !input.isEmpty else { return }
        try OPRFRistretto255.multiplyPeerElements(
            input, scalars: scalar.baseAddress!.assumingMemoryBound(to: UInt8.self), scalarStride: 0,
            into: output.baseAddress!.assumingMemoryBound(to: UInt8.self), accelerated: accelerated)
    }

    /// BlindEvaluate on a batch of consecutive 32-byte blinded elements.
    public func blindEvaluate(_ blindedElements: [UInt8]) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: blindedElements.count)
        try blindedElements.withUnsafeBytes { i in try out.withUnsafeMutableBytes { try blindEvaluate(i, into: $0) } }
        return out
    }

    /// Evaluate (RFC 9497 §3.3.1) on the server's own inputs: Finalize's hash of skS·HashToGroup(x),
    /// the same 64 bytes the client's Finalize gives for x. Writes `inputs.count × 64` bytes.
    /// - Throws: `invalidOPRFInput` for an input too long or hashing to the identity.
    public func evaluate(_ inputs: [[UInt8]], into output: UnsafeMutableRawBufferPointer) throws {
        let (ne, nh) = (OPRFRistretto255.elementBytes, OPRFRistretto255.outputBytes)
        guard output.count == inputs.count * nh else {
            throw CleanRoomCryptoError.wrongLength(what: "OPRF output batch", got: output.count, expected: inputs.count * nh)
        }
        let k = scalar.baseAddress!.assumingMemoryBound(to: UInt8.self)
        try OPRFRistretto255.finalizeProducts(of: inputs, into: output) {
            try OPRFRistretto255.hashAndMultiply(inputs, scalars: k, scalarStride: 0, into: $0, accelerated: accelerated)
        }
    }

    /// Evaluate on each input; one 64-byte output per input.
    public func evaluate(_ inputs: [[UInt8]]) throws -> [[UInt8]] {
        var flat = [UInt8](repeating: 0, count: inputs.count * OPRFRistretto255.outputBytes)
        try flat.withUnsafeMutableBytes { try evaluate(inputs, into: $0) }
        return (0..<inputs.count).map { Array(flat[($0 * 64)..<(($0 + 1) * 64)]) }
    }
}

/// The client's side of RFC 9497's OPRF mode for a batch of inputs: Blind at creation (the blinded
/// elements to send), Finalize on the server's answer. It keeps the inputs and the inverses of the
/// blinds (wiped on release) until then; the inverses are computed together (Montgomery's trick).
public final class OPRFClientBatch: @unchecked Sendable {
    /// How many inputs the batch holds.
    public let count: Int
    /// The blinded elements to send, `count × 32` bytes, in input order.
    public let blindedElements: [UInt8]
    private let inputs: [[UInt8]]
    private let inverseBlinds: UnsafeMutableRawBufferPointer
    /// Whether Blind and Finalize may use the IFMA kernels (see `OPRFServerKey.accelerated`).
    public let accelerated: Bool

    /// Blind (RFC 9497 §3.3.1) with fresh random blinds from `source` (OpenSSL's private DRBG
    /// unless a test passes another source).
    /// - Throws: `invalidOPRFInput` for an input too long or hashing to the identity.
    public convenience init(inputs: [[UInt8]], using source: some RandomSource = SecureRandom.system, accelerated: Bool = true) throws {
        try OPRFRistretto255.requireSodium()
        var blinds = [UInt8](repeating: 0, count: inputs.count * 32)
        defer { sodium_memzero(&blinds, blinds.count) }
        try blinds.withUnsafeMutableBytes { flat in
            for i in 0..<inputs.count {
                try OPRFRistretto255.randomScalar(
                    into: UnsafeMutableRawBufferPointer(rebasing: flat[(i * 32)..<((i + 1) * 32)]), using: source)
            }
        }
        try self.init(inputs: inputs, flatBlinds: blinds, accelerated: accelerated)
    }

    /// Blind with explicit blinds (RFC 9497's vectors fix them); sessions use `init(inputs:using:)`.
    /// - Throws: `invalidScalar` unless every blind is 32 bytes, canonical and nonzero (all blinds
    ///   are checked before any input is hashed); `invalidOPRFInput` as above.
    public convenience init(inputs: [[UInt8]], blinds: [[UInt8]], accelerated: Bool = true) throws {
        try OPRFRistretto255.requireSodium()
        guard blinds.count == inputs.count, blinds.allSatisfy({ $0.count == 32 }) else {
            throw CleanRoomCryptoError.invalidScalar(reason: "one 32-byte blind per input is required")
        }
        var flat = blinds.flatMap { $0 }
        defer { sodium_memzero(&flat, flat.count) }
        try self.init(inputs: inputs, flatBlinds: flat, accelerated: accelerated)
    }

    private init(inputs: [[UInt8]], flatBlinds: [UInt8], accelerated: Bool) throws {
        let ne = OPRFRistretto255.elementBytes
        let n = inputs.count
        let inverses = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, n) * 32, alignment: 8)
        var blinded = [UInt8](repeating: 0, count: n * ne)
        do {
            try flatBlinds.withUnsafeBytes { all in
                for i in 0..<n {
                    guard OPRFRistretto255.isCanonicalNonzeroScalar(UnsafeRawBufferPointer(rebasing: all[(i * 32)..<((i + 1) * 32)])) else {
                        throw CleanRoomCryptoError.invalidScalar(reason: "blind \(i) is not below the group order or is zero")
                    }
                }
                guard n > 0 else { return }
                try blinded.withUnsafeMutableBytes { out in
                    try OPRFRistretto255.hashAndMultiply(
                        inputs, scalars: all.baseAddress!.assumingMemoryBound(to: UInt8.self), scalarStride: 32,
                        into: out.baseAddress!.assumingMemoryBound(to: UInt8.self), accelerated: accelerated)
                }
            }
            try flatBlinds.withUnsafeBytes { try Self.invertAll(UnsafeRawBufferPointer(rebasing: $0[0..<(n * 32)]), into: inverses) }
        } catch {
            sodium_memzero(inverses.baseAddress, inverses.count)
            inverses.deallocate()
            throw error
        }
        count = n
        self.inputs = inputs
        inverseBlinds = inverses
        blindedElements = blinded
        self.accelerated = accelerated
    }

    deinit {
        sodium_memzero(inverseBlinds.baseAddress, inverseBlinds.count)
        inverseBlinds.deallocate()
    }

    /// The inverses of `count` nonzero scalars by Montgomery's trick: one inversion and three
    /// multiplications per scalar instead of one inversion each (libsodium's inversion is a fixed
    /// chain of about 250 squarings). Prefix products are secret and wiped; every operation is
    /// libsodium's constant-time scalar arithmetic.
    static func invertAll(_ scalars: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        let n = scalars.count / 32
        guard n > 0 else { return }
        let s = scalars.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        // out[i] holds the prefix product r_0 ⋯ r_i until it is replaced by r_i⁻¹.
        memcpy(out, s, 32)
        for i in 1..<max(1, n) { crypto_core_ristretto255_scalar_mul(out + 32 * i, out + 32 * (i - 1), s + 32 * i) }
        var inverse = [UInt8](repeating: 0, count: 32), next = [UInt8](repeating: 0, count: 32)
        defer {
            sodium_memzero(&inverse, 32)
            sodium_memzero(&next, 32)
        }
        guard crypto_core_ristretto255_scalar_invert(&inverse, out + 32 * (n - 1)) == 0 else {
            throw CleanRoomCryptoError.libsodiumFailure(operation: "crypto_core_ristretto255_scalar_invert")
        }
        // inverse = (r_0 ⋯ r_i)⁻¹: r_i⁻¹ = inverse · (r_0 ⋯ r_{i−1}), then inverse · r_i for the next step.
        for i in stride(from: n - 1, to: 0, by: -1) {
            crypto_core_ristretto255_scalar_mul(&next, inverse, s + 32 * i)
            crypto_core_ristretto255_scalar_mul(out + 32 * i, inverse, out + 32 * (i - 1))
            swap(&inverse, &next)
        }
        memcpy(out, inverse, 32)
    }

    /// Finalize (RFC 9497 §3.3.1) on the server's evaluated elements (`count × 32` bytes, in the
    /// order of the blinded elements), into `output` (`count × 64` bytes, in input order). Each
    /// element is validated first.
    /// - Throws: `wrongLength` when the sizes do not match the batch; `invalidGroupElement` for the
    ///   first element that is not canonical or is the identity.
    public func finalize(_ evaluated: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        let (ne, nh) = (OPRFRistretto255.elementBytes, OPRFRistretto255.outputBytes)
        guard evaluated.count == count * ne else {
            throw CleanRoomCryptoError.wrongLength(what: "evaluated element batch", got: evaluated.count, expected: count * ne)
        }
        guard output.count == count * nh else {
            throw CleanRoomCryptoError.wrongLength(what: "OPRF output batch", got: output.count, expected: count * nh)
        }
        let inverses = inverseBlinds.baseAddress!.assumingMemoryBound(to: UInt8.self)
        try OPRFRistretto255.finalizeProducts(of: inputs, into: output) {
            try OPRFRistretto255.multiplyPeerElements(evaluated, scalars: inverses, scalarStride: 32, into: $0, accelerated: accelerated)
        }
    }

    /// Finalize on a batch of consecutive 32-byte evaluated elements; one 64-byte output per input.
    public func finalize(_ evaluatedElements: [UInt8]) throws -> [[UInt8]] {
        var flat = [UInt8](repeating: 0, count: count * OPRFRistretto255.outputBytes)
        try evaluatedElements.withUnsafeBytes { e in try flat.withUnsafeMutableBytes { try finalize(e, into: $0) } }
        return (0..<count).map { Array(flat[($0 * 64)..<(($0 + 1) * 64)]) }
    }
}
