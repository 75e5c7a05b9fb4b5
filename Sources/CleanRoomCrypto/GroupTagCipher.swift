// Re-randomisable group tags for grouped intersection-sum: EC-ElGamal over NIST P-256 (OpenSSL
// EC; T. ElGamal, "A public key cryptosystem and a signature scheme based on discrete
// logarithms", 1985, in its additive form on an elliptic curve).
//
// P1 holds the key y (Y = y·G) and tags each blinded identifier with Enc(g) = (r·G, (g+1)·G + r·Y)
// for its group index g. P2 re-randomises every tag it carries, (c1 + s·G, c2 + s·Y) with fresh s,
// before shuffling, so the tags P1 gets back cannot be linked to the ones it sent: P2's shuffle
// keeps hiding which of P1's identifiers matched. P1 decrypts c2 − y·c1 = (g+1)·G and looks it
// up among its few group points. (An AEAD tag would pass through P2 unchanged and let P1 undo
// the shuffle; this construction exists to prevent exactly that.)
// Tags authenticate nothing: a hostile P2 can move or replace them. Every point is checked to be on
// the curve (a public property of the bytes); a tag that decrypts to no known group is reported as
// such, not thrown, since whether a shifted tag lands on a group depends on P1's secret labels.
// Thread safety: immutable after construction; all methods may run concurrently.
import CGMP
import COpenSSL

/// Shared P-256 plumbing.
public enum GroupTag {
    /// One tag: two uncompressed P-256 points (SEC 1 `04` ‖ x ‖ y). Uncompressed, a point is
    /// checked by evaluating the curve equation instead of recovering y by a square root, which
    /// was the largest single cost of re-randomising and opening a compressed tag.
    public static let tagBytes = 130
    /// One point of a tag.
    static let pointBytes = 65
    /// A public key: one compressed point.
    public static let publicKeyBytes = 33

    /// The P-256 group; EC_GROUP objects are read-only after creation and safe to share.
    nonisolated(unsafe) static let curve: OpaquePointer = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)!

    static func fail(_ op: String) -> CleanRoomCryptoError { .openSSLFailure(operation: op) }

    /// A uniformly random scalar in [1, order) from `source` (48 bytes reduced: bias below 2^-128).
    static func randomScalar(_ source: some RandomSource, ctx: OpaquePointer) throws -> OpaquePointer {
        var bytes = try SecureRandom.bytes(48, using: source)
        defer { secureWipe(&bytes) }
        guard let k = BN_secure_new(), let wide = BN_bin2bn(bytes, 48, nil) else { throw fail("BN_bin2bn") }
        defer { BN_clear_free(wide) }
        let order = EC_GROUP_get0_order(curve)!
        guard let orderMinus1 = BN_dup(order) else { throw fail("BN_dup") }
        defer { BN_free(orderMinus1) }
        // k = wide mod (order − 1) + 1, in [1, order)
        guard BN_sub_word(orderMinus1, 1) == 1, BN_nnmod(k, wide, orderMinus1, ctx) == 1, BN_add_word(k, 1) == 1 else {
            BN_clear_free(k)
            throw fail("BN_nnmod")
        }
        return k
    }

    static func encode(_ p: OpaquePointer, into out: UnsafeMutablePointer<UInt8>, ctx: OpaquePointer) throws {
        guard EC_POINT_point2oct(curve, p, POINT_CONVERSION_COMPRESSED, out, 33, ctx) == 33 else { throw fail("EC_POINT_point2oct") }
    }

    /// A tag's point, uncompressed (65 bytes).
    static func encodeTagPoint(_ p: OpaquePointer, into out: UnsafeMutablePointer<UInt8>, ctx: OpaquePointer) throws {
        guard EC_POINT_point2oct(curve, p, POINT_CONVERSION_UNCOMPRESSED, out, pointBytes, ctx) == pointBytes else {
            throw fail("EC_POINT_point2oct")
        }
    }

    /// Decodes a tag's uncompressed point; rejects other forms, points off the curve (OpenSSL
    /// checks the equation for this form) and the point at infinity.
    static func decodeTagPoint(_ bytes: UnsafePointer<UInt8>, ctx: OpaquePointer) throws -> OpaquePointer {
        guard let p = EC_POINT_new(curve) else { throw fail("EC_POINT_new") }
        guard bytes[0] == 4, EC_POINT_oct2point(curve, p, bytes, pointBytes, ctx) == 1, EC_POINT_is_at_infinity(curve, p) == 0
        else {
            EC_POINT_free(p)
            ERR_clear_error()
            throw CleanRoomCryptoError.invalidGroupTag
        }
        return p
    }

    /// Decodes a compressed point; rejects encodings off the curve and the point at infinity.
    static func decode(_ bytes: UnsafePointer<UInt8>, ctx: OpaquePointer) throws -> OpaquePointer {
        guard let p = EC_POINT_new(curve) else { throw fail("EC_POINT_new") }
        guard bytes[0] == 2 || bytes[0] == 3, EC_POINT_oct2point(curve, p, bytes, 33, ctx) == 1, EC_POINT_is_at_infinity(curve, p) == 0
        else {
            EC_POINT_free(p)
            ERR_clear_error()
            throw CleanRoomCryptoError.invalidGroupTag
        }
        return p
    }

    static func context() throws -> OpaquePointer {
        guard let ctx = BN_CTX_new() else { throw fail("BN_CTX_new") }
        return ctx
    }
}

/// P1's side: the ElGamal key, sealing and opening tags.
public final class GroupTagKey: @unchecked Sendable {
    private let y: OpaquePointer  // secret scalar (BN_secure)
    /// y as four little-endian limbs, and the group order n, for sealing (`sealScalar`).
    private let yLimbs: UnsafeMutablePointer<mp_limb_t>
    private let orderLimbs: [mp_limb_t]
    private let publicPoint: OpaquePointer  // Y = y·G
    /// Compressed Y, sent to P2 so it can re-randomise tags.
    public let publicKey: [UInt8]
    /// Compressed (g+1)·G → g, for the groups this key opens.
    private let lookup: [[UInt8]: UInt32]

    /// A fresh key able to open tags of groups 0..<groupCount.
    public init(groupCount: Int, using source: some RandomSource = SecureRandom.system) throws {
        precondition(groupCount >= 1 && groupCount <= Int(UInt32.max))
        let ctx = try GroupTag.context()
        defer { BN_CTX_free(ctx) }
        y = try GroupTag.randomScalar(source, ctx: ctx)
        guard let Y = EC_POINT_new(GroupTag.curve), EC_POINT_mul(GroupTag.curve, Y, y, nil, nil, ctx) == 1 else {
            BN_clear_free(y)
            throw GroupTag.fail("EC_POINT_mul")
        }
        publicPoint = Y
        yLimbs = .allocate(capacity: 4)
        var order = [mp_limb_t](repeating: 0, count: 4)
        let orderRead = order.withUnsafeMutableBufferPointer { Self.limbs(of: EC_GROUP_get0_order(GroupTag.curve)!, into: $0.baseAddress!) }
        orderLimbs = order
        guard Self.limbs(of: y, into: yLimbs), orderRead else {
            yLimbs.deallocate()
            BN_clear_free(y)
            EC_POINT_free(Y)
            throw GroupTag.fail("BN_bn2lebinpad")
        }
        var pk = [UInt8](repeating: 0, count: 33)
        try pk.withUnsafeMutableBufferPointer { try GroupTag.encode(Y, into: $0.baseAddress!, ctx: ctx) }
        publicKey = pk
        var table: [[UInt8]: UInt32] = [:]
        table.reserveCapacity(groupCount)
        let generator = EC_GROUP_get0_generator(GroupTag.curve)!
        guard let acc = EC_POINT_dup(generator, GroupTag.curve) else { throw GroupTag.fail("EC_POINT_dup") }
        defer { EC_POINT_free(acc) }
        var buffer = [UInt8](repeating: 0, count: 33)
        for g in 0..<groupCount {
            try buffer.withUnsafeMutableBufferPointer { try GroupTag.encode(acc, into: $0.baseAddress!, ctx: ctx) }
            table[buffer] = UInt32(g)
            guard EC_POINT_add(GroupTag.curve, acc, acc, generator, ctx) == 1 else { throw GroupTag.fail("EC_POINT_add") }
        }
        lookup = table
    }

    deinit {
        BN_clear_free(y)
        secureWipe(UnsafeMutableRawBufferPointer(start: yLimbs, count: 32))
        yLimbs.deallocate()
        EC_POINT_free(publicPoint)
    }

    /// The four little-endian 64-bit limbs of a scalar below 2^256 (constant time: fixed width).
    private static func limbs(of bn: OpaquePointer, into out: UnsafeMutablePointer<mp_limb_t>) -> Bool {
        out.withMemoryRebound(to: UInt8.self, capacity: 32) { BN_bn2lebinpad(bn, $0, 32) == 32 }
    }

    /// k = (g + 1 + r·y) mod n, with GMP's side-channel-silent mpn_sec_ functions (fixed operand
    /// sizes, no data-dependent branches or memory accesses), as a secure BIGNUM.
    private func sealScalar(group: UInt32, r: OpaquePointer) throws -> OpaquePointer {
        // Limbs: r (4), product (8), scratch.
        let scratchLimbs = max(__gmpn_sec_mul_itch(4, 4), __gmpn_sec_add_1_itch(8), __gmpn_sec_div_r_itch(8, 4))
        let buffer = UnsafeMutablePointer<mp_limb_t>.allocate(capacity: 12 + scratchLimbs)
        defer {
            secureWipe(UnsafeMutableRawBufferPointer(start: buffer, count: 8 * (12 + scratchLimbs)))
            buffer.deallocate()
        }
        let rl = buffer, product = buffer + 4, scratch = buffer + 12
        guard Self.limbs(of: r, into: rl) else { throw GroupTag.fail("BN_bn2lebinpad") }
        __gmpn_sec_mul(product, rl, 4, yLimbs, 4, scratch)
        _ = __gmpn_sec_add_1(product, product, 8, mp_limb_t(group) + 1, scratch)  // r·y < n² < 2^512 − 2^33: no carry out
        orderLimbs.withUnsafeBufferPointer { __gmpn_sec_div_r(product, 8, $0.baseAddress!, 4, scratch) }  // remainder in product[0..<4]
        guard let k = BN_secure_new() else { throw GroupTag.fail("BN_secure_new") }
        guard product.withMemoryRebound(to: UInt8.self, capacity: 32, { BN_lebin2bn($0, 32, k) }) != nil else {
            BN_clear_free(k)
            throw GroupTag.fail("BN_lebin2bn")
        }
        BN_set_flags(k, BN_FLG_CONSTTIME)
        return k
    }

    /// Writes Enc(group) (`GroupTag.tagBytes` bytes) at `out`, with randomness from `source`.
    public func seal(group: UInt32, into out: UnsafeMutablePointer<UInt8>, using source: some RandomSource = SecureRandom.system) throws {
        guard Int(group) < lookup.count else {
            throw CleanRoomCryptoError.unsupportedParameter(what: "group \(group) beyond the key's table")
        }
        let ctx = try GroupTag.context()
        defer { BN_CTX_free(ctx) }
        let r = try GroupTag.randomScalar(source, ctx: ctx)
        defer { BN_clear_free(r) }
        // P1 knows y, so r·Y = (r·y)·G: c2 = (g+1)·G + r·Y = ((g + 1 + r·y) mod n)·G. Both points are
        // then multiples of the generator, which OpenSSL multiplies from its precomputed table
        // (about a third of the cost of a multiplication of another point).
        let k = try sealScalar(group: group, r: r)
        defer { BN_clear_free(k) }
        guard let c1 = EC_POINT_new(GroupTag.curve), let c2 = EC_POINT_new(GroupTag.curve) else { throw GroupTag.fail("EC_POINT_new") }
        defer { EC_POINT_free(c1); EC_POINT_free(c2) }
        guard EC_POINT_mul(GroupTag.curve, c1, r, nil, nil, ctx) == 1, EC_POINT_mul(GroupTag.curve, c2, k, nil, nil, ctx) == 1
        else { throw GroupTag.fail("EC_POINT_mul") }
        try GroupTag.encodeTagPoint(c1, into: out, ctx: ctx)
        try GroupTag.encodeTagPoint(c2, into: out + GroupTag.pointBytes, ctx: ctx)
    }

    /// Decrypts a tag to its group index; nil when it decrypts to no group of this key (a tag the
    /// peer altered). Callers must treat nil without a visible reaction: whether an altered tag
    /// lands on a group depends on the secret group index.
    /// - Throws: `invalidGroupTag` for points off the curve (public: a property of the bytes).
    public func open(_ tag: UnsafePointer<UInt8>) throws -> UInt32? {
        let ctx = try GroupTag.context()
        defer { BN_CTX_free(ctx) }
        let c1 = try GroupTag.decodeTagPoint(tag, ctx: ctx)
        defer { EC_POINT_free(c1) }
        let c2 = try GroupTag.decodeTagPoint(tag + GroupTag.pointBytes, ctx: ctx)
        defer { EC_POINT_free(c2) }
        guard let m = EC_POINT_new(GroupTag.curve) else { throw GroupTag.fail("EC_POINT_new") }
        defer { EC_POINT_clear_free(m) }
        // m = c2 − y·c1
        guard EC_POINT_mul(GroupTag.curve, m, nil, c1, y, ctx) == 1, EC_POINT_invert(GroupTag.curve, m, ctx) == 1,
            EC_POINT_add(GroupTag.curve, m, m, c2, ctx) == 1
        else { throw GroupTag.fail("EC_POINT_mul") }
        // (g+1)·G is never the point at infinity for a group of this key. An altered tag may give
        // it; it then takes the same path as any other point (the generator is encoded and looked
        // up in its place, and the answer discarded), so the time to open a tag says nothing about
        // what it decrypted to.
        let atInfinity = EC_POINT_is_at_infinity(GroupTag.curve, m) != 0
        if atInfinity { guard EC_POINT_copy(m, EC_GROUP_get0_generator(GroupTag.curve)) == 1 else { throw GroupTag.fail("EC_POINT_copy") } }
        var buffer = [UInt8](repeating: 0, count: 33)
        try buffer.withUnsafeMutableBufferPointer { try GroupTag.encode(m, into: $0.baseAddress!, ctx: ctx) }
        let group = lookup[buffer]
        return atInfinity ? nil : group
    }
}

/// P2's side: re-randomises tags under P1's public key without learning anything from them.
public final class GroupTagRerandomizer: @unchecked Sendable {
    private let publicPoint: OpaquePointer

    /// - Throws: `invalidGroupTag` when `publicKey` is not a compressed P-256 point.
    public init(publicKey: [UInt8]) throws {
        guard publicKey.count == GroupTag.publicKeyBytes else {
            throw CleanRoomCryptoError.wrongLength(what: "group-tag public key", got: publicKey.count, expected: GroupTag.publicKeyBytes)
        }
        let ctx = try GroupTag.context()
        defer { BN_CTX_free(ctx) }
        publicPoint = try publicKey.withUnsafeBufferPointer { try GroupTag.decode($0.baseAddress!, ctx: ctx) }
    }

    deinit { EC_POINT_free(publicPoint) }

    /// Replaces the tag at `tag` by (c1 + s·G, c2 + s·Y) with fresh s.
    /// - Throws: `invalidGroupTag` when either point is not on the curve.
    public func rerandomize(_ tag: UnsafeMutablePointer<UInt8>, using source: some RandomSource = SecureRandom.system) throws {
        let ctx = try GroupTag.context()
        defer { BN_CTX_free(ctx) }
        let c1 = try GroupTag.decodeTagPoint(tag, ctx: ctx)
        defer { EC_POINT_free(c1) }
        let c2 = try GroupTag.decodeTagPoint(tag + GroupTag.pointBytes, ctx: ctx)
        defer { EC_POINT_free(c2) }
        let s = try GroupTag.randomScalar(source, ctx: ctx)
        defer { BN_clear_free(s) }
        guard let t = EC_POINT_new(GroupTag.curve) else { throw GroupTag.fail("EC_POINT_new") }
        defer { EC_POINT_clear_free(t) }
        guard EC_POINT_mul(GroupTag.curve, t, s, nil, nil, ctx) == 1, EC_POINT_add(GroupTag.curve, c1, c1, t, ctx) == 1,
            EC_POINT_mul(GroupTag.curve, t, nil, publicPoint, s, ctx) == 1, EC_POINT_add(GroupTag.curve, c2, c2, t, ctx) == 1
        else { throw GroupTag.fail("EC_POINT_mul") }
        try GroupTag.encodeTagPoint(c1, into: tag, ctx: ctx)
        try GroupTag.encodeTagPoint(c2, into: tag + GroupTag.pointBytes, ctx: ctx)
    }
}
