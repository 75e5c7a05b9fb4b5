// A party's TLS identity: an ECDSA P-256 key and a self-signed X.509 certificate made with
// OpenSSL, and the certificate's SHA-256 fingerprint that the collaboration file pins. Trust comes
// from the pinned fingerprint, not from a certificate authority.
import COpenSSL

/// A private key and self-signed certificate in PEM, with the certificate's fingerprint.
public struct TLSIdentity: Sendable {
    /// The certificate, PEM.
    public var certificatePEM: String
    /// The private key (PKCS #8), PEM. Secret: write it with owner-only permissions.
    public var privateKeyPEM: String
    /// SHA-256 of the certificate's DER encoding, 64 lowercase hex digits.
    public var fingerprint: String

    /// Generates a fresh P-256 key and a self-signed certificate for `commonName`, valid for
    /// `days` days from now.
    /// - Throws: `openSSLFailure` naming the failing call.
    public static func generate(commonName: String, days: Int = 730) throws -> TLSIdentity {
        func fail(_ op: String) -> CleanRoomCryptoError { .openSSLFailure(operation: op) }
        guard let kctx = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else { throw fail("EVP_PKEY_CTX_new_from_name(EC)") }
        defer { EVP_PKEY_CTX_free(kctx) }
        var pkey: OpaquePointer?
        guard EVP_PKEY_keygen_init(kctx) == 1, EVP_PKEY_CTX_set_group_name(kctx, "P-256") == 1, EVP_PKEY_keygen(kctx, &pkey) == 1,
            let key = pkey
        else { throw fail("EVP_PKEY_keygen(P-256)") }
        defer { EVP_PKEY_free(key) }
        guard let x509 = X509_new() else { throw fail("X509_new") }
        defer { X509_free(x509) }
        var serial: UInt64 = 0
        try withUnsafeMutableBytes(of: &serial) { try SecureRandom.fill($0) }
        guard X509_set_version(x509, 2) == 1,
            ASN1_INTEGER_set_uint64(X509_get_serialNumber(x509), serial >> 1) == 1,
            X509_gmtime_adj(X509_getm_notBefore(x509), -300) != nil,
            X509_gmtime_adj(X509_getm_notAfter(x509), days * 86_400) != nil,
            X509_set_pubkey(x509, key) == 1,
            let name = X509_get_subject_name(x509),
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, commonName, -1, -1, 0) == 1,
            X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, "CleanRoom party", -1, -1, 0) == 1,
            X509_set_issuer_name(x509, name) == 1,
            X509_sign(x509, key, EVP_sha256()) > 0
        else { throw fail("building the X.509 certificate") }
        let certPEM = try pem { PEM_write_bio_X509($0, x509) }
        let keyPEM = try pem { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) }
        var der: UnsafeMutablePointer<UInt8>?
        let derLength = i2d_X509(x509, &der)
        guard derLength > 0, let derBytes = der else { throw fail("i2d_X509") }
        defer { CRYPTO_free(derBytes, #fileID, #line) }
        let fingerprint = try SHA256.hash(Array(UnsafeBufferPointer(start: derBytes, count: Int(derLength))))
        return TLSIdentity(certificatePEM: certPEM, privateKeyPEM: keyPEM, fingerprint: Hex.encode(fingerprint))
    }

    /// SHA-256 fingerprint (64 lowercase hex digits) of a DER-encoded certificate.
    public static func fingerprint(derCertificate der: [UInt8]) throws -> String {
        Hex.encode(try SHA256.hash(der))
    }

    private static func pem(_ write: (OpaquePointer) -> Int32) throws -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw CleanRoomCryptoError.openSSLFailure(operation: "BIO_new") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw CleanRoomCryptoError.openSSLFailure(operation: "PEM_write_bio") }
        let length = Int(BIO_ctrl_pending(bio))
        var buffer = [UInt8](repeating: 0, count: length)
        defer { secureWipe(&buffer) }
        guard BIO_read(bio, &buffer, Int32(length)) == Int32(length) else {
            throw CleanRoomCryptoError.openSSLFailure(operation: "BIO_read")
        }
        return String(decoding: buffer, as: UTF8.self)
    }
}
