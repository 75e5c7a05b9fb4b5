// SHA-256 (FIPS 180-4) through OpenSSL's EVP interface.
import COpenSSL

/// SHA-256 digests.
public enum SHA256 {
    /// The 32-byte digest of the concatenation of `parts`.
    public static func hash(_ parts: [UInt8]...) throws -> [UInt8] { try hash(parts: parts) }

    /// The 32-byte digest of the concatenation of `parts`.
    public static func hash(parts: [[UInt8]]) throws -> [UInt8] {
        guard let ctx = EVP_MD_CTX_new() else { throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestInit_ex(ctx, EVP_sha256(), nil) == 1 else {
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_DigestInit_ex(SHA-256)")
        }
        for p in parts {
            guard EVP_DigestUpdate(ctx, p, p.count) == 1 else { throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_DigestUpdate") }
        }
        var out = [UInt8](repeating: 0, count: 32)
        guard EVP_DigestFinal_ex(ctx, &out, nil) == 1 else { throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_DigestFinal_ex") }
        return out
    }
}
