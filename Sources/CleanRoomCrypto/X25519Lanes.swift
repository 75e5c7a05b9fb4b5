// X25519 (RFC 7748 §5) eight at a time on AVX-512 IFMA (CCleanRoomShim/x25519_ifma.c), with
// OpenSSL's EVP X25519 as the fallback on CPUs without IFMA or when CLEANROOM_DISABLE_IFMA=1.
//
// The kernel is constant time in the scalars and the u-coordinates (fixed 255-step ladder, masked
// swaps, fixed inversion chain); docs/crypto.md describes its field arithmetic and what was checked.
// Both paths follow RFC 7748: scalars are clamped, u's top bit is ignored, non-canonical u (≥ p)
// is reduced, and an all-zero result (low-order or twist input, §6.1) is reported, never returned.
// Thread safety: stateless; any number of threads may call it at once.
import CCleanRoomShim
import COpenSSL

/// Eight-lane X25519 on AVX-512 IFMA, and the OpenSSL path it is checked against.
public enum X25519Lanes {
    /// Lanes per kernel call.
    public static let width = 8

    /// Whether the IFMA kernel runs on this machine: the CPU has AVX-512 F, VL and IFMA and the
    /// environment variable CLEANROOM_DISABLE_IFMA is unset or "0" (read once per process).
    public static var isAvailable: Bool { cr_ifma_supported() == 1 }

    /// X25519(k_i, u_i) for eight lanes through the IFMA kernel.
    /// - Parameters:
    ///   - scalars: 32 bytes (one scalar for every lane) or 256 bytes (lane i's at 32·i).
    ///   - u: 256 bytes, lane i's u-coordinate at 32·i.
    ///   - output: 256 bytes; an all-zero lane is reported in the result.
    /// - Returns: the mask of lanes whose result is all zero (bit i for lane i), or `nil` when the
    ///   kernel is not available (output untouched).
    public static func evaluate8(
        scalars: UnsafeRawBufferPointer, u: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer
    ) -> UInt8? {
        precondition(scalars.count == 32 || scalars.count == 32 * width, "scalars must be 32 or 256 bytes")
        precondition(u.count == 32 * width && output.count == 32 * width, "u and output must be 256 bytes")
        let stride = scalars.count == 32 ? 0 : 32
        let mask = cr_x25519_ifma8(
            output.baseAddress!.assumingMemoryBound(to: UInt8.self), scalars.baseAddress!.assumingMemoryBound(to: UInt8.self),
            stride, u.baseAddress!.assumingMemoryBound(to: UInt8.self))
        return mask < 0 ? nil : UInt8(truncatingIfNeeded: mask)
    }

    /// X25519(k, u) for one pair through OpenSSL's EVP X25519 derive (the reference path).
    /// - Returns: the 32-byte result, or `nil` when it is all zero (OpenSSL refuses to derive it).
    /// - Throws: `wrongLength` unless both are 32 bytes; `openSSLFailure` if a key cannot be built.
    public static func openSSL(scalar: [UInt8], u: [UInt8]) throws -> [UInt8]? {
        guard scalar.count == 32 else { throw CleanRoomCryptoError.wrongLength(what: "X25519 scalar", got: scalar.count, expected: 32) }
        guard u.count == 32 else { throw CleanRoomCryptoError.wrongLength(what: "X25519 u-coordinate", got: u.count, expected: 32) }
        guard let priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nil, scalar, 32) else {
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_PKEY_new_raw_private_key")
        }
        defer { EVP_PKEY_free(priv) }
        guard let peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nil, u, 32) else {
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_PKEY_new_raw_public_key")
        }
        defer { EVP_PKEY_free(peer) }
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, priv, nil) else {
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_PKEY_CTX_new_from_pkey")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_derive_init(ctx) == 1, EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) == 1 else {
            ERR_clear_error()
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_PKEY_derive_init")
        }
        var out = [UInt8](repeating: 0, count: 32)
        var len = 32
        guard EVP_PKEY_derive(ctx, &out, &len) == 1, len == 32 else {
            // The X25519 provider fails derivation only for an all-zero shared value.
            ERR_clear_error()
            return nil
        }
        return out
    }

    /// X25519(k_i, u_i) for any number of pairs: groups of eight through the kernel (the last one
    /// padded) when it is available and `accelerated` is true, otherwise one at a time through
    /// OpenSSL. Meant for tests and checks; sessions use `BlindingKey.blindBatch`.
    /// - Returns: each result, `nil` where it is all zero.
    /// - Throws: `wrongLength` unless the counts match and every value is 32 bytes.
    public static func evaluate(scalars: [[UInt8]], u: [[UInt8]], accelerated: Bool = true) throws -> [[UInt8]?] {
        guard scalars.count == u.count else {
            throw CleanRoomCryptoError.wrongLength(what: "X25519 pairs", got: u.count, expected: scalars.count)
        }
        for v in scalars + u where v.count != 32 {
            throw CleanRoomCryptoError.wrongLength(what: "X25519 value", got: v.count, expected: 32)
        }
        guard accelerated && isAvailable else { return try zip(scalars, u).map { try openSSL(scalar: $0, u: $1) } }
        var results: [[UInt8]?] = []
        results.reserveCapacity(u.count)
        var k = [UInt8](repeating: 0, count: 32 * width), points = [UInt8](repeating: 0, count: 32 * width)
        var out = [UInt8](repeating: 0, count: 32 * width)
        defer { secureWipe(&k) }
        var start = 0
        while start < u.count {
            let lanes = min(width, u.count - start)
            for lane in 0..<width {
                // padding lanes repeat the first pair of the group
                let i = start + (lane < lanes ? lane : 0)
                k.replaceSubrange((32 * lane)..<(32 * lane + 32), with: scalars[i])
                points.replaceSubrange((32 * lane)..<(32 * lane + 32), with: u[i])
            }
            let zero = k.withUnsafeBytes { kb in
                points.withUnsafeBytes { pb in out.withUnsafeMutableBytes { evaluate8(scalars: kb, u: pb, into: $0) } }
            }
            guard let zero else { preconditionFailure("the IFMA kernel became unavailable") }
            for lane in 0..<lanes {
                results.append(zero & (1 << lane) != 0 ? nil : Array(out[(32 * lane)..<(32 * lane + 32)]))
            }
            start += lanes
        }
        return results
    }
}
