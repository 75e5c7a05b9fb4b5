// Enrichment records: the sender's payload for one identifier, sealed under keys only a holder of
// that identifier's OPRF output can derive (docs/crypto.md, "Enrichment records").
//
//   okm      = HKDF-SHA-256(salt = "CleanRoom-v1 enrichment record", IKM = y, info = context, L = 60)
//              (RFC 5869, OpenSSL's EVP_KDF "HKDF"), y the 64-byte RFC 9497 output for the identifier
//   matchTag = okm[0..<16]     sent in the clear; the receiver recomputes it from its own outputs
//   key      = okm[16..<48]    AES-256-GCM key (NIST SP 800-38D, OpenSSL EVP)
//   nonce    = okm[48..<60]    96-bit nonce; each (key, nonce) seals exactly one record
//   sealed   = AES-256-GCM(key, nonce, aad = matchTag, I2OSP(len(payload), 2) ‖ payload ‖ zeros)
//              ‖ 16-byte GCM tag: always 2 + width + 16 bytes, whatever the payload's length
//
// The three parts of one HKDF output are independent pseudorandom strings, so the match tag says
// nothing about the key. Opening checks the GCM tag before it reads anything (a tampered record or
// a wrong key fails as `payloadAuthenticationFailed`), then the length prefix and the zero padding.
// Thread safety: not thread-safe (one KDF and one cipher context are reused); one per thread.
import COpenSSL

/// Derives match tags and seals or opens enrichment records of one fixed payload width.
public final class EnrichmentRecordCipher {
    /// Bytes of a match tag.
    public static let matchTagBytes = 16
    /// Bytes of the AES-GCM authentication tag.
    public static let gcmTagBytes = 16
    /// The widest payload: its length is encoded in two bytes.
    public static let maxPayloadWidth = 65535
    /// The HKDF salt: a fixed domain separation label.
    public static let salt: [UInt8] = Array("CleanRoom-v1 enrichment record".utf8)
    static let okmBytes = 60

    /// The payload width every record of this cipher is padded to.
    public let payloadWidth: Int
    /// Bytes of one sealed record: length prefix, padded payload and GCM tag.
    public var sealedBytes: Int { 2 + payloadWidth + Self.gcmTagBytes }

    private let kdf: OpaquePointer
    private let kdfContext: OpaquePointer
    private let cipher: OpaquePointer
    private let cipherContext: OpaquePointer
    private let okm: UnsafeMutableRawBufferPointer
    private let plaintext: UnsafeMutableRawBufferPointer

    /// - Parameters:
    ///   - context: bytes both parties agree on, bound into every key (the session's context:
    ///     collaboration digest, analysis, handshake nonces); at most 1,024 bytes (OpenSSL's HKDF
    ///     info limit).
    ///   - payloadWidth: the fixed width payloads are padded to, 0 to 65,535 bytes.
    /// - Throws: `unsupportedParameter` for a width or context out of range, `openSSLFailure`.
    public init(context: [UInt8], payloadWidth: Int) throws {
        guard (0...Self.maxPayloadWidth).contains(payloadWidth) else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "enrichment payload width \(payloadWidth) (0 to 65535)")
        }
        guard context.count <= 1024 else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "enrichment context of \(context.count) bytes (at most 1024)")
        }
        self.payloadWidth = payloadWidth
        guard let kdf = EVP_KDF_fetch(nil, "HKDF", nil) else { throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_KDF_fetch(HKDF)") }
        guard let kdfContext = EVP_KDF_CTX_new(kdf) else {
            EVP_KDF_free(kdf)
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_KDF_CTX_new")
        }
        guard let cipher = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil) else {
            EVP_KDF_CTX_free(kdfContext)
            EVP_KDF_free(kdf)
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_CIPHER_fetch(AES-256-GCM)")
        }
        guard let cipherContext = EVP_CIPHER_CTX_new() else {
            EVP_CIPHER_free(cipher)
            EVP_KDF_CTX_free(kdfContext)
            EVP_KDF_free(kdf)
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_CIPHER_CTX_new")
        }
        (self.kdf, self.kdfContext, self.cipher, self.cipherContext) = (kdf, kdfContext, cipher, cipherContext)
        okm = .allocate(byteCount: Self.okmBytes, alignment: 8)
        plaintext = .allocate(byteCount: 2 + payloadWidth, alignment: 8)
        // Digest, salt and info are fixed for the cipher's life; each derivation sets only the key.
        try Self.setHKDFParameters(kdfContext, salt: Self.salt, info: context)
    }

    deinit {
        secureWipe(okm)
        okm.deallocate()
        secureWipe(plaintext)
        plaintext.deallocate()
        EVP_CIPHER_CTX_free(cipherContext)  // cleanses the expanded key schedule
        EVP_CIPHER_free(cipher)
        EVP_KDF_CTX_free(kdfContext)  // cleanses the key it holds
        EVP_KDF_free(kdf)
    }

    private static func setHKDFParameters(_ ctx: OpaquePointer, salt: [UInt8], info: [UInt8]) throws {
        var salt = salt, info = info
        let ok = "digest".withCString { digestKey in
            "SHA256".withCString { digestName in
                "salt".withCString { saltKey in
                    "info".withCString { infoKey in
                        salt.withUnsafeMutableBytes { s in
                            info.withUnsafeMutableBytes { i in
                                let params = [
                                    OSSL_PARAM_construct_utf8_string(digestKey, UnsafeMutablePointer(mutating: digestName), 0),
                                    OSSL_PARAM_construct_octet_string(saltKey, s.baseAddress, s.count),
                                    OSSL_PARAM_construct_octet_string(infoKey, i.baseAddress, i.count),
                                    OSSL_PARAM_construct_end(),
                                ]
                                return EVP_KDF_CTX_set_params(ctx, params)
                            }
                        }
                    }
                }
            }
        }
        guard ok == 1 else { throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_KDF_CTX_set_params(HKDF)") }
    }

    /// HKDF-SHA-256 (RFC 5869) of `ikm` into `output` with the context's salt and info.
    private func derive(_ ikm: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        let ok = "key".withCString { keyName in
            let params = [
                OSSL_PARAM_construct_octet_string(keyName, UnsafeMutableRawPointer(mutating: ikm.baseAddress), ikm.count),
                OSSL_PARAM_construct_end(),
            ]
            return EVP_KDF_derive(kdfContext, output.baseAddress!.assumingMemoryBound(to: UInt8.self), output.count, params)
        }
        guard ok == 1 else { throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_KDF_derive(HKDF)") }
    }

    /// HKDF-SHA-256 (RFC 5869) with an explicit salt and info, for the RFC's test vectors.
    package static func hkdfSHA256(ikm: [UInt8], salt: [UInt8], info: [UInt8], length: Int) throws -> [UInt8] {
        guard (1...(255 * 32)).contains(length) else { throw CleanRoomCryptoError.unsupportedParameter(what: "HKDF length \(length)") }
        let cipher = try EnrichmentRecordCipher(context: info, payloadWidth: 0)
        try setHKDFParameters(cipher.kdfContext, salt: salt, info: info)
        var out = [UInt8](repeating: 0, count: length)
        try ikm.withUnsafeBytes { i in try out.withUnsafeMutableBytes { try cipher.derive(i, into: $0) } }
        return out
    }

    private func checkOutput(_ prfOutput: UnsafeRawBufferPointer) throws {
        guard prfOutput.count == OPRFRistretto255.outputBytes else {
            throw CleanRoomCryptoError.wrongLength(what: "OPRF output", got: prfOutput.count, expected: OPRFRistretto255.outputBytes)
        }
    }

    /// The 16-byte match tag of one 64-byte OPRF output, into `tag`.
    public func matchTag(prfOutput: UnsafeRawBufferPointer, into tag: UnsafeMutableRawBufferPointer) throws {
        try checkOutput(prfOutput)
        guard tag.count == Self.matchTagBytes else {
            throw CleanRoomCryptoError.wrongLength(what: "match tag", got: tag.count, expected: Self.matchTagBytes)
        }
        defer { secureWipe(okm) }
        try derive(prfOutput, into: okm)
        tag.copyMemory(from: UnsafeRawBufferPointer(rebasing: okm[0..<Self.matchTagBytes]))
    }

    /// The match tag of one OPRF output.
    public func matchTag(prfOutput: [UInt8]) throws -> [UInt8] {
        var tag = [UInt8](repeating: 0, count: Self.matchTagBytes)
        try prfOutput.withUnsafeBytes { y in try tag.withUnsafeMutableBytes { try matchTag(prfOutput: y, into: $0) } }
        return tag
    }

    /// Seals `payload` for the holder of `prfOutput`: writes its match tag (16 bytes) and the sealed
    /// record (`sealedBytes`).
    /// - Throws: `payloadTooLong` when the payload exceeds the width; `wrongLength`; `openSSLFailure`.
    public func seal(
        _ payload: UnsafeRawBufferPointer, prfOutput: UnsafeRawBufferPointer,
        tag: UnsafeMutableRawBufferPointer, sealed: UnsafeMutableRawBufferPointer
    ) throws {
        try checkOutput(prfOutput)
        guard payload.count <= payloadWidth else { throw CleanRoomCryptoError.payloadTooLong(length: payload.count, width: payloadWidth) }
        guard tag.count == Self.matchTagBytes, sealed.count == sealedBytes else {
            throw CleanRoomCryptoError.wrongLength(what: "sealed record", got: sealed.count, expected: sealedBytes)
        }
        defer {
            secureWipe(okm)
            secureWipe(plaintext)
        }
        try derive(prfOutput, into: okm)
        tag.copyMemory(from: UnsafeRawBufferPointer(rebasing: okm[0..<Self.matchTagBytes]))
        plaintext.initializeMemory(as: UInt8.self, repeating: 0)
        plaintext[0] = UInt8(payload.count >> 8)
        plaintext[1] = UInt8(payload.count & 0xff)
        if payload.count > 0 { UnsafeMutableRawBufferPointer(rebasing: plaintext[2..<(2 + payload.count)]).copyMemory(from: payload) }
        let base = okm.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let out = sealed.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var length: Int32 = 0
        var finalLength: Int32 = 0
        guard EVP_EncryptInit_ex2(cipherContext, cipher, base + 16, base + 48, nil) == 1,
            EVP_EncryptUpdate(cipherContext, nil, &length, base, Int32(Self.matchTagBytes)) == 1,
            EVP_EncryptUpdate(
                cipherContext, out, &length, plaintext.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(plaintext.count)) == 1,
            EVP_EncryptFinal_ex(cipherContext, out + Int(length), &finalLength) == 1,
            Int(length + finalLength) == plaintext.count,
            EVP_CIPHER_CTX_ctrl(cipherContext, EVP_CTRL_AEAD_GET_TAG, Int32(Self.gcmTagBytes), out + plaintext.count) == 1
        else { throw CleanRoomCryptoError.openSSLFailure(operation: "AES-256-GCM seal") }
    }

    /// Seals `payload`; returns its match tag and the sealed record.
    public func seal(_ payload: [UInt8], prfOutput: [UInt8]) throws -> (tag: [UInt8], sealed: [UInt8]) {
        var tag = [UInt8](repeating: 0, count: Self.matchTagBytes)
        var sealed = [UInt8](repeating: 0, count: sealedBytes)
        try payload.withUnsafeBytes { p in
            try prfOutput.withUnsafeBytes { y in
                try tag.withUnsafeMutableBytes { t in try sealed.withUnsafeMutableBytes { try seal(p, prfOutput: y, tag: t, sealed: $0) } }
            }
        }
        return (tag, sealed)
    }

    /// Opens a sealed record with the keys of `prfOutput` and returns the payload.
    /// - Throws: `wrongLength` for a record of another size; `payloadAuthenticationFailed` when the
    ///   GCM tag does not verify (tampered record, wrong OPRF output, another context or width) or
    ///   the length prefix or padding is malformed.
    public func open(_ sealed: UnsafeRawBufferPointer, prfOutput: UnsafeRawBufferPointer) throws -> [UInt8] {
        try checkOutput(prfOutput)
        guard sealed.count == sealedBytes else {
            throw CleanRoomCryptoError.wrongLength(what: "sealed record", got: sealed.count, expected: sealedBytes)
        }
        defer {
            secureWipe(okm)
            secureWipe(plaintext)
        }
        try derive(prfOutput, into: okm)
        let base = okm.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let input = sealed.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let out = plaintext.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var length: Int32 = 0
        var finalLength: Int32 = 0
        guard EVP_DecryptInit_ex2(cipherContext, cipher, base + 16, base + 48, nil) == 1,
            EVP_DecryptUpdate(cipherContext, nil, &length, base, Int32(Self.matchTagBytes)) == 1,
            EVP_DecryptUpdate(cipherContext, out, &length, input, Int32(plaintext.count)) == 1,
            EVP_CIPHER_CTX_ctrl(
                cipherContext, EVP_CTRL_AEAD_SET_TAG, Int32(Self.gcmTagBytes), UnsafeMutableRawPointer(mutating: input + plaintext.count))
                == 1
        else { throw CleanRoomCryptoError.openSSLFailure(operation: "AES-256-GCM open") }
        guard EVP_DecryptFinal_ex(cipherContext, out + Int(length), &finalLength) == 1 else {
            ERR_clear_error()
            throw CleanRoomCryptoError.payloadAuthenticationFailed
        }
        let payloadLength = Int(plaintext[0]) << 8 | Int(plaintext[1])
        guard payloadLength <= payloadWidth,
            plaintext[(2 + payloadLength)...].allSatisfy({ $0 == 0 })
        else { throw CleanRoomCryptoError.payloadAuthenticationFailed }
        return Array(plaintext[2..<(2 + payloadLength)])
    }

    /// Opens a sealed record with the keys of `prfOutput`.
    public func open(_ sealed: [UInt8], prfOutput: [UInt8]) throws -> [UInt8] {
        try sealed.withUnsafeBytes { s in try prfOutput.withUnsafeBytes { try open(s, prfOutput: $0) } }
    }
}
