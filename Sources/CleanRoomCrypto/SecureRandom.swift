// Randomness for CleanRoom. Sessions draw every random byte from OpenSSL's DRBG
// (RAND_priv_bytes), never from GMP's or Swift's generators. A `RandomSource` parameter exists so
// that tests can replay a session byte for byte with `SeededRandom` (SPI `Deterministic`, which
// the command-line tool never imports).
import COpenSSL

/// Where random bytes come from.
public protocol RandomSource: Sendable {
    /// Fills `buffer` with random bytes.
    func fill(_ buffer: UnsafeMutableRawBufferPointer) throws
    /// A random prime of exactly `bits` bits with its top two bits set (for Paillier).
    func generatePrime(bits: Int) throws -> BigInteger
}

/// OpenSSL's private DRBG: the source every session uses.
public struct SystemRandom: RandomSource {
    public init() {}

    public func fill(_ buffer: UnsafeMutableRawBufferPointer) throws {
        guard buffer.count > 0 else { return }
        var offset = 0
        while offset < buffer.count {
            let chunk = min(buffer.count - offset, Int(Int32.max))
            let start = buffer.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self)
            guard RAND_priv_bytes(start, Int32(chunk)) == 1 else {
                throw CleanRoomCryptoError.openSSLFailure(operation: "RAND_priv_bytes")
            }
            offset += chunk
        }
    }

    /// A prime from OpenSSL's `BN_generate_prime_ex2` (top two bits set, so products of two
    /// such primes have exactly twice the bits).
    public func generatePrime(bits: Int) throws -> BigInteger {
        guard let ctx = BN_CTX_secure_new() else { throw CleanRoomCryptoError.openSSLFailure(operation: "BN_CTX_secure_new") }
        defer { BN_CTX_free(ctx) }
        guard let bn = BN_secure_new() else { throw CleanRoomCryptoError.openSSLFailure(operation: "BN_secure_new") }
        defer { BN_clear_free(bn) }
        guard BN_generate_prime_ex2(bn, Int32(bits), 0, nil, nil, nil, ctx) == 1 else {
            throw CleanRoomCryptoError.openSSLFailure(operation: "BN_generate_prime_ex2")
        }
        return try BigInteger(bignum: bn, bytes: (bits + 7) / 8)
    }
}

/// Helpers over a `RandomSource` (default: OpenSSL's DRBG).
public enum SecureRandom {
    /// The source sessions use.
    public static let system = SystemRandom()

    /// Fills `buffer` from `source`.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer, using source: some RandomSource = system) throws {
        try source.fill(buffer)
    }

    /// Returns `count` random bytes.
    public static func bytes(_ count: Int, using source: some RandomSource = system) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        try out.withUnsafeMutableBytes { try source.fill($0) }
        return out
    }

    /// A uniformly random integer in `0..<bound` (rejection sampling, no modulo bias).
    public static func uniform(below bound: UInt64, using source: some RandomSource = system) throws -> UInt64 {
        precondition(bound > 0, "bound must be positive")
        let limit = UInt64.max - (UInt64.max % bound)  // values >= limit are rejected
        while true {
            var v: UInt64 = 0
            try withUnsafeMutableBytes(of: &v) { try source.fill($0) }
            if v < limit { return v % bound }
        }
    }

    /// Shuffles `count` consecutive records of `width` bytes in place (Fisher–Yates with
    /// rejection-sampled indices, so every permutation is equally likely).
    public static func shuffle(
        records buffer: UnsafeMutableRawBufferPointer, width: Int, using source: some RandomSource = system
    ) throws {
        precondition(width > 0 && buffer.count % width == 0, "buffer must hold whole records")
        let count = buffer.count / width
        guard count > 1 else { return }
        let words = RandomWords(source: source)
        let temp = UnsafeMutableRawBufferPointer.allocate(byteCount: width, alignment: 8)
        defer { temp.deallocate() }
        let base = buffer.baseAddress!
        for i in stride(from: count - 1, to: 0, by: -1) {
            let j = Int(try words.uniform(below: UInt64(i + 1)))
            if i != j {
                temp.baseAddress!.copyMemory(from: base + i * width, byteCount: width)
                (base + i * width).copyMemory(from: base + j * width, byteCount: width)
                (base + j * width).copyMemory(from: temp.baseAddress!, byteCount: width)
            }
        }
    }

    /// A uniformly random permutation of `0..<count`.
    public static func permutation(count: Int, using source: some RandomSource = system) throws -> [Int] {
        var p = Array(0..<count)
        guard count > 1 else { return p }
        let words = RandomWords(source: source)
        for i in stride(from: count - 1, to: 0, by: -1) {
            p.swapAt(i, Int(try words.uniform(below: UInt64(i + 1))))
        }
        return p
    }
}

/// Draws 64-bit words from a source `capacity` at a time (512 by default), so shuffles and noise
/// samplers do not call the DRBG per element. Words left unused are wiped, never reused.
final class RandomWords<Source: RandomSource> {
    private let source: Source
    private var buffer: [UInt64]
    private var next: Int

    init(source: Source, capacity: Int = 512) {
        precondition(capacity > 0, "capacity must be positive")
        self.source = source
        buffer = [UInt64](repeating: 0, count: capacity)
        next = capacity
    }

    deinit { buffer.withUnsafeMutableBytes { secureWipe($0) } }

    func word() throws -> UInt64 {
        if next == buffer.count {
            try buffer.withUnsafeMutableBytes { try source.fill($0) }
            next = 0
        }
        defer { next += 1 }
        return buffer[next]
    }

    func uniform(below bound: UInt64) throws -> UInt64 {
        let limit = UInt64.max - (UInt64.max % bound)
        while true {
            let v = try word()
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

/// A type-erased random source, for storing a caller's choice.
public struct AnyRandomSource: RandomSource {
    private let base: any RandomSource

    public init(_ base: any RandomSource) { self.base = base }

    public func fill(_ buffer: UnsafeMutableRawBufferPointer) throws { try base.fill(buffer) }
    public func generatePrime(bits: Int) throws -> BigInteger { try base.generatePrime(bits: bits) }
}
