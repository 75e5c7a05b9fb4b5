import CleanRoomCrypto
import Testing

/// EC-ElGamal group tags on P-256: what P1 seals opens to the same group after any number of P2's
/// re-randomisations, and a re-randomised tag shares no bytes with the one sealed.
@Suite struct GroupTagTests {
    @Test func sealedTagsOpenToTheirGroupAfterRerandomisation() throws {
        let key = try GroupTagKey(groupCount: 40)
        let p2 = try GroupTagRerandomizer(publicKey: key.publicKey)
        for group in [UInt32(0), 1, 2, 17, 39] {
            var tag = [UInt8](repeating: 0, count: GroupTag.tagBytes)
            try tag.withUnsafeMutableBufferPointer { try key.seal(group: group, into: $0.baseAddress!) }
            let sealed = tag
            #expect(try tag.withUnsafeBufferPointer { try key.open($0.baseAddress!) } == group)
            for _ in 0..<3 {
                try tag.withUnsafeMutableBufferPointer { try p2.rerandomize($0.baseAddress!) }
                #expect(try tag.withUnsafeBufferPointer { try key.open($0.baseAddress!) } == group)
            }
            #expect(tag[0..<65] != sealed[0..<65] && tag[65...] != sealed[65...])
        }
    }

    @Test func sealingIsRandomisedAndGroupsBeyondTheTableAreRefused() throws {
        let key = try GroupTagKey(groupCount: 3)
        var a = [UInt8](repeating: 0, count: GroupTag.tagBytes), b = a
        try a.withUnsafeMutableBufferPointer { try key.seal(group: 1, into: $0.baseAddress!) }
        try b.withUnsafeMutableBufferPointer { try key.seal(group: 1, into: $0.baseAddress!) }
        #expect(a != b)
        #expect(throws: CleanRoomCryptoError.self) {
            try b.withUnsafeMutableBufferPointer { try key.seal(group: 3, into: $0.baseAddress!) }
        }
        // Another key's tag opens to no group of this one (or, with negligible probability, to one).
        let other = try GroupTagKey(groupCount: 3)
        try b.withUnsafeMutableBufferPointer { try other.seal(group: 0, into: $0.baseAddress!) }
        #expect(try b.withUnsafeBufferPointer { try key.open($0.baseAddress!) } == nil)
    }

    @Test func malformedTagPointsAreRefused() throws {
        let key = try GroupTagKey(groupCount: 3)
        let p2 = try GroupTagRerandomizer(publicKey: key.publicKey)
        var good = [UInt8](repeating: 0, count: GroupTag.tagBytes)
        try good.withUnsafeMutableBufferPointer { try key.seal(group: 2, into: $0.baseAddress!) }
        #expect(good[0] == 4 && good[65] == 4)
        // Off the curve (y changed), a compressed or hybrid prefix, and all zeros: each refused by
        // both parties as a property of the bytes.
        var edits: [(inout [UInt8]) -> Void] = [{ $0[64] ^= 1 }, { $0[65 + 64] ^= 1 }, { $0[0] = 2 }, { $0[65] = 6 }]
        edits.append { for i in 0..<65 { $0[i] = 0 } }
        for edit in edits {
            var tag = good
            edit(&tag)
            #expect(throws: CleanRoomCryptoError.invalidGroupTag) { try tag.withUnsafeBufferPointer { _ = try key.open($0.baseAddress!) } }
            #expect(throws: CleanRoomCryptoError.invalidGroupTag) {
                try tag.withUnsafeMutableBufferPointer { try p2.rerandomize($0.baseAddress!) }
            }
        }
    }
}
