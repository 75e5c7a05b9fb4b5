// Streaming SHA-256 and ECDSA P-256 signatures with a party's TLS key, for the audit log: each
// record is signed with the key whose certificate the collaboration file pins, so a record cannot
// be altered or forged by anyone who can only edit the file. OpenSSL does the work (EVP).
import COpenSSL

/// SHA-256 over data that arrives in pieces.
public final class SHA256Stream {
    private let ctx: OpaquePointer

    /// - Throws: `openSSLFailure` if OpenSSL cannot set up the digest.
    public init() throws {
        guard let ctx = EVP_MD_CTX_new() else { throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_MD_CTX_new") }
        guard EVP_DigestInit_ex(ctx, EVP_sha256(), nil) == 1 else {
            EVP_MD_CTX_free(ctx)
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_DigestInit_ex(SHA-256)")
        }
        self.ctx = ctx
    }

    deinit { EVP_MD_CTX_free(ctx) }

    /// Adds `bytes`.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        // EVP_DigestUpdate fails only on a context that was never initialised.
        _ = EVP_DigestUpdate(ctx, base, bytes.count)
    }

    /// Adds `bytes`.
    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The digest of everything added so far (the stream can go on afterwards).
    public func digest() throws -> [UInt8] {
        guard let copy = EVP_MD_CTX_new() else { throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(copy) }
        var out = [UInt8](repeating: 0, count: 32)
        guard EVP_MD_CTX_copy_ex(copy, ctx) == 1, EVP_DigestFinal_ex(copy, &out, nil) == 1 else {
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_DigestFinal_ex")
        }
        return out
    }
}

/// Signs records with a party's TLS private key (ECDSA with SHA-256), after checking that the key
/// belongs to the party's certificate.
public final class RecordSigner: @unchecked Sendable {
    private let key: OpaquePointer
    /// The certificate, DER: it travels with each signature so that a verifier can check it
    /// against the fingerprint the collaboration file pins.
    public let certificateDER: [UInt8]
    /// SHA-256 of `certificateDER`, 64 lowercase hex digits.
    public let fingerprint: String

    /// - Throws: `RecordSigningError` when the PEM does not parse or the key is not the certificate's.
    public init(privateKeyPEM: String, certificatePEM: String) throws {
        let certificate = try RecordSignature.parseCertificatePEM(certificatePEM)
        defer { X509_free(certificate) }
        let bio = try RecordSignature.memoryBIO(privateKeyPEM)
        defer { BIO_free(bio) }
        guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
            throw RecordSigningError("the private key PEM does not parse")
        }
        guard X509_check_private_key(certificate, key) == 1 else {
            EVP_PKEY_free(key)
            throw RecordSigningError("the private key does not belong to the certificate")
        }
        self.key = key
        self.certificateDER = try RecordSignature.der(certificate)
        self.fingerprint = try TLSIdentity.fingerprint(derCertificate: certificateDER)
    }

    deinit { EVP_PKEY_free(key) }

    /// An ECDSA-SHA256 signature (DER) over `message`.
    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        guard let ctx = EVP_MD_CTX_new() else { throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(ctx) }
        var length = 0
        guard EVP_DigestSignInit(ctx, nil, EVP_sha256(), nil, key) == 1,
            EVP_DigestSign(ctx, nil, &length, message, message.count) == 1
        else { throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_DigestSignInit") }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(ctx, &signature, &length, message, message.count) == 1 else {
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_DigestSign")
        }
        return Array(signature.prefix(length))
    }
}

/// Verification of `RecordSigner` signatures.
public enum RecordSignature {
    /// True when `signature` is a valid ECDSA-SHA256 signature over `message` by the key of the
    /// DER certificate `certificateDER`.
    /// - Throws: `RecordSigningError` when the certificate does not parse.
    public static func verify(_ signature: [UInt8], message: [UInt8], certificateDER: [UInt8]) throws -> Bool {
        let certificate: OpaquePointer? = certificateDER.withUnsafeBufferPointer { buffer in
            var p: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_X509(nil, &p, buffer.count)
        }
        guard let certificate else { throw RecordSigningError("the certificate (DER) does not parse") }
        defer { X509_free(certificate) }
        guard let key = X509_get0_pubkey(certificate) else {
            throw RecordSigningError("the certificate has no usable public key")
        }
        guard let ctx = EVP_MD_CTX_new() else { throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestVerifyInit(ctx, nil, EVP_sha256(), nil, key) == 1 else {
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_DigestVerifyInit")
        }
        return EVP_DigestVerify(ctx, signature, signature.count, message, message.count) == 1
    }

    static func parseCertificatePEM(_ pem: String) throws -> OpaquePointer {
        let bio = try memoryBIO(pem)
        defer { BIO_free(bio) }
        guard let certificate = PEM_read_bio_X509(bio, nil, nil, nil) else {
            throw RecordSigningError("the certificate PEM does not parse")
        }
        return certificate
    }

    /// A memory BIO holding its own copy of `text`. (`BIO_new_mem_buf` would only point at the
    /// bytes, and a Swift buffer does not outlive the closure that lends it: AddressSanitizer caught
    /// exactly that use after free here.)
    static func memoryBIO(_ text: String) throws -> OpaquePointer {
        guard let bio = BIO_new(BIO_s_mem()) else { throw CleanRoomCryptoError.openSSLFailure(operation: "BIO_new") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { BIO_write(bio, $0.baseAddress, Int32($0.count)) }
        guard written == Int32(bytes.count) || bytes.isEmpty else {
            BIO_free(bio)
            throw CleanRoomCryptoError.openSSLFailure(operation: "BIO_write")
        }
        return bio
    }

    static func der(_ certificate: OpaquePointer) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        let length = i2d_X509(certificate, &out)
        guard length > 0, let bytes = out else { throw CleanRoomCryptoError.openSSLFailure(operation: "i2d_X509") }
        defer { CRYPTO_free(bytes, #fileID, #line) }
        return Array(UnsafeBufferPointer(start: bytes, count: Int(length)))
    }
}

/// Key material for record signing that does not parse or does not fit together.
public struct RecordSigningError: Error, CustomStringConvertible, Sendable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
