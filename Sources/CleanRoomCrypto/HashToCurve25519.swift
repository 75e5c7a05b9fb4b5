// hash_to_curve for the suite curve25519_XMD:SHA-512_ELL2_RO_, RFC 9380:
//   §5.2 hash_to_field (expand_message_xmd with SHA-512, L = 48, count = 2),
//   §6.7.1 / Appendix G.2.1 Elligator 2 for curve25519 (straight-line, one exponentiation),
//   §3 hash_to_curve: Q0 + Q1, then cofactor clearing by h = 8.
// Point addition and doubling run on the birationally equivalent twisted Edwards curve
// edwards25519 (RFC 7748 §4.1 map, the same as RFC 9380 Appendix G.2.2) with complete
// extended-coordinate formulas (Hisil–Wong–Carter–Dawson 2008), and the result is mapped back
// to the Montgomery u-coordinate. Only u matters for X25519 blinding.
//
// Constant time: the field arithmetic, the exponentiations (fixed addition chains), the square
// root choice and the point formulas do not branch on or index by secret values. The message
// length (and DST length) is public and does influence timing through SHA-512. The batch API
// uses Montgomery's simultaneous inversion; zero denominators are masked, not branched on.
//
// Eight lanes: where the CPU has AVX-512 IFMA (`X25519Lanes.isAvailable`, so not with
// CLEANROOM_DISABLE_IFMA=1) and the hasher was made with `accelerated: true` (the default),
// `hashToUBatch` expands eight messages here with SHA-512 and hands the 8·96 bytes to the C kernel
// `cr_h2c_u_ifma8` (CCleanRoomShim/hash_to_curve_ifma.c), which runs the field and curve steps below
// on eight lanes at once with per-lane inversion; the outputs are the same bytes.
// Thread safety: a `HashToCurve25519` holds scratch space; use one instance per thread.
import CCleanRoomShim
import CGMP

/// A point on curve25519 in Montgomery affine coordinates, each a canonical 32-byte
/// little-endian field element. The point at infinity is represented as u = v = 0
/// (never produced for honest inputs except with negligible probability).
public struct Curve25519Point: Equatable, Sendable {
    /// The u-coordinate (RFC 7748 encoding): the value that X25519 consumes.
    public var u: [UInt8]
    /// The v-coordinate.
    public var v: [UInt8]
}

/// RFC 9380 hash_to_curve and encode helpers for curve25519_XMD:SHA-512_ELL2_RO_.
public final class HashToCurve25519 {
    /// The RFC 9380 suite identifier.
    public static let suite = "curve25519_XMD:SHA-512_ELL2_RO_"
    /// The DST CleanRoom uses for identifiers (version 1 of its encoding).
    public static let cleanRoomDST = Array("CLEANROOM-V1-CS01-with-curve25519_XMD:SHA-512_ELL2_RO_".utf8)

    private let expander: ExpandMessageXMD
    private let arena: Field25519Arena
    private var uniform = [UInt8](repeating: 0, count: 96)
    /// Eight lanes of expand_message_xmd output for the IFMA kernel, then its output for a short group.
    private var uniformLanes = [UInt8](repeating: 0, count: 8 * 96 + 8 * 32)
    /// Whether `hashToUBatch` runs the eight-lane IFMA kernel (see the top of this file).
    public let isAccelerated: Bool

    // Arena slots.
    private enum S {
        static let cJ = 0, cC2 = 1, cSqrtM1 = 2, cEd = 3, cD2 = 4, one = 5
        // map scratch
        static let u = 6, tv1 = 7, xd = 8, x1n = 9, tv2 = 10, gxd = 11, gx1 = 12, tv3 = 13
        static let y11 = 14, y12 = 15, y1 = 16, x2n = 17, y21 = 18, y22 = 19, gx2 = 20, y2 = 21
        static let xn = 22, y = 23, tmp = 24, t0 = 25, t1 = 26, t2 = 27, z11 = 28
        // Edwards points (X, Y, Z, T) for Q0, Q1
        static let p0 = 29, p1 = 33
        // addition scratch
        static let a = 37, b = 38, c = 39, d = 40, e = 41, f = 42, g = 43, h = 44
        static let count = 45
    }

    /// Creates a hasher with domain separation tag `dst` (default: CleanRoom's).
    /// - Parameter accelerated: let `hashToUBatch` use the IFMA kernel where available (`false`
    ///   forces the GMP path, the reference the kernel is tested against).
    /// - Throws: if the tag is empty or OpenSSL cannot provide SHA-512.
    public init(dst: [UInt8] = HashToCurve25519.cleanRoomDST, accelerated: Bool = true) throws {
        isAccelerated = accelerated && X25519Lanes.isAvailable
        expander = try ExpandMessageXMD(hash: .sha512, dst: dst)
        arena = Field25519Arena(slots: S.count)
        let p = BigInteger(1).shiftedLeft(255) - BigInteger(19)
        func load(_ slot: Int, _ v: BigInteger) {
            let bytes = try! v.mod(p).bigEndianBytes(width: 32)
            bytes.withUnsafeBytes { F25519.loadReduced(arena[slot], bigEndian: $0, arena.wide) }
        }
        let two = BigInteger(2)
        let sqrtM1 = two.power((p - BigInteger(1)).dividedFloor(by: BigInteger(4)), modulus: p, variableTime: true)
        load(S.cJ, BigInteger(486662))
        load(S.cC2, two.power((p + BigInteger(3)).dividedFloor(by: BigInteger(8)), modulus: p, variableTime: true))
        load(S.cSqrtM1, sqrtM1)
        // sqrt(-486664) with sgn0 = 0 (RFC 9380 G.2.2's c1); used both ways, so either root works.
        let a = BigInteger(-486664).mod(p)
        var root = a.power((p + BigInteger(3)).dividedFloor(by: BigInteger(8)), modulus: p, variableTime: true)
        if (root * root).mod(p) != a { root = (root * sqrtM1).mod(p) }
        if root.isOdd { root = p - root }
        load(S.cEd, root)
        // 2d with d = -121665/121666 (edwards25519)
        let d = (BigInteger(-121665) * BigInteger(121666).inverse(modulus: p)!).mod(p)
        load(S.cD2, (d * two).mod(p))
        F25519.set(arena[S.one], 1)
    }

    deinit {
        secureWipe(&uniform)
        secureWipe(&uniformLanes)
        arena.wipeAndDeallocate()
    }

    // MARK: Public API

    /// hash_to_field(msg, 2): the two field elements, as canonical 32-byte little-endian values.
    public func hashToField(_ message: [UInt8]) throws -> (u0: [UInt8], u1: [UInt8]) {
        try loadFieldElements(message)
        var u0 = [UInt8](repeating: 0, count: 32), u1 = u0
        u0.withUnsafeMutableBytes { F25519.store(arena[S.u], littleEndian: $0.baseAddress!) }
        u1.withUnsafeMutableBytes { F25519.store(arena[S.tmp], littleEndian: $0.baseAddress!) }
        return (u0, u1)
    }

    /// map_to_curve (Elligator 2) of one field element given as 32 little-endian bytes.
    public func mapToCurve(fieldElement u: [UInt8]) throws -> Curve25519Point {
        guard u.count == 32 else { throw CleanRoomCryptoError.wrongLength(what: "field element", got: u.count, expected: 32) }
        u.withUnsafeBytes { F25519.load(arena[S.u], littleEndian: $0.baseAddress!) }
        mapToEdwards(into: S.p0)
        return affine(S.p0)
    }

    /// hash_to_curve(msg): the full point P in Montgomery coordinates.
    public func hashToCurve(_ message: [UInt8]) throws -> Curve25519Point {
        try hashToEdwards(message)
        return affine(S.p0)
    }

    /// The u-coordinate of hash_to_curve(msg) as 32 little-endian bytes, written to `output`.
    public func hashToU(_ message: UnsafeRawBufferPointer, into output: UnsafeMutableRawPointer) throws {
        try hashToEdwards(message)
        storeU(into: output)
    }

    /// u = (Z + Y)/(Z − Y) of the point in slots p0 (0 for the identity), to `output`.
    private func storeU(into output: UnsafeMutableRawPointer) {
        let w = arena.wide
        F25519.add(arena[S.a], arena[S.p0 + 2], arena[S.p0 + 1])  // Z + Y
        F25519.sub(arena[S.b], arena[S.p0 + 2], arena[S.p0 + 1])  // Z - Y
        F25519.invert(arena[S.c], arena[S.b], arena[S.t0], arena[S.t1], arena[S.t2], arena[S.z11], w)
        F25519.mul(arena[S.a], arena[S.a], arena[S.c], w)
        F25519.store(arena[S.a], littleEndian: output)
    }

    /// The u-coordinate of hash_to_curve(msg) as 32 little-endian bytes.
    public func hashToU(_ message: [UInt8]) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        try message.withUnsafeBytes { m in try out.withUnsafeMutableBytes { try hashToU(m, into: $0.baseAddress!) } }
        return out
    }

    /// Hashes `count` messages and writes their u-coordinates (32 bytes each, in order) to
    /// `output`: eight at a time on the IFMA kernel when `isAccelerated`, else on GMP sharing one
    /// field inversion across the batch (Montgomery's trick). Both give the same bytes.
    /// - Parameters:
    ///   - count: number of messages.
    ///   - message: returns the i-th message's bytes; called once per index, in order.
    ///   - output: at least 32·count bytes.
    ///   - scratch: at least 64·count bytes of caller-owned scratch (reused across batches).
    public func hashToUBatch(
        count: Int,
        message: (Int) -> UnsafeRawBufferPointer,
        output: UnsafeMutableRawBufferPointer,
        scratch: UnsafeMutableRawBufferPointer
    ) throws {
        precondition(output.count >= 32 * count && scratch.count >= 64 * count, "buffers too small")
        precondition(
            count == 0 || (Int(bitPattern: output.baseAddress!) | Int(bitPattern: scratch.baseAddress!)) & 7 == 0,
            "output and scratch must be 8-byte aligned")
        guard count > 0 else { return }
        if isAccelerated {
            try hashToUBatchIFMA(count: count, message: message, output: output)
            return
        }
        let nums = scratch.baseAddress!.assumingMemoryBound(to: mp_limb_t.self)  // Z+Y per element
        let dens = nums + 4 * count  // running products
        let w = arena.wide
        let one = arena[S.one]
        // Pass 1: numerators and prefix products of denominators (zero denominators replaced by 1).
        for i in 0..<count {
            try hashToEdwards(message(i))
            let num = nums + 4 * i, den = arena[S.b]
            F25519.add(num, arena[S.p0 + 2], arena[S.p0 + 1])
            F25519.sub(den, arena[S.p0 + 2], arena[S.p0 + 1])
            let zero = F25519.isZeroMask(den)
            F25519.select(den, den, one, zero)
            // a zero denominator means u = 0 (identity): zero the numerator too
            for k in 0..<4 { num[k] &= ~zero }
            let prefix = dens + 4 * i
            if i == 0 { F25519.copy(prefix, den) } else { F25519.mul(prefix, dens + 4 * (i - 1), den, w) }
            // keep the individual denominator in the output buffer for pass 2
            let slot = output.baseAddress!.advanced(by: 32 * i).assumingMemoryBound(to: mp_limb_t.self)
            F25519.copy(slot, den)
        }
        // One inversion of the full product.
        let inv = arena[S.c]
        F25519.invert(inv, dens + 4 * (count - 1), arena[S.t0], arena[S.t1], arena[S.t2], arena[S.z11], w)
        // Pass 2: walk back, peeling one denominator at a time.
        for i in stride(from: count - 1, through: 0, by: -1) {
            let slot = output.baseAddress!.advanced(by: 32 * i).assumingMemoryBound(to: mp_limb_t.self)
            let denInv = arena[S.d]
            if i > 0 {
                F25519.mul(denInv, inv, dens + 4 * (i - 1), w)  // 1/den_i
                F25519.mul(inv, inv, slot, w)  // 1/(den_0 ... den_(i-1))
            } else {
                F25519.copy(denInv, inv)
            }
            F25519.mul(arena[S.a], nums + 4 * i, denInv, w)
            F25519.store(arena[S.a], littleEndian: UnsafeMutableRawPointer(slot))
        }
        secureWipe(UnsafeMutableRawBufferPointer(rebasing: scratch[0..<(64 * count)]))
    }

    // MARK: Internals

    /// `hashToUBatch` on the IFMA kernel: groups of eight messages, the last one padded by
    /// repeating its first message (only real lanes are copied out).
    private func hashToUBatchIFMA(
        count: Int, message: (Int) -> UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer
    ) throws {
        defer { secureWipe(&uniformLanes) }
        try uniformLanes.withUnsafeMutableBytes { buffer in
            // 8·96 bytes of expanded messages, then 8·32 bytes of output for a short last group
            let lanes = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let tail = lanes + 8 * 96
            var start = 0
            while start < count {
                let real = min(8, count - start)
                for lane in 0..<real {
                    let uniform = UnsafeMutableRawBufferPointer(rebasing: buffer[(96 * lane)..<(96 * lane + 96)])
                    try expander.expand(message(start + lane), into: uniform)
                }
                for lane in real..<8 { (lanes + 96 * lane).update(from: lanes, count: 96) }
                let out = output.baseAddress!.advanced(by: 32 * start).assumingMemoryBound(to: UInt8.self)
                let status = cr_h2c_u_ifma8(real == 8 ? out : tail, lanes)
                guard status == 0 else { preconditionFailure("the IFMA hash-to-curve kernel became unavailable") }
                if real < 8 { out.update(from: tail, count: 32 * real) }
                start += real
            }
        }
    }

    private func loadFieldElements(_ message: [UInt8]) throws {
        try message.withUnsafeBytes { try loadFieldElements($0) }
    }

    /// expand_message_xmd to 96 bytes, then u0 → slot u, u1 → slot tmp.
    private func loadFieldElements(_ message: UnsafeRawBufferPointer) throws {
        try uniform.withUnsafeMutableBytes { buf in
            try expander.expand(message, into: buf)
            loadFieldElements(uniform: UnsafeRawBufferPointer(buf))
        }
    }

    /// The two 48-byte big-endian halves of `uniform` reduced mod p: u0 → slot u, u1 → slot tmp.
    private func loadFieldElements(uniform buf: UnsafeRawBufferPointer) {
        F25519.loadReduced(arena[S.u], bigEndian: UnsafeRawBufferPointer(rebasing: buf[0..<48]), arena.wide)
        F25519.loadReduced(arena[S.tmp], bigEndian: UnsafeRawBufferPointer(rebasing: buf[48..<96]), arena.wide)
    }

    /// The GMP path's u from 96 bytes of expand_message_xmd output (tests compare the kernel with it
    /// on chosen bytes).
    func referenceU(uniform: [UInt8]) -> [UInt8] {
        precondition(uniform.count == 96)
        uniform.withUnsafeBytes { loadFieldElements(uniform: $0) }
        edwardsFromLoadedFieldElements()
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBytes { storeU(into: $0.baseAddress!) }
        return out
    }

    /// The kernel's u for eight lanes of 96 bytes each, or nil when it is unavailable.
    static func kernelU(uniform: [UInt8]) -> [UInt8]? {
        precondition(uniform.count == 8 * 96)
        var out = [UInt8](repeating: 0, count: 8 * 32)
        let status = uniform.withUnsafeBytes { u in
            out.withUnsafeMutableBytes {
                cr_h2c_u_ifma8($0.baseAddress!.assumingMemoryBound(to: UInt8.self), u.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        return status == 0 ? out : nil
    }

    private func hashToEdwards(_ message: [UInt8]) throws {
        try message.withUnsafeBytes { try hashToEdwards($0) }
    }

    /// Leaves 8·(map(u0) + map(u1)) in slots p0 (extended Edwards coordinates).
    private func hashToEdwards(_ message: UnsafeRawBufferPointer) throws {
        try loadFieldElements(message)
        edwardsFromLoadedFieldElements()
    }

    /// Leaves 8·(map(u0) + map(u1)) in slots p0 for u0, u1 already in slots u and tmp.
    private func edwardsFromLoadedFieldElements() {
        // u1 is parked in tmp; the map uses tmp, so move it into p1's X slot first.
        F25519.copy(arena[S.p1], arena[S.tmp])
        mapToEdwards(into: S.p0)
        F25519.copy(arena[S.u], arena[S.p1])
        mapToEdwards(into: S.p1)
        addEdwards(S.p0, S.p0, S.p1)
        for _ in 0..<3 { doubleEdwards(S.p0) }
    }

    /// Elligator 2 (RFC 9380 G.2.1) of slot u, converted to extended Edwards coordinates in
    /// slots out..out+3 (X, Y, Z, T).
    private func mapToEdwards(into out: Int) {
        let w = arena.wide
        let A = arena
        func s(_ i: Int) -> Fe { A[i] }
        F25519.sqr(s(S.tv1), s(S.u), w)  // 1. tv1 = u^2
        F25519.add(s(S.tv1), s(S.tv1), s(S.tv1))  // 2. tv1 = 2 u^2
        F25519.add(s(S.xd), s(S.tv1), s(S.one))  // 3. xd = tv1 + 1
        F25519.set(s(S.tmp), 0)
        F25519.sub(s(S.x1n), s(S.tmp), s(S.cJ))  // 4. x1n = -J
        F25519.sqr(s(S.tv2), s(S.xd), w)  // 5. tv2 = xd^2
        F25519.mul(s(S.gxd), s(S.tv2), s(S.xd), w)  // 6. gxd = xd^3
        F25519.mul(s(S.gx1), s(S.cJ), s(S.tv1), w)  // 7. gx1 = J tv1
        F25519.mul(s(S.gx1), s(S.gx1), s(S.x1n), w)  // 8.
        F25519.add(s(S.gx1), s(S.gx1), s(S.tv2))  // 9.
        F25519.mul(s(S.gx1), s(S.gx1), s(S.x1n), w)  // 10. gx1 = x1n^3 + J x1n^2 xd + x1n xd^2
        F25519.sqr(s(S.tv3), s(S.gxd), w)  // 11. tv3 = gxd^2
        F25519.sqr(s(S.tv2), s(S.tv3), w)  // 12. tv2 = gxd^4
        F25519.mul(s(S.tv3), s(S.tv3), s(S.gxd), w)  // 13. tv3 = gxd^3
        F25519.mul(s(S.tv3), s(S.tv3), s(S.gx1), w)  // 14. tv3 = gx1 gxd^3
        F25519.mul(s(S.tv2), s(S.tv2), s(S.tv3), w)  // 15. tv2 = gx1 gxd^7
        F25519.powP58(s(S.y11), s(S.tv2), s(S.t0), s(S.t1), s(S.t2), s(S.z11), w)  // 16.
        F25519.mul(s(S.y11), s(S.y11), s(S.tv3), w)  // 17.
        F25519.mul(s(S.y12), s(S.y11), s(S.cSqrtM1), w)  // 18.
        F25519.sqr(s(S.tv2), s(S.y11), w)  // 19.
        F25519.mul(s(S.tv2), s(S.tv2), s(S.gxd), w)  // 20.
        let e1 = F25519.equalMask(s(S.tv2), s(S.gx1), s(S.tmp))  // 21.
        F25519.select(s(S.y1), s(S.y12), s(S.y11), e1)  // 22. y1 = e1 ? y11 : y12
        F25519.mul(s(S.x2n), s(S.x1n), s(S.tv1), w)  // 23.
        F25519.mul(s(S.y21), s(S.y11), s(S.u), w)  // 24.
        F25519.mul(s(S.y21), s(S.y21), s(S.cC2), w)  // 25.
        F25519.mul(s(S.y22), s(S.y21), s(S.cSqrtM1), w)  // 26.
        F25519.mul(s(S.gx2), s(S.gx1), s(S.tv1), w)  // 27.
        F25519.sqr(s(S.tv2), s(S.y21), w)  // 28.
        F25519.mul(s(S.tv2), s(S.tv2), s(S.gxd), w)  // 29.
        let e2 = F25519.equalMask(s(S.tv2), s(S.gx2), s(S.tmp))  // 30.
        F25519.select(s(S.y2), s(S.y22), s(S.y21), e2)  // 31.
        F25519.sqr(s(S.tv2), s(S.y1), w)  // 32.
        F25519.mul(s(S.tv2), s(S.tv2), s(S.gxd), w)  // 33.
        let e3 = F25519.equalMask(s(S.tv2), s(S.gx1), s(S.tmp))  // 34.
        F25519.select(s(S.xn), s(S.x2n), s(S.x1n), e3)  // 35.
        F25519.select(s(S.y), s(S.y2), s(S.y1), e3)  // 36.
        let e4 = F25519.sgn0Mask(s(S.y))  // 37.
        F25519.set(s(S.tmp), 0)
        F25519.sub(s(S.tmp), s(S.tmp), s(S.y))
        F25519.select(s(S.y), s(S.y), s(S.tmp), e3 ^ e4)  // 38. y = (e3 xor e4) ? -y : y
        // Montgomery (xn/xd, y) -> Edwards (x, y) = (c·u/v, (u - 1)/(u + 1)):
        //   x = (c·xn) / (xd·y),  y = (xn - xd) / (xn + xd).
        let X = A[out], Y = A[out + 1], Z = A[out + 2], T = A[out + 3]
        let xEn = s(S.a), xEd = s(S.b), yEn = s(S.c), yEd = s(S.d)
        F25519.mul(xEn, s(S.xn), s(S.cEd), w)
        F25519.mul(xEd, s(S.xd), s(S.y), w)
        F25519.sub(yEn, s(S.xn), s(S.xd))
        F25519.add(yEd, s(S.xn), s(S.xd))
        // The only exceptional input is (0, 0), of order 2; its Edwards image is (0, -1).
        F25519.mul(s(S.tmp), xEd, yEd, w)
        let exceptional = F25519.isZeroMask(s(S.tmp))
        F25519.select(xEn, xEn, s(S.cJ), exceptional)  // any value: x numerator is 0·... below
        for k in 0..<4 { xEn[k] &= ~exceptional }  // xEn = 0
        F25519.select(xEd, xEd, s(S.one), exceptional)  // xEd = 1
        F25519.set(s(S.tmp), 0)
        F25519.sub(s(S.tmp), s(S.tmp), s(S.one))
        F25519.select(yEn, yEn, s(S.tmp), exceptional)  // yEn = -1
        F25519.select(yEd, yEd, s(S.one), exceptional)  // yEd = 1
        F25519.mul(X, xEn, yEd, w)
        F25519.mul(Y, yEn, xEd, w)
        F25519.mul(Z, xEd, yEd, w)
        F25519.mul(T, xEn, yEn, w)
    }

    /// r = p + q on edwards25519 (a = -1), extended coordinates, complete formula
    /// add-2008-hwcd-3. `r` may alias `p` or `q`.
    private func addEdwards(_ r: Int, _ p: Int, _ q: Int) {
        let w = arena.wide
        let A = arena
        let (X1, Y1, Z1, T1) = (A[p], A[p + 1], A[p + 2], A[p + 3])
        let (X2, Y2, Z2, T2) = (A[q], A[q + 1], A[q + 2], A[q + 3])
        let a = A[S.a], b = A[S.b], c = A[S.c], d = A[S.d], e = A[S.e], f = A[S.f], g = A[S.g], h = A[S.h]
        F25519.sub(a, Y1, X1); F25519.sub(e, Y2, X2); F25519.mul(a, a, e, w)  // A = (Y1-X1)(Y2-X2)
        F25519.add(b, Y1, X1); F25519.add(e, Y2, X2); F25519.mul(b, b, e, w)  // B = (Y1+X1)(Y2+X2)
        F25519.mul(c, T1, T2, w); F25519.mul(c, c, A[S.cD2], w)  // C = 2d T1 T2
        F25519.mul(d, Z1, Z2, w); F25519.add(d, d, d)  // D = 2 Z1 Z2
        F25519.sub(e, b, a); F25519.sub(f, d, c); F25519.add(g, d, c); F25519.add(h, b, a)
        F25519.mul(A[r], e, f, w)
        F25519.mul(A[r + 1], g, h, w)
        F25519.mul(A[r + 3], e, h, w)
        F25519.mul(A[r + 2], f, g, w)
    }

    /// p = 2p on edwards25519 (a = -1), dbl-2008-hwcd.
    private func doubleEdwards(_ p: Int) {
        let w = arena.wide
        let A = arena
        let (X1, Y1, Z1) = (A[p], A[p + 1], A[p + 2])
        let a = A[S.a], b = A[S.b], c = A[S.c], d = A[S.d], e = A[S.e], f = A[S.f], g = A[S.g], h = A[S.h]
        F25519.sqr(a, X1, w)  // A = X1^2
        F25519.sqr(b, Y1, w)  // B = Y1^2
        F25519.sqr(c, Z1, w); F25519.add(c, c, c)  // C = 2 Z1^2
        F25519.set(d, 0); F25519.sub(d, d, a)  // D = a·A = -A
        F25519.add(e, X1, Y1); F25519.sqr(e, e, w); F25519.sub(e, e, a); F25519.sub(e, e, b)  // E
        F25519.add(g, d, b)  // G = D + B
        F25519.sub(f, g, c)  // F = G - C
        F25519.sub(h, d, b)  // H = D - B
        F25519.mul(A[p], e, f, w)
        F25519.mul(A[p + 1], g, h, w)
        F25519.mul(A[p + 3], e, h, w)
        F25519.mul(A[p + 2], f, g, w)
    }

    /// Montgomery affine (u, v) of the Edwards point in slots p..p+3:
    /// u = (Z + Y)/(Z - Y), v = c·u/x = c·(Z + Y)·Z / ((Z - Y)·X). Identity maps to (0, 0)·∞ → zeros.
    private func affine(_ p: Int) -> Curve25519Point {
        let w = arena.wide
        let A = arena
        let (X, Y, Z) = (A[p], A[p + 1], A[p + 2])
        let num = A[S.e], den = A[S.f], inv = A[S.g], t = A[S.h]
        F25519.add(num, Z, Y)
        F25519.sub(den, Z, Y)
        F25519.mul(t, den, X, w)
        F25519.invert(inv, t, A[S.t0], A[S.t1], A[S.t2], A[S.z11], w)  // 1/((Z-Y)X), 0 if not invertible
        var u = [UInt8](repeating: 0, count: 32), v = u
        F25519.mul(t, num, X, w); F25519.mul(t, t, inv, w)  // u
        u.withUnsafeMutableBytes { F25519.store(t, littleEndian: $0.baseAddress!) }
        F25519.mul(t, num, Z, w); F25519.mul(t, t, inv, w); F25519.mul(t, t, A[S.cEd], w)  // v
        v.withUnsafeMutableBytes { F25519.store(t, littleEndian: $0.baseAddress!) }
        return Curve25519Point(u: u, v: v)
    }
}
