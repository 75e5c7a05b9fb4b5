// Opaque group tags for grouped intersection-sum (NIST SP 800-38D, AES-256-GCM through OpenSSL
// EVP). P1 attaches to each blinded identifier a tag = nonce ‖ AES-GCM(k, group index) ‖ auth tag
// under a key only P1 holds; P2 carries the tag through re-blinding and shuffling without
// learning anything from it (fresh random nonces make equal groups look unrelated), and P1 opens
// it afterwards. The authentication tag means a peer cannot forge or alter a tag unnoticed.
// Thread safety: immutable after construction; `seal` and `open` may run concurrently.
import COpenSSL

/// Seals and opens 32-byte group tags: 12-byte nonce, 4-byte encrypted group index, 16-byte tag.
public final class GroupTagCipher: @unchecked Sendable {
    /// Size of one sealed tag in bytes.
    public static let tagBytes = 32
    private let key: UnsafeMutableRawBufferPointer
    private let cipher: OpaquePointer
    private static let aad = Array("CLEANROOM-GROUP-TAG-V1".utf8)

    /// A cipher with a fresh key (from OpenSSL unless a test passes another source).
    public init(using source: some RandomSource = SecureRandom.system) throws {
        key = .allocate(byteCount: 32, alignment: 8)
        do {
            try source.fill(key)
        } catch {
            key.deallocate()
            throw error
        }
        guard let c = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil) else {
            secureWipe(key); key.deallocate()
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_CIPHER_fetch(AES-256-GCM)")
        }
        cipher = c
    }

    deinit {
        EVP_CIPHER_free(cipher)
        secureWipe(key)
        key.deallocate()
    }

    /// Seals `group` into the 32 bytes at `out`, with a nonce drawn from `source`.
    public func seal(group: UInt32, into out: UnsafeMutableRawPointer, using source: some RandomSource = SecureRandom.system) throws {
        let o = out.assumingMemoryBound(to: UInt8.self)
        try source.fill(UnsafeMutableRawBufferPointer(start: out, count: 12))
        guard let ctx = EVP_CIPHER_CTX_new() else { throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var plain = group.bigEndian
        var len: Int32 = 0
        let ok = withUnsafeBytes(of: &plain) { p -> Bool in
            EVP_EncryptInit_ex2(ctx, cipher, key.baseAddress!.assumingMemoryBound(to: UInt8.self), o, nil) == 1
                && EVP_EncryptUpdate(ctx, nil, &len, Self.aad, Int32(Self.aad.count)) == 1
                && EVP_EncryptUpdate(ctx, o + 12, &len, p.baseAddress!.assumingMemoryBound(to: UInt8.self), 4) == 1
                && EVP_EncryptFinal_ex(ctx, o + 16, &len) == 1
                && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, o + 16) == 1
        }
        guard ok else { throw CleanRoomCryptoError.openSSLFailure(operation: "AES-256-GCM seal") }
    }

    /// Opens a tag sealed by this cipher.
    /// - Throws: `invalidGroupTag` when the tag was not produced by this key or was altered.
    public func open(_ tag: UnsafeRawPointer) throws -> UInt32 {
        let t = tag.assumingMemoryBound(to: UInt8.self)
        guard let ctx = EVP_CIPHER_CTX_new() else { throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var plain = [UInt8](repeating: 0, count: 16)  // room for the 4 bytes and whatever Final may flush
        var len: Int32 = 0
        var authTag = [UInt8](UnsafeBufferPointer(start: t + 16, count: 16))
        let ok = plain.withUnsafeMutableBufferPointer { p -> Bool in
            EVP_DecryptInit_ex2(ctx, cipher, key.baseAddress!.assumingMemoryBound(to: UInt8.self), t, nil) == 1
                && EVP_DecryptUpdate(ctx, nil, &len, Self.aad, Int32(Self.aad.count)) == 1
                && EVP_DecryptUpdate(ctx, p.baseAddress!, &len, t + 12, 4) == 1
                && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, &authTag) == 1
                && EVP_DecryptFinal_ex(ctx, p.baseAddress! + 4, &len) == 1
        }
        guard ok else {
            ERR_clear_error()
            throw CleanRoomCryptoError.invalidGroupTag
        }
        return UInt32(plain[0]) << 24 | UInt32(plain[1]) << 16 | UInt32(plain[2]) << 8 | UInt32(plain[3])
    }
}
