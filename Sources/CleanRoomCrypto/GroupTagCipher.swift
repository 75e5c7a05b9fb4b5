// Re-randomisable group tags for grouped intersection-sum: EC-ElGamal over ristretto255 (RFC 9496,
// a prime-order group; T. ElGamal, "A public key cryptosystem and a signature scheme based on
// discrete logarithms", 1985, in its additive form).
//
// P1 holds the key y (Y = y·B) and tags each blinded identifier with Enc(g) = (r·B, (g+1)·B + r·Y)
// for its group index g. P2 re-randomises every tag it carries, (c1 + s·B, c2 + s·Y) with fresh s,
// before shuffling, so the tags P1 gets back cannot be linked to the ones it sent: P2's shuffle
// keeps hiding which of P1's identifiers matched. P1 decrypts c2 − y·c1 = (g+1)·B and looks it
// up among its few group points. (An AEAD tag would pass through P2 unchanged and let P1 undo
// the shuffle; this construction exists to prevent exactly that.)
// Tags authenticate nothing: a hostile P2 can move or replace them. Every point is checked to be a
// valid ristretto255 encoding and not the identity (a public property of the bytes); a tag that
// decrypts to no known group is reported as such, not thrown, since whether a shifted tag lands on
// a group depends on P1's secret labels.
//
// Two implementations give the same bytes for the same randomness: eight tags at a time on AVX-512
// IFMA (CCleanRoomShim/ristretto255_ifma.c: fixed-base tables for B and Y, a constant-time
// variable-base multiplication for opening), and libsodium's ristretto255 one tag at a time on
// other CPUs, with CLEANROOM_DISABLE_IFMA=1, or with `accelerated: false`. Scalars come from the
// caller's RandomSource (sessions: OpenSSL's DRBG), 64 bytes reduced mod ℓ; libsodium is used for
// group and scalar arithmetic only. The group lookup after opening is a Dictionary, whose time may
// differ slightly between a hit and a miss (as with the P-256 tags); a miss is reported to the peer
// as an anomaly count anyway.
// Thread safety: immutable after construction; all methods may run concurrently.
import CCleanRoomShim
import CSodium

/// Shared ristretto255 plumbing.
public enum GroupTag {
    /// One tag: two ristretto255 encodings, c1 ‖ c2.
    public static let tagBytes = 64
    /// One point of a tag.
    static let pointBytes = 32
    /// A public key: one ristretto255 encoding.
    public static let publicKeyBytes = 32
    /// Tags per kernel call.
    static let lanes = 8

    /// libsodium is initialised once (it keeps no state for ristretto255).
    static let sodiumReady: Bool = sodium_init() >= 0

    /// The encoding of the generator B (RFC 9496 Appendix A.1, 1·B).
    static let generator: [UInt8] = [
        0xe2, 0xf2, 0xae, 0x0a, 0x6a, 0xbc, 0x4e, 0x71, 0xa8, 0x84, 0xa9, 0x61, 0xc5, 0x00, 0x51, 0x5f,
        0x58, 0xe3, 0x0b, 0x6a, 0xa5, 0x82, 0xdd, 0x8d, 0xb6, 0xa6, 0x59, 0x45, 0xe0, 0x8d, 0x2d, 0x76,
    ]

    /// B's fixed-base table for the IFMA kernels, built once per process (about 0.6 ms); nil when
    /// the kernels are not available.
    static let baseTable: GroupTagTable? = GroupTagTable(point: generator)

    static func sodiumFailure(_ op: String) -> CleanRoomCryptoError { .libsodiumFailure(operation: op) }

    static func ready() throws {
        guard sodiumReady else { throw sodiumFailure("sodium_init") }
    }

    /// A uniformly random non-zero scalar mod ℓ at `out` (32 bytes): 64 bytes from `source`
    /// reduced mod ℓ (bias below 2^-250). Zero, with probability about 2^-252, is refused.
    static func randomScalar(into out: UnsafeMutablePointer<UInt8>, using source: some RandomSource) throws {
        var wide = try SecureRandom.bytes(64, using: source)
        defer { secureWipe(&wide) }
        crypto_core_ristretto255_scalar_reduce(out, wide)
        guard sodium_is_zero(out, 32) == 0 else { throw sodiumFailure("a zero scalar") }
    }

    /// Whether 32 bytes are a canonical ristretto255 encoding other than the identity: the OPRF's
    /// element checks, which also refuse bit 255 set (libsodium 1.0.18 alone would accept it).
    static func isValidPoint(_ p: UnsafePointer<UInt8>) -> Bool {
        (try? OPRFRistretto255.validateElement(UnsafeRawBufferPointer(start: p, count: pointBytes), index: 0)) != nil
    }

    /// The part of `isValidPoint` that libsodium's own decoding skips (bit 255 set, the identity),
    /// for operations that decode the point themselves and fail on every other bad encoding.
    static func passesPrefilter(_ p: UnsafePointer<UInt8>) -> Bool {
        p[31] & 0x80 == 0 && sodium_is_zero(p, pointBytes) == 0
    }

    /// Whether the accelerated path runs, for `bench crypto` and the tests.
    public static var isAccelerated: Bool { baseTable != nil }

    /// k·B for each 32-byte little-endian scalar below 2^255, through the IFMA kernel (eight at a
    /// time) or libsodium; the identity comes out as 32 zero bytes on both. For the RFC 9496
    /// vectors and the cross-checks.
    /// - Throws: `wrongLength` for a scalar of another size; `unsupportedParameter` when
    ///   `accelerated` is true and the kernel is not available.
    public static func baseMultiples(_ scalars: [[UInt8]], accelerated: Bool) throws -> [[UInt8]] {
        try ready()
        for k in scalars where k.count != 32 { throw CleanRoomCryptoError.wrongLength(what: "scalar", got: k.count, expected: 32) }
        guard !accelerated else {
            guard let base = baseTable else { throw CleanRoomCryptoError.unsupportedParameter(what: "the IFMA kernel is not available") }
            var out: [[UInt8]] = []
            for start in Swift.stride(from: 0, to: scalars.count, by: lanes) {
                var batch = [UInt8](), result = [UInt8](repeating: 0, count: 32 * lanes)
                for i in 0..<lanes { batch += scalars[min(start + i, scalars.count - 1)] }
                guard cr_r255_fixed_mul8(&result, base.pointer, batch) == 0 else { throw sodiumFailure("cr_r255_fixed_mul8") }
                for i in 0..<min(lanes, scalars.count - start) { out.append(Array(result[(32 * i)..<(32 * i + 32)])) }
            }
            return out
        }
        return scalars.map { k in
            var p = [UInt8](repeating: 0, count: 32), clamped = k
            clamped[31] &= 0x7f
            // libsodium refuses to return the identity; its encoding is all zeros.
            if crypto_scalarmult_ristretto255_base(&p, clamped) != 0 { p = [UInt8](repeating: 0, count: 32) }
            return p
        }
    }
}

/// A fixed-base table of one point for the IFMA kernels (ristretto255_ifma.c), wiped on release.
final class GroupTagTable: @unchecked Sendable {
    let pointer: OpaquePointer

    /// nil when the kernels are not available or `point` is not a valid non-identity encoding.
    init?(point: [UInt8]) {
        guard point.count == GroupTag.pointBytes, let table = cr_r255_table_new(point) else { return nil }
        pointer = table
    }

    deinit { cr_r255_table_free(pointer) }
}

/// A scratch buffer for scalars, wiped when released.
private struct ScalarScratch: ~Copyable {
    let base: UnsafeMutablePointer<UInt8>
    let count: Int
    init(bytes: Int) {
        count = bytes
        base = .allocate(capacity: bytes)
        base.initialize(repeating: 0, count: bytes)
    }
    deinit {
        secureWipe(UnsafeMutableRawBufferPointer(start: base, count: count))
        base.deallocate()
    }
}

/// P1's side: the ElGamal key, sealing and opening tags.
public final class GroupTagKey: @unchecked Sendable {
    /// The secret scalar y (32 bytes, little-endian, below ℓ), wiped in deinit.
    private let y: UnsafeMutablePointer<UInt8>
    /// Y = y·B, sent to P2 so it can re-randomise tags.
    public let publicKey: [UInt8]
    /// Encoding of (g+1)·B → g, for the groups this key opens.
    private let lookup: [[UInt8]: UInt32]
    /// Whether this key uses the IFMA kernels.
    public let accelerated: Bool

    /// A fresh key able to open tags of groups 0..<groupCount.
    /// - Parameter accelerated: false forces libsodium (the reference the kernels are tested against).
    public init(groupCount: Int, accelerated: Bool = true, using source: some RandomSource = SecureRandom.system) throws {
        precondition(groupCount >= 1 && groupCount <= Int(UInt32.max))
        try GroupTag.ready()
        y = .allocate(capacity: 32)
        y.initialize(repeating: 0, count: 32)
        do { try GroupTag.randomScalar(into: y, using: source) } catch {
            y.deallocate()
            throw error
        }
        var pk = [UInt8](repeating: 0, count: GroupTag.publicKeyBytes)
        guard crypto_scalarmult_ristretto255_base(&pk, y) == 0 else {
            secureWipe(UnsafeMutableRawBufferPointer(start: y, count: 32))
            y.deallocate()
            throw GroupTag.sodiumFailure("crypto_scalarmult_ristretto255_base")
        }
        publicKey = pk
        var table: [[UInt8]: UInt32] = [:]
        table.reserveCapacity(groupCount)
        var point = GroupTag.generator
        for g in 0..<groupCount {
            table[point] = UInt32(g)
            let previous = point
            guard crypto_core_ristretto255_add(&point, previous, GroupTag.generator) == 0 else {
                secureWipe(UnsafeMutableRawBufferPointer(start: y, count: 32))
                y.deallocate()
                throw GroupTag.sodiumFailure("crypto_core_ristretto255_add")
            }
        }
        lookup = table
        self.accelerated = accelerated && GroupTag.baseTable != nil
    }

    deinit {
        secureWipe(UnsafeMutableRawBufferPointer(start: y, count: 32))
        y.deallocate()
    }

    /// Writes Enc(groups[i]) (`GroupTag.tagBytes` bytes) at `out + stride·i` for every i, with
    /// one fresh scalar r per tag from `source`, drawn in order (both paths draw the same bytes).
    /// - Throws: `unsupportedParameter` for a group beyond the key's table (nothing written).
    public func seal(
        groups: UnsafeBufferPointer<UInt32>, into out: UnsafeMutablePointer<UInt8>, stride: Int,
        using source: some RandomSource = SecureRandom.system
    ) throws {
        for group in groups where Int(group) >= lookup.count {
            throw CleanRoomCryptoError.unsupportedParameter(what: "group \(group) beyond the key's table")
        }
        let lanes = GroupTag.lanes
        // r (8 × 32), k (8 × 32), r·y and g+1 (32 each), two outputs (8 × 32 each)
        let scratch = ScalarScratch(bytes: 32 * (4 * lanes + 2))
        let r = scratch.base, k = r + 32 * lanes, ry = k + 32 * lanes, gp1 = ry + 32
        let c1 = gp1 + 32, c2 = c1 + 32 * lanes
        var start = 0
        while start < groups.count {
            let n = min(lanes, groups.count - start)
            for i in 0..<n {
                try GroupTag.randomScalar(into: r + 32 * i, using: source)
                // P1 knows y, so r·Y = (r·y)·B and c2 = k·B with k = (g + 1 + r·y) mod ℓ: both
                // points are multiples of the generator (libsodium's scalar arithmetic is constant time).
                crypto_core_ristretto255_scalar_mul(ry, r + 32 * i, y)
                gp1.initialize(repeating: 0, count: 32)
                withUnsafeBytes(of: (UInt64(groups[start + i]) + 1).littleEndian) {
                    gp1.update(from: $0.bindMemory(to: UInt8.self).baseAddress!, count: 8)
                }
                crypto_core_ristretto255_scalar_add(k + 32 * i, ry, gp1)
                guard sodium_is_zero(k + 32 * i, 32) == 0 else { throw GroupTag.sodiumFailure("a zero scalar") }
            }
            if accelerated, let base = GroupTag.baseTable {
                for i in n..<lanes {
                    (r + 32 * i).update(from: r, count: 32)
                    (k + 32 * i).update(from: k, count: 32)
                }
                guard cr_r255_fixed_mul8(c1, base.pointer, r) == 0, cr_r255_fixed_mul8(c2, base.pointer, k) == 0 else {
                    throw CleanRoomCryptoError.unsupportedParameter(what: "the IFMA kernel became unavailable")
                }
                for i in 0..<n {
                    let tag = out + stride * (start + i)
                    tag.update(from: c1 + 32 * i, count: 32)
                    (tag + 32).update(from: c2 + 32 * i, count: 32)
                }
            } else {
                for i in 0..<n {
                    let tag = out + stride * (start + i)
                    guard crypto_scalarmult_ristretto255_base(tag, r + 32 * i) == 0,
                        crypto_scalarmult_ristretto255_base(tag + 32, k + 32 * i) == 0
                    else { throw GroupTag.sodiumFailure("crypto_scalarmult_ristretto255_base") }
                }
            }
            start += n
        }
    }

    /// Writes Enc(group) (`GroupTag.tagBytes` bytes) at `out`.
    public func seal(group: UInt32, into out: UnsafeMutablePointer<UInt8>, using source: some RandomSource = SecureRandom.system) throws {
        try withUnsafePointer(to: group) {
            try seal(groups: UnsafeBufferPointer(start: $0, count: 1), into: out, stride: GroupTag.tagBytes, using: source)
        }
    }

    /// Decrypts `count` tags at `tags + stride·i` to their group indices; nil where a tag decrypts
    /// to no group of this key (a tag the peer altered). Callers must treat nil without a visible
    /// reaction: whether an altered tag lands on a group depends on the secret group index. Every
    /// tag takes the same path whatever it decrypts to (the identity included: its encoding is
    /// looked up like any other and found nowhere).
    /// - Throws: `invalidGroupTag` when a point is not a valid encoding or is the identity (public:
    ///   a property of the bytes).
    public func open(_ tags: UnsafePointer<UInt8>, stride: Int, count: Int) throws -> [UInt32?] {
        try decrypt(tags, stride: stride, count: count).map { lookup[$0] }
    }

    /// c2 − y·c1 for each tag, encoded (the identity as 32 zero bytes).
    func decrypt(_ tags: UnsafePointer<UInt8>, stride: Int, count: Int) throws -> [[UInt8]] {
        var points: [[UInt8]] = []
        points.reserveCapacity(count)
        let lanes = GroupTag.lanes
        let scratch = ScalarScratch(bytes: 64 * lanes + 32 * lanes)
        let batch = scratch.base, out = batch + 64 * lanes
        var start = 0
        while start < count {
            let n = min(lanes, count - start)
            if accelerated {
                for i in 0..<lanes { (batch + 64 * i).update(from: tags + stride * (start + min(i, n - 1)), count: 64) }
                let invalid = cr_r255_open8(out, batch, y)
                guard invalid >= 0 else { throw CleanRoomCryptoError.unsupportedParameter(what: "the IFMA kernel became unavailable") }
                guard invalid == 0 else { throw CleanRoomCryptoError.invalidGroupTag }
            } else {
                for i in 0..<n {
                    let tag = tags + stride * (start + i), m = out + 32 * i
                    // libsodium decodes (and so checks) c1 in the multiplication and c2 in the
                    // subtraction; what it lets through (bit 255, the identity) is refused first.
                    // y·c1 is never the identity for a valid c1 ≠ 0 (ℓ is prime, y ≠ 0).
                    guard GroupTag.passesPrefilter(tag), GroupTag.passesPrefilter(tag + 32), crypto_scalarmult_ristretto255(m, y, tag) == 0,
                        crypto_core_ristretto255_sub(m, tag + 32, m) == 0
                    else { throw CleanRoomCryptoError.invalidGroupTag }
                }
            }
            for i in 0..<n { points.append(Array(UnsafeBufferPointer(start: out + 32 * i, count: 32))) }
            start += n
        }
        return points
    }

    /// Decrypts one tag (see `open(_:stride:count:)`).
    public func open(_ tag: UnsafePointer<UInt8>) throws -> UInt32? {
        try open(tag, stride: GroupTag.tagBytes, count: 1)[0]
    }
}

/// P2's side: re-randomises tags under P1's public key without learning anything from them.
public final class GroupTagRerandomizer: @unchecked Sendable {
    private let publicPoint: [UInt8]
    /// Y's fixed-base table (built once per session, about 0.6 ms); nil on the libsodium path.
    private let keyTable: GroupTagTable?

    /// - Parameter accelerated: false forces libsodium.
    /// - Throws: `wrongLength` for a key of another size; `invalidGroupTag` when `publicKey` is not
    ///   a valid ristretto255 encoding or is the identity (which would leave c2 unchanged).
    public init(publicKey: [UInt8], accelerated: Bool = true) throws {
        guard publicKey.count == GroupTag.publicKeyBytes else {
            throw CleanRoomCryptoError.wrongLength(what: "group-tag public key", got: publicKey.count, expected: GroupTag.publicKeyBytes)
        }
        try GroupTag.ready()
        guard GroupTag.isValidPoint(publicKey) else { throw CleanRoomCryptoError.invalidGroupTag }
        publicPoint = publicKey
        keyTable = accelerated && GroupTag.baseTable != nil ? GroupTagTable(point: publicKey) : nil
    }

    /// Replaces each of the `count` tags at `tags + stride·i` by (c1 + s·B, c2 + s·Y) with a fresh
    /// s per tag from `source`, drawn in order.
    /// - Throws: `invalidGroupTag` when a point is not a valid encoding or is the identity.
    public func rerandomize(
        _ tags: UnsafeMutablePointer<UInt8>, stride: Int, count: Int, using source: some RandomSource = SecureRandom.system
    ) throws {
        let lanes = GroupTag.lanes
        let scratch = ScalarScratch(bytes: 32 * lanes + 64 * lanes + 64)
        let s = scratch.base, batch = s + 32 * lanes, t = batch + 64 * lanes
        var start = 0
        while start < count {
            let n = min(lanes, count - start)
            for i in 0..<n { try GroupTag.randomScalar(into: s + 32 * i, using: source) }
            if let keyTable, let base = GroupTag.baseTable {
                for i in n..<lanes { (s + 32 * i).update(from: s, count: 32) }
                for i in 0..<lanes { (batch + 64 * i).update(from: tags + stride * (start + min(i, n - 1)), count: 64) }
                let invalid = cr_r255_rerandomize8(batch, base.pointer, keyTable.pointer, s)
                guard invalid >= 0 else { throw CleanRoomCryptoError.unsupportedParameter(what: "the IFMA kernel became unavailable") }
                guard invalid == 0 else { throw CleanRoomCryptoError.invalidGroupTag }
                for i in 0..<n { (tags + stride * (start + i)).update(from: batch + 64 * i, count: 64) }
            } else {
                for i in 0..<n {
                    let tag = tags + stride * (start + i)
                    guard GroupTag.passesPrefilter(tag), GroupTag.passesPrefilter(tag + 32) else {
                        throw CleanRoomCryptoError.invalidGroupTag
                    }
                    // s ≠ 0 and Y is valid and not the identity: neither product can fail.
                    guard crypto_scalarmult_ristretto255_base(t, s + 32 * i) == 0,
                        crypto_scalarmult_ristretto255(t + 32, s + 32 * i, publicPoint) == 0
                    else { throw GroupTag.sodiumFailure("crypto_scalarmult_ristretto255") }
                    // The additions decode (and so check) c1 and c2; a tag is written only whole.
                    guard crypto_core_ristretto255_add(t, tag, t) == 0, crypto_core_ristretto255_add(t + 32, tag + 32, t + 32) == 0 else {
                        throw CleanRoomCryptoError.invalidGroupTag
                    }
                    tag.update(from: t, count: 64)
                }
            }
            start += n
        }
    }

    /// Re-randomises one tag (see `rerandomize(_:stride:count:using:)`).
    public func rerandomize(_ tag: UnsafeMutablePointer<UInt8>, using source: some RandomSource = SecureRandom.system) throws {
        try rerandomize(tag, stride: GroupTag.tagBytes, count: 1, using: source)
    }
}
