// Randomness for CleanRoom: every random byte comes from OpenSSL's DRBG (RAND_priv_bytes for
// secrets, RAND_bytes for public values), never from GMP's or Swift's generators.
import COpenSSL

/// Access to OpenSSL's random generator.
public enum SecureRandom {
    /// Fills `buffer` with bytes from OpenSSL's private DRBG (`RAND_priv_bytes`).
    /// - Throws: `CleanRoomCryptoError.openSSLFailure` when the DRBG cannot produce output.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) throws {
        guard buffer.count > 0 else { return }
        var offset = 0
        while offset < buffer.count {
            let chunk = min(buffer.count - offset, Int(Int32.max))
            guard RAND_priv_bytes(buffer.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self), Int32(chunk)) == 1 else {
                throw CleanRoomCryptoError.openSSLFailure(operation: "RAND_priv_bytes")
            }
            offset += chunk
        }
    }

    /// Returns `count` random bytes from OpenSSL's private DRBG.
    public static func bytes(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        try out.withUnsafeMutableBytes { try fill($0) }
        return out
    }

    /// A uniformly random integer in `0..<bound` (rejection sampling, no modulo bias).
    public static func uniform(below bound: UInt64) throws -> UInt64 {
        precondition(bound > 0, "bound must be positive")
        let limit = UInt64.max - (UInt64.max % bound)  // values >= limit are rejected
        while true {
            var v: UInt64 = 0
            try withUnsafeMutableBytes(of: &v) { try fill($0) }
            if v < limit { return v % bound }
        }
    }
}

/// Overwrites memory in a way the compiler may not elide (OpenSSL's `OPENSSL_cleanse`).
@inlinable
public func secureWipe(_ buffer: UnsafeMutableRawBufferPointer) {
    if let base = buffer.baseAddress, buffer.count > 0 {
        OPENSSL_cleanse(base, buffer.count)
    }
}

/// Overwrites an array's storage in place.
@inlinable
public func secureWipe(_ array: inout [UInt8]) {
    array.withUnsafeMutableBytes { secureWipe($0) }
}
