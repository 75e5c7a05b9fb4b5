// expand_message_xmd, RFC 9380 §5.3.1 (with the oversize-DST rule of §5.3.3), on OpenSSL's
// EVP digests. Timing depends only on the lengths of the message, DST and output.
import COpenSSL

/// The hash functions expand_message_xmd is implemented for.
public enum XMDHash: String, Sendable, CaseIterable {
    case sha256 = "SHA-256"
    case sha512 = "SHA-512"

    /// Output size in bytes (b_in_bytes).
    public var outputBytes: Int { self == .sha256 ? 32 : 64 }
    /// Input block size in bytes (s_in_bytes).
    public var blockBytes: Int { self == .sha256 ? 64 : 128 }
    var openSSLName: String { self == .sha256 ? "SHA256" : "SHA512" }
}

/// A reusable expand_message_xmd context for one hash and one DST.
///
/// It precomputes the digest state after the all-zero block `Z_pad` and the encoded
/// `DST_prime`, so each expansion costs only the message-dependent compressions.
/// Not thread-safe: use one context per thread.
public final class ExpandMessageXMD {
    public let hash: XMDHash
    /// The DST actually appended (after the oversize rule), followed by its length byte.
    public let dstPrime: [UInt8]
    private let md: OpaquePointer
    private let seeded: OpaquePointer  // state after Z_pad
    private let empty: OpaquePointer  // freshly initialised state
    private let work: OpaquePointer

    /// Creates a context for `hash` and the domain separation tag `dst`.
    /// - Throws: `unsupportedParameter` for an empty DST, `openSSLFailure` when OpenSSL fails.
    public init(hash: XMDHash, dst: [UInt8]) throws {
        guard !dst.isEmpty else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "empty DST (RFC 9380 §3.1 requires a nonempty tag)")
        }
        self.hash = hash
        guard let md = EVP_MD_fetch(nil, hash.openSSLName, nil) else {
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_MD_fetch(\(hash.openSSLName))")
        }
        self.md = md
        guard let s = EVP_MD_CTX_new(), let e = EVP_MD_CTX_new(), let w = EVP_MD_CTX_new() else {
            EVP_MD_free(md)
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_MD_CTX_new")
        }
        seeded = s; empty = e; work = w
        var tag = dst
        if dst.count > 255 {
            // §5.3.3: DST = H("H2C-OVERSIZE-DST-" || DST)
            tag = try ExpandMessageXMD.digest(md: md, parts: [Array("H2C-OVERSIZE-DST-".utf8), dst], outputBytes: hash.outputBytes)
        }
        dstPrime = tag + [UInt8(tag.count)]
        let zpad = [UInt8](repeating: 0, count: hash.blockBytes)
        guard EVP_DigestInit_ex(empty, md, nil) == 1,
            EVP_DigestInit_ex(seeded, md, nil) == 1,
            EVP_DigestUpdate(seeded, zpad, zpad.count) == 1
        else { throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_DigestInit_ex") }
    }

    deinit {
        EVP_MD_CTX_free(work)
        EVP_MD_CTX_free(empty)
        EVP_MD_CTX_free(seeded)
        EVP_MD_free(md)
    }

    private static func digest(md: OpaquePointer, parts: [[UInt8]], outputBytes: Int) throws -> [UInt8] {
        guard let ctx = EVP_MD_CTX_new() else { throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: outputBytes)
        guard EVP_DigestInit_ex(ctx, md, nil) == 1 else { throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_DigestInit_ex") }
        for p in parts {
            guard EVP_DigestUpdate(ctx, p, p.count) == 1 else { throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_DigestUpdate") }
        }
        guard EVP_DigestFinal_ex(ctx, &out, nil) == 1 else { throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_DigestFinal_ex") }
        return out
    }

    /// Expands `message` to `length` uniform bytes.
    /// - Throws: `unsupportedParameter` when `length` exceeds 255 hash outputs or 65535 bytes.
    public func expand(_ message: [UInt8], length: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        try message.withUnsafeBytes { msg in
            try out.withUnsafeMutableBytes { try expand(msg, into: $0) }
        }
        return out
    }

    /// Expands `message` into all of `output` without allocating.
    public func expand(_ message: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        let length = output.count
        let b = hash.outputBytes
        let ell = (length + b - 1) / b
        guard length > 0, ell <= 255, length <= 65535 else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "expand_message_xmd length \(length)")
        }
        // b0 = H(Z_pad || msg || I2OSP(len, 2) || I2OSP(0, 1) || DST_prime)
        var b0 = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        var bi = b0
        var header: (UInt8, UInt8, UInt8) = (UInt8(length >> 8), UInt8(length & 0xff), 0)
        try withUnsafeMutableBytes(of: &b0) { b0p in
            try withUnsafeMutableBytes(of: &bi) { bip in
                try dstPrime.withUnsafeBytes { dp in
                    guard EVP_MD_CTX_copy_ex(work, seeded) == 1,
                        message.count == 0 || EVP_DigestUpdate(work, message.baseAddress, message.count) == 1,
                        withUnsafeBytes(of: &header, { EVP_DigestUpdate(work, $0.baseAddress, 3) }) == 1,
                        EVP_DigestUpdate(work, dp.baseAddress, dp.count) == 1,
                        EVP_DigestFinal_ex(work, b0p.baseAddress!.assumingMemoryBound(to: UInt8.self), nil) == 1
                    else { throw CleanRoomCryptoError.openSSLFailure(operation: "expand_message_xmd b0") }
                    var offset = 0
                    for i in 1...ell {
                        // b_i = H(strxor(b0, b_(i-1)) || I2OSP(i, 1) || DST_prime), with b_0' = 0 for i = 1
                        if i == 1 {
                            bip.copyMemory(from: UnsafeRawBufferPointer(b0p))
                        } else {
                            for j in 0..<b { bip[j] ^= b0p[j] }
                        }
                        var index = UInt8(i)
                        guard EVP_MD_CTX_copy_ex(work, empty) == 1,
                            EVP_DigestUpdate(work, bip.baseAddress, b) == 1,
                            EVP_DigestUpdate(work, &index, 1) == 1,
                            EVP_DigestUpdate(work, dp.baseAddress, dp.count) == 1,
                            EVP_DigestFinal_ex(work, bip.baseAddress!.assumingMemoryBound(to: UInt8.self), nil) == 1
                        else { throw CleanRoomCryptoError.openSSLFailure(operation: "expand_message_xmd b\(i)") }
                        let n = min(b, length - offset)
                        UnsafeMutableRawBufferPointer(rebasing: output[offset..<(offset + n)])
                            .copyMemory(from: UnsafeRawBufferPointer(rebasing: bip[0..<n]))
                        offset += n
                    }
                }
                secureWipe(b0p)
                secureWipe(bip)
            }
        }
    }
}
