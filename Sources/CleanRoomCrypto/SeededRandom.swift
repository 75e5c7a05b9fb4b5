// A deterministic random source for transcript vectors and reproducible tests ONLY: AES-256-CTR
// keystream (OpenSSL EVP) under SHA-256("CLEANROOM-SEEDED-RANDOM-V1" || seed). It is exposed as
// SPI (`@_spi(Deterministic) import CleanRoomCrypto`); the command-line tool never imports it, so
// no normal run can select it. Never use it for real sessions: the seed is the whole secret.
import COpenSSL
import Foundation

/// A seeded, reproducible random source (tests and transcript vectors only).
@_spi(Deterministic)
public final class SeededRandom: RandomSource, @unchecked Sendable {
    private let lock = NSLock()
    private let ctx: OpaquePointer

    /// - Throws: `openSSLFailure` when AES-256-CTR is unavailable.
    public init(seed: [UInt8]) throws {
        var key = try SHA256.hash(Array("CLEANROOM-SEEDED-RANDOM-V1".utf8) + seed)
        defer { secureWipe(&key) }
        let iv = [UInt8](repeating: 0, count: 16)
        guard let ctx = EVP_CIPHER_CTX_new() else { throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_CIPHER_CTX_new") }
        guard let cipher = EVP_CIPHER_fetch(nil, "AES-256-CTR", nil) else {
            EVP_CIPHER_CTX_free(ctx)
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_CIPHER_fetch(AES-256-CTR)")
        }
        defer { EVP_CIPHER_free(cipher) }
        guard EVP_EncryptInit_ex2(ctx, cipher, key, iv, nil) == 1 else {
            EVP_CIPHER_CTX_free(ctx)
            throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_EncryptInit_ex2")
        }
        self.ctx = ctx
    }

    /// A source seeded from a text label (convenient in tests).
    public convenience init(seed: String) throws { try self.init(seed: Array(seed.utf8)) }

    deinit { EVP_CIPHER_CTX_free(ctx) }

    public func fill(_ buffer: UnsafeMutableRawBufferPointer) throws {
        guard buffer.count > 0 else { return }
        lock.lock()
        defer { lock.unlock() }
        let p = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
        p.initialize(repeating: 0, count: buffer.count)
        var offset = 0
        while offset < buffer.count {
            let chunk = min(buffer.count - offset, 1 << 30)
            var outLen: Int32 = 0
            guard EVP_EncryptUpdate(ctx, p + offset, &outLen, p + offset, Int32(chunk)) == 1, Int(outLen) == chunk else {
                throw CleanRoomCryptoError.openSSLFailure(operation: "EVP_EncryptUpdate")
            }
            offset += chunk
        }
    }

    /// A prime found by stepping from a seeded odd candidate with its top two bits set, tested
    /// with OpenSSL's `BN_check_prime`.
    public func generatePrime(bits: Int) throws -> BigInteger {
        var bytes = [UInt8](repeating: 0, count: (bits + 7) / 8)
        defer { secureWipe(&bytes) }
        try bytes.withUnsafeMutableBytes { try fill($0) }
        let extra = bytes.count * 8 - bits
        bytes[0] &= UInt8(0xff >> extra)
        bytes[0] |= UInt8(0xc0 >> extra)
        bytes[bytes.count - 1] |= 1
        guard let ctx = BN_CTX_new(), let bn = BN_bin2bn(bytes, Int32(bytes.count), nil) else {
            throw CleanRoomCryptoError.openSSLFailure(operation: "BN_bin2bn")
        }
        defer { BN_CTX_free(ctx); BN_clear_free(bn) }
        while true {
            let r = BN_check_prime(bn, ctx, nil)
            if r == 1 { break }
            guard r == 0, BN_add_word(bn, 2) == 1 else { throw CleanRoomCryptoError.openSSLFailure(operation: "BN_check_prime") }
        }
        guard BN_num_bits(bn) == Int32(bits) else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "seeded prime search overflowed \(bits) bits")
        }
        return try BigInteger(bignum: bn, bytes: bytes.count)
    }
}
