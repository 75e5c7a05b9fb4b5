import CleanRoomCryptoVectors
import Foundation
import Testing

@_spi(Deterministic) @testable import CleanRoomCrypto

/// EC-ElGamal group tags on ristretto255: what P1 seals opens to the same group after any number of
/// P2's re-randomisations, on both implementations; malformed points are refused by both parties;
/// and the IFMA kernels give libsodium's bytes for the same randomness.
@Suite struct GroupTagTests {
    static let paths: [Bool] = GroupTag.isAccelerated ? [true, false] : [false]

    static func hex(_ s: String) -> [UInt8] { Hex.decode(s) ?? [] }

    struct VectorFile: Decodable {
        struct Case: Decodable { let op: String; let scalar: String?; let encoding: String? }
        let cases: [Case]
    }

    static func vectors() throws -> [VectorFile.Case] {
        let data = try Data(contentsOf: VectorFileRunner.bundledDirectory.appendingPathComponent("ristretto255_rfc9496.json"))
        return try JSONDecoder().decode(VectorFile.self, from: data).cases
    }

    @Test(arguments: paths) func sealedTagsOpenToTheirGroupAfterRerandomisation(accelerated: Bool) throws {
        let key = try GroupTagKey(groupCount: 40, accelerated: accelerated)
        let p2 = try GroupTagRerandomizer(publicKey: key.publicKey, accelerated: accelerated)
        #expect(key.accelerated == accelerated)
        for group in [UInt32(0), 1, 2, 17, 39] {
            var tag = [UInt8](repeating: 0, count: GroupTag.tagBytes)
            try tag.withUnsafeMutableBufferPointer { try key.seal(group: group, into: $0.baseAddress!) }
            let sealed = tag
            #expect(try tag.withUnsafeBufferPointer { try key.open($0.baseAddress!) } == group)
            for _ in 0..<3 {
                try tag.withUnsafeMutableBufferPointer { try p2.rerandomize($0.baseAddress!) }
                #expect(try tag.withUnsafeBufferPointer { try key.open($0.baseAddress!) } == group)
            }
            #expect(tag[0..<32] != sealed[0..<32] && tag[32...] != sealed[32...])
        }
    }

    /// Batches of every size around the lane width, tags spaced like session records.
    @Test(arguments: paths) func batchesOfAnySizeRoundTrip(accelerated: Bool) throws {
        let key = try GroupTagKey(groupCount: 5, accelerated: accelerated)
        let p2 = try GroupTagRerandomizer(publicKey: key.publicKey, accelerated: accelerated)
        let stride = 32 + GroupTag.tagBytes
        for count in [1, 2, 7, 8, 9, 15, 16, 17, 40] {
            let groups = (0..<count).map { UInt32(($0 * 7) % 5) }
            var records = [UInt8](repeating: 0xAB, count: stride * count)
            try records.withUnsafeMutableBufferPointer { r in
                try groups.withUnsafeBufferPointer { try key.seal(groups: $0, into: r.baseAddress! + 32, stride: stride) }
                try p2.rerandomize(r.baseAddress! + 32, stride: stride, count: count)
            }
            let opened = try records.withUnsafeBufferPointer { try key.open($0.baseAddress! + 32, stride: stride, count: count) }
            #expect(opened == groups.map { Optional($0) })
            // the bytes between tags are untouched
            for k in 0..<count { #expect(records[(stride * k)..<(stride * k + 32)].allSatisfy { $0 == 0xAB }) }
        }
    }

    @Test(arguments: paths) func sealingIsRandomisedAndGroupsBeyondTheTableAreRefused(accelerated: Bool) throws {
        let key = try GroupTagKey(groupCount: 3, accelerated: accelerated)
        var a = [UInt8](repeating: 0, count: GroupTag.tagBytes), b = a
        try a.withUnsafeMutableBufferPointer { try key.seal(group: 1, into: $0.baseAddress!) }
        try b.withUnsafeMutableBufferPointer { try key.seal(group: 1, into: $0.baseAddress!) }
        #expect(a != b)
        #expect(throws: CleanRoomCryptoError.self) {
            try b.withUnsafeMutableBufferPointer { try key.seal(group: 3, into: $0.baseAddress!) }
        }
        // Another key's tag opens to no group of this one (or, with negligible probability, to one).
        let other = try GroupTagKey(groupCount: 3, accelerated: accelerated)
        try b.withUnsafeMutableBufferPointer { try other.seal(group: 0, into: $0.baseAddress!) }
        #expect(try b.withUnsafeBufferPointer { try key.open($0.baseAddress!) } == nil)
        // A tag that decrypts to the identity (c1 = B, c2 = Y = y·B) is looked up like any other
        // and found in no group.
        let identity = try GroupTag.baseMultiples([[1] + [UInt8](repeating: 0, count: 31)], accelerated: false)[0] + key.publicKey
        #expect(try identity.withUnsafeBufferPointer { try key.open($0.baseAddress!) } == nil)
    }

    /// Each of RFC 9496's 29 bad encodings, the identity, a set top bit, p itself (non-canonical)
    /// and a negative s, in either point of a tag at any position of a batch: refused by P2 when
    /// re-randomising and by P1 when opening, on both paths.
    @Test(arguments: paths) func malformedTagPointsAreRefused(accelerated: Bool) throws {
        let key = try GroupTagKey(groupCount: 3, accelerated: accelerated)
        let p2 = try GroupTagRerandomizer(publicKey: key.publicKey, accelerated: accelerated)
        var good = [UInt8](repeating: 0, count: GroupTag.tagBytes)
        try good.withUnsafeMutableBufferPointer { try key.seal(group: 2, into: $0.baseAddress!) }
        var bad = try Self.vectors().filter { $0.op == "reject" }.compactMap { $0.encoding.map(Self.hex) }
        #expect(bad.count == 29)
        bad.append([UInt8](repeating: 0, count: 32))
        var top = Array(good[0..<32])
        top[31] |= 0x80
        bad.append(top)
        bad.append([0xed] + [UInt8](repeating: 0xff, count: 30) + [0x7f])
        var negative = Array(good[0..<32])
        negative[0] ^= 1
        bad.append(negative)
        let count = 11
        for (n, point) in bad.enumerated() {
            let position = n % count, second = n % 2 == 1
            var batch = [UInt8](), single = good
            for _ in 0..<count { batch += good }
            let offset = GroupTag.tagBytes * position + (second ? 32 : 0)
            batch.replaceSubrange(offset..<(offset + 32), with: point)
            single.replaceSubrange((second ? 32 : 0)..<(second ? 64 : 32), with: point)
            #expect(throws: CleanRoomCryptoError.invalidGroupTag) {
                _ = try batch.withUnsafeBufferPointer { try key.open($0.baseAddress!, stride: GroupTag.tagBytes, count: count) }
            }
            #expect(throws: CleanRoomCryptoError.invalidGroupTag) {
                try batch.withUnsafeMutableBufferPointer { try p2.rerandomize($0.baseAddress!, stride: GroupTag.tagBytes, count: count) }
            }
            #expect(throws: CleanRoomCryptoError.invalidGroupTag) {
                _ = try single.withUnsafeBufferPointer { try key.open($0.baseAddress!) }
            }
        }
        // A public key that is the identity would leave c2 unchanged: refused, as is a bad encoding.
        for point in [[UInt8](repeating: 0, count: 32), bad[0]] {
            #expect(throws: CleanRoomCryptoError.invalidGroupTag) {
                _ = try GroupTagRerandomizer(publicKey: point, accelerated: accelerated)
            }
        }
    }

    /// RFC 9496 Appendix A.1: k·B for k = 0..15 through both paths, and random scalars agree.
    @Test(arguments: paths) func generatorMultiplesMatchRFC9496(accelerated: Bool) throws {
        let multiples = try Self.vectors().filter { $0.op == "multiple" }
        #expect(multiples.count == 16)
        let scalars = multiples.map { c -> [UInt8] in [UInt8(c.scalar!)!] + [UInt8](repeating: 0, count: 31) }
        let got = try GroupTag.baseMultiples(scalars, accelerated: accelerated)
        #expect(got == multiples.map { Self.hex($0.encoding!) })
    }

    /// The kernels against libsodium, byte for byte, with the same seeded randomness: seal,
    /// re-randomise and open of 1,000 tags in uneven batches, and 10,000 random scalars times B
    /// (including 0, 1, ℓ − 1 and the largest 255-bit values).
    @Test(.enabled(if: GroupTag.isAccelerated, ifmaSkipReason)) func kernelsGiveLibsodiumsBytes() throws {
        let keyLanes = try GroupTagKey(groupCount: 50, accelerated: true, using: try SeededRandom(seed: "group tag key"))
        let keySodium = try GroupTagKey(groupCount: 50, accelerated: false, using: try SeededRandom(seed: "group tag key"))
        #expect(keyLanes.publicKey == keySodium.publicKey)
        let p2Lanes = try GroupTagRerandomizer(publicKey: keyLanes.publicKey, accelerated: true)
        let p2Sodium = try GroupTagRerandomizer(publicKey: keyLanes.publicKey, accelerated: false)
        let seal = (try SeededRandom(seed: "seal"), try SeededRandom(seed: "seal"))
        let rerandomize = (try SeededRandom(seed: "rerandomize"), try SeededRandom(seed: "rerandomize"))
        var total = 0
        for count in [1, 3, 8, 13, 64, 200, 711] {
            let groups = (0..<count).map { UInt32(($0 * 31 + count) % 50) }
            var a = [UInt8](repeating: 0, count: GroupTag.tagBytes * count), b = a
            try groups.withUnsafeBufferPointer { g in
                try a.withUnsafeMutableBufferPointer {
                    try keyLanes.seal(groups: g, into: $0.baseAddress!, stride: GroupTag.tagBytes, using: seal.0)
                }
                try b.withUnsafeMutableBufferPointer {
                    try keySodium.seal(groups: g, into: $0.baseAddress!, stride: GroupTag.tagBytes, using: seal.1)
                }
            }
            #expect(a == b, "seal, batch of \(count)")
            try a.withUnsafeMutableBufferPointer {
                try p2Lanes.rerandomize($0.baseAddress!, stride: GroupTag.tagBytes, count: count, using: rerandomize.0)
            }
            try b.withUnsafeMutableBufferPointer {
                try p2Sodium.rerandomize($0.baseAddress!, stride: GroupTag.tagBytes, count: count, using: rerandomize.1)
            }
            #expect(a == b, "re-randomise, batch of \(count)")
            let opened = try a.withUnsafeBufferPointer { try keyLanes.open($0.baseAddress!, stride: GroupTag.tagBytes, count: count) }
            let reference = try a.withUnsafeBufferPointer { try keySodium.open($0.baseAddress!, stride: GroupTag.tagBytes, count: count) }
            #expect(opened == reference && opened == groups.map { Optional($0) })
            total += count
        }
        #expect(total == 1000)
        // Decrypting tags of arbitrary points (neither sealed nor of any group): the points agree.
        let pointRandom = try SeededRandom(seed: "points")
        let pointScalars = try (0..<2_000).map { _ in
            try SecureRandom.bytes(32, using: pointRandom).enumerated().map { $0.offset == 31 ? $0.element & 0x0f : $0.element }
        }
        let points = try GroupTag.baseMultiples(pointScalars, accelerated: false)
        let arbitrary = points.flatMap { $0 }
        let fromLanes = try arbitrary.withUnsafeBufferPointer { try keyLanes.decrypt($0.baseAddress!, stride: 64, count: 1_000) }
        let fromSodium = try arbitrary.withUnsafeBufferPointer { try keySodium.decrypt($0.baseAddress!, stride: 64, count: 1_000) }
        #expect(fromLanes == fromSodium && fromLanes.count == 1_000)
        // The fixed-base multiplication on its own, over the whole scalar range the recoding takes.
        let random = try SeededRandom(seed: "scalars")
        let order: [UInt8] = Self.hex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
        var scalars: [[UInt8]] = [[UInt8](repeating: 0, count: 32), [1] + [UInt8](repeating: 0, count: 31)]
        var lMinus1 = order
        lMinus1[0] -= 1
        scalars += [lMinus1, order, [UInt8](repeating: 0xff, count: 31) + [0x7f]]
        for _ in 0..<10_000 {
            scalars.append(try SecureRandom.bytes(32, using: random).enumerated().map { $0.offset == 31 ? $0.element & 0x7f : $0.element })
        }
        let lanes = try GroupTag.baseMultiples(scalars, accelerated: true)
        let sodium = try GroupTag.baseMultiples(scalars, accelerated: false)
        #expect(lanes == sodium)
        #expect(lanes[0] == [UInt8](repeating: 0, count: 32) && lanes[3] == lanes[0])
    }
}
