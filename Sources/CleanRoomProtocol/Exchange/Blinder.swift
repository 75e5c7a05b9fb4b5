// One party's blinding for a session: RFC 9380 hash-to-curve of its own identifiers, then X25519
// with its session key (RFC 7748), and re-blinding of the peer's elements with the same key. Work
// is split across the workers in fixed chunks, so the output does not depend on scheduling.
// Thread safety: one session drives it from one task; the workers only read it.
import CleanRoomCrypto

/// The session's X25519 blinding key and one hasher per worker.
final class Blinder {
    /// Released (and wiped by `BlindingKey`'s deinit) when the session ends.
    private var key: BlindingKey?
    private let hashers: [HashToCurve25519]
    /// Worker threads for hashing and blinding.
    let parallelism: Int
    /// Elements blinded so far: own (hashed and blinded) and the peer's (re-blinded).
    private(set) var ownBlinded = 0
    private(set) var peerBlinded = 0

    /// A fresh key from `random` and `parallelism` hashers.
    init(using random: some RandomSource, parallelism: Int) throws {
        self.parallelism = max(1, parallelism)
        key = try BlindingKey(using: random)
        hashers = try (0..<self.parallelism).map { _ in try HashToCurve25519() }
    }

    /// Elements blinded so far and in all, for progress (the total is 0 until the peer's count
    /// is known).
    func progress(ownCount: Int, peerCount: Int) -> (done: Int, total: Int) {
        (ownBlinded + peerBlinded, peerCount == 0 ? 0 : ownCount + peerCount)
    }

    /// Forgets the key.
    func wipe() { key = nil }

    /// The key while the session runs (tests check what the peer did with it).
    var currentKey: BlindingKey? { key }

    private func liveKey() throws -> BlindingKey {
        guard let key else { throw CleanRoomProtocolError.sessionClosed }
        return key
    }

    /// Hashes the identifiers `ids` of `identifiers` to the curve and blinds them; 32 bytes each.
    func hashAndBlind(_ ids: ArraySlice<Int>, of identifiers: IdentifierStore) throws -> [UInt8] {
        let key = try liveKey()
        let count = ids.count
        var flat = [UInt8]()
        flat.reserveCapacity(ids.reduce(0) { $0 + identifiers[$1].count })
        var offsets = [0]
        offsets.reserveCapacity(count + 1)
        for i in ids {
            flat += identifiers[i]
            offsets.append(flat.count)
        }
        var points = [UInt64](repeating: 0, count: 4 * count)
        var scratch = [UInt64](repeating: 0, count: 8 * count)
        var blinded = [UInt8](repeating: 0, count: 32 * count)
        let hashers = self.hashers
        try flat.withUnsafeBytes { all in
            try points.withUnsafeMutableBytes { pointBytes in
                try scratch.withUnsafeMutableBytes { scratchBytes in
                    try blinded.withUnsafeMutableBytes { out in
                        let (m, p, sc, o) = (
                            UnsafeSendable(all), UnsafeSendable(pointBytes), UnsafeSendable(scratchBytes), UnsafeSendable(out)
                        )
                        try parallelFor(count, parallelism: parallelism) { chunk, worker in
                            let pts = UnsafeMutableRawBufferPointer(rebasing: p.value[(32 * chunk.lowerBound)..<(32 * chunk.upperBound)])
                            try hashers[worker].hashToUBatch(
                                count: chunk.count,
                                message: {
                                    UnsafeRawBufferPointer(
                                        rebasing: m.value[offsets[chunk.lowerBound + $0]..<offsets[chunk.lowerBound + $0 + 1]])
                                },
                                output: pts,
                                scratch: UnsafeMutableRawBufferPointer(
                                    rebasing: sc.value[(64 * chunk.lowerBound)..<(64 * chunk.upperBound)]))
                            try key.blindBatch(
                                UnsafeRawBufferPointer(pts),
                                into: UnsafeMutableRawBufferPointer(rebasing: o.value[(32 * chunk.lowerBound)..<(32 * chunk.upperBound)]))
                        }
                    }
                }
            }
        }
        secureWipe(&flat)
        points.withUnsafeMutableBytes { secureWipe($0) }
        ownBlinded += count
        return blinded
    }

    /// Checks that each record's 32-byte element is a canonical u-coordinate (below p, top bit
    /// clear), as every honest X25519 output is; anything else is a hostile encoding.
    static func requireCanonical(_ records: [UInt8], count: Int, width: Int, context: String) throws {
        try records.withUnsafeBytes { raw in
            guard let base = raw.baseAddress, raw.count >= width * count else {
                if count == 0 { return }
                throw CleanRoomProtocolError.malformedMessage(type: context, problem: "records shorter than announced")
            }
            for i in 0..<count where !BlindedElement.isCanonical(base + width * i) {
                throw CleanRoomProtocolError.invalidPeerCryptography(problem: "\(context) holds a non-canonical curve element")
            }
        }
    }

    /// Blinds the first 32 bytes of each `width`-byte record of `records` in place (after
    /// checking their encoding).
    func reblind(records: inout [UInt8], count: Int, width: Int, context: String) throws {
        let key = try liveKey()
        try Self.requireCanonical(records, count: count, width: width, context: context)
        var points = [UInt8](repeating: 0, count: 32 * count)
        for i in 0..<count { points.replaceSubrange((32 * i)..<(32 * i + 32), with: records[(width * i)..<(width * i + 32)]) }
        var out = [UInt8](repeating: 0, count: 32 * count)
        do {
            try points.withUnsafeBytes { p in
                try out.withUnsafeMutableBytes { o in
                    let (input, output) = (UnsafeSendable(p), UnsafeSendable(o))
                    try parallelFor(count, parallelism: parallelism) { chunk, _ in
                        let bytes = (32 * chunk.lowerBound)..<(32 * chunk.upperBound)
                        try key.blindBatch(
                            UnsafeRawBufferPointer(rebasing: input.value[bytes]),
                            into: UnsafeMutableRawBufferPointer(rebasing: output.value[bytes]))
                    }
                }
            }
        } catch CleanRoomCryptoError.lowOrderPoint {
            throw CleanRoomProtocolError.invalidPeerCryptography(problem: "\(context) holds a low-order point")
        }
        for i in 0..<count { records.replaceSubrange((width * i)..<(width * i + 32), with: out[(32 * i)..<(32 * i + 32)]) }
        peerBlinded += count
    }
}
