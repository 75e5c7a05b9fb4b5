// Commutative blinding for ECDH-PSI: blind(u) = X25519(k, u), RFC 7748 §5, through OpenSSL 3's
// EVP X25519 key derivation. Clamped scalars commute: X25519(a, X25519(b, u)) =
// X25519(b, X25519(a, u)) = u-coordinate of [clamp(a)·clamp(b)]P.
//
// All-zero results: X25519 returns zero exactly when the peer's u-coordinate is a point of low
// order (or its twist counterpart), RFC 7748 §6.1. OpenSSL's derive refuses such results; we
// report them as `CleanRoomCryptoError.lowOrderPoint(index:)` and never emit a zero element. An
// honest peer produces one with negligible probability, so a session treats it as hostile input.
// Where the CPU has AVX-512 IFMA, batches run eight elements per call of the constant-time
// kernel in X25519Lanes.swift (a short last group is padded); elsewhere, or with
// CLEANROOM_DISABLE_IFMA=1, or for a key made with `accelerated: false`, through OpenSSL. Both
// paths give the same bytes and the same errors (tests compare them on every published vector).
// Thread safety: a `BlindingKey` may be shared; each call builds its own derive context.
import CCleanRoomShim
import COpenSSL

/// A per-session X25519 scalar used for commutative blinding.
public final class BlindingKey: @unchecked Sendable {
    private let pkey: OpaquePointer
    private let scalar: UnsafeMutableRawBufferPointer

    /// Whether batches run on the AVX-512 IFMA kernel (X25519Lanes) rather than OpenSSL.
    public let isAccelerated: Bool

    /// A fresh secret scalar (from OpenSSL's private DRBG unless a test passes another source).
    /// - Parameter accelerated: use the IFMA kernel where available (`false` forces OpenSSL).
    public convenience init(using source: some RandomSource = SecureRandom.system, accelerated: Bool = true) throws {
        var bytes = try SecureRandom.bytes(32, using: source)
        defer { secureWipe(&bytes) }
        try self.init(privateScalar: bytes, accelerated: accelerated)
    }

    /// A key from an explicit 32-byte scalar. Meant for test vectors and deterministic
    /// transcripts; sessions use `init()`.
    /// - Parameter accelerated: use the IFMA kernel where available (`false` forces OpenSSL).
    /// - Throws: `wrongLength` unless 32 bytes; `openSSLFailure` if OpenSSL rejects the key.
    public init(privateScalar bytes: [UInt8], accelerated: Bool = true) throws {
        guard bytes.count == 32 else { throw CleanRoomCryptoError.wrongLength(what: "X25519 scalar", got: bytes.count, expected: 32) }
        isAccelerated = accelerated && X25519Lanes.isAvailable
        scalar = .allocate(byteCount: 32, alignment: 8)
        scalar.copyBytes(from: bytes)
        guard let key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nil, scalar.baseAddress!.assumingMemoryBound(to: UInt8.self), 32)
        else {
            secureWipe(scalar); scalar.deallocate()
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_PKEY_new_raw_private_key")
        }
        pkey = key
    }

    deinit {
        EVP_PKEY_free(pkey)  // OpenSSL cleanses the private key material it holds
        secureWipe(scalar)
        scalar.deallocate()
    }

    /// X25519(k, u) for one 32-byte u-coordinate.
    /// - Throws: `wrongLength`, or `lowOrderPoint(index: 0)` when the result would be all zero.
    public func blind(_ u: [UInt8]) throws -> [UInt8] {
        guard u.count == 32 else { throw CleanRoomCryptoError.wrongLength(what: "X25519 u-coordinate", got: u.count, expected: 32) }
        var out = [UInt8](repeating: 0, count: 32)
        try u.withUnsafeBytes { i in try out.withUnsafeMutableBytes { try blindBatch(i, into: $0) } }
        return out
    }

    /// Blinds `input.count / 32` consecutive u-coordinates into `output` (same layout).
    /// With IFMA, eight elements per kernel call; otherwise one derive context and one peer-key
    /// object serve the whole batch. Nothing is allocated per element.
    /// - Throws: `wrongLength` for sizes that are not a multiple of 32 or do not match;
    ///   `lowOrderPoint(index:)` for the first element whose result would be all zero
    ///   (earlier elements of `output` are valid, later ones unspecified).
    public func blindBatch(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        guard input.count % 32 == 0 else {
            throw CleanRoomCryptoError.wrongLength(what: "X25519 batch", got: input.count, expected: input.count / 32 * 32)
        }
        guard output.count == input.count else {
            throw CleanRoomCryptoError.wrongLength(what: "X25519 output batch", got: output.count, expected: input.count)
        }
        let n = input.count / 32
        guard n > 0 else { return }
        if isAccelerated {
            try blindBatchIFMA(input, into: output, count: n)
            return
        }
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, pkey, nil) else {
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_PKEY_CTX_new_from_pkey")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_derive_init(ctx) == 1 else { throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_PKEY_derive_init") }
        let inBase = input.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let outBase = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        // One peer-key object per batch, its public value replaced for each element
        // (EVP_PKEY_set1_encoded_public_key), instead of building a new EVP_PKEY per element.
        guard let peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nil, inBase, 32) else {
            ERR_clear_error()
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_PKEY_new_raw_public_key")
        }
        defer { EVP_PKEY_free(peer) }
        for i in 0..<n {
            guard i == 0 || EVP_PKEY_set1_encoded_public_key(peer, inBase + 32 * i, 32) == 1 else {
                ERR_clear_error()
                throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_PKEY_set1_encoded_public_key")
            }
            guard EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) == 1 else {
                ERR_clear_error()
                throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_PKEY_derive_set_peer_ex")
            }
            var len = 32
            guard EVP_PKEY_derive(ctx, outBase + 32 * i, &len) == 1, len == 32 else {
                // The X25519 provider fails derivation only for an all-zero shared value.
                ERR_clear_error()
                throw CleanRoomCryptoError.lowOrderPoint(index: i)
            }
        }
    }

    /// The IFMA path: full groups of eight straight from `input` to `output`; a last short group
    /// is copied into an eight-lane buffer padded with u = 9, which never gives zero.
    private func blindBatchIFMA(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, count n: Int) throws {
        let k = UnsafeRawBufferPointer(scalar)
        let full = n / X25519Lanes.width
        let group = 32 * X25519Lanes.width
        for g in 0..<full {
            let range = (group * g)..<(group * g + group)
            guard
                let zero = X25519Lanes.evaluate8(
                    scalars: k, u: UnsafeRawBufferPointer(rebasing: input[range]),
                    into: UnsafeMutableRawBufferPointer(rebasing: output[range]))
            else { preconditionFailure("the IFMA kernel became unavailable") }
            if zero != 0 { throw CleanRoomCryptoError.lowOrderPoint(index: X25519Lanes.width * g + zero.trailingZeroBitCount) }
        }
        let tail = n - X25519Lanes.width * full
        guard tail > 0 else { return }
        // one small allocation per batch, not per element
        var points = [UInt8](repeating: 0, count: group), results = [UInt8](repeating: 0, count: group)
        for lane in 0..<X25519Lanes.width { points[32 * lane] = 9 }
        let start = group * full
        points.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: input[start..<(start + 32 * tail)])) }
        let evaluated = points.withUnsafeBytes { p in results.withUnsafeMutableBytes { X25519Lanes.evaluate8(scalars: k, u: p, into: $0) } }
        guard let zero = evaluated else { preconditionFailure("the IFMA kernel became unavailable") }
        results.withUnsafeBytes {
            UnsafeMutableRawBufferPointer(rebasing: output[start..<(start + 32 * tail)]).copyMemory(
                from: UnsafeRawBufferPointer(rebasing: $0[0..<(32 * tail)]))
        }
        let tailZero = zero & UInt8(truncatingIfNeeded: (1 << tail) - 1)
        if tailZero != 0 { throw CleanRoomCryptoError.lowOrderPoint(index: start / 32 + tailZero.trailingZeroBitCount) }
    }

    /// The public value X25519(k, 9) (RFC 7748 §6.1); used by vectors, not by PSI.
    public func publicValue() throws -> [UInt8] {
        var base = [UInt8](repeating: 0, count: 32)
        base[0] = 9
        return try blind(base)
    }
}
