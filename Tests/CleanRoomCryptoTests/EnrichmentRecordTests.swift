import CleanRoomCryptoVectors
import Foundation
import Testing

@testable import CleanRoomCrypto

/// Enrichment records: match tags and fixed-width AES-256-GCM records keyed by HKDF from an OPRF
/// output. Every way a record can be wrong must be refused.
@Suite struct EnrichmentRecordTests {
    static let context = Array("collaboration digest ‖ analysis ‖ nonces".utf8)

    @Test func bundledRecordVectorsPass() {
        let r = CryptoVectorRunner.verify(file: VectorFileRunner.bundledDirectory.appendingPathComponent("enrichment_record.json"))
        #expect(r.failed == 0, "\(r.failures.prefix(5))")
        #expect(r.passed == 15)  // 2 RFC 5869 cases, 6 seals, 7 refusals
    }

    @Test func roundTripAtEveryLengthUpToTheWidth() throws {
        let cipher = try EnrichmentRecordCipher(context: Self.context, payloadWidth: 24)
        #expect(cipher.sealedBytes == 2 + 24 + 16)
        let y = try SecureRandom.bytes(64)
        for length in 0...24 {
            let payload = try SecureRandom.bytes(length)
            let (tag, sealed) = try cipher.seal(payload, prfOutput: y)
            #expect(sealed.count == cipher.sealedBytes)  // the length of the payload does not show
            #expect(tag == (try cipher.matchTag(prfOutput: y)))
            #expect(try cipher.open(sealed, prfOutput: y) == payload)
        }
        #expect(throws: CleanRoomCryptoError.payloadTooLong(length: 25, width: 24)) {
            try cipher.seal([UInt8](repeating: 1, count: 25), prfOutput: y)
        }
    }

    /// Flipping any single bit of a record makes it fail to open.
    @Test func everyTamperedBitIsRefused() throws {
        let cipher = try EnrichmentRecordCipher(context: Self.context, payloadWidth: 16)
        let y = try SecureRandom.bytes(64)
        let (_, sealed) = try cipher.seal(Array("in-market:autos".utf8), prfOutput: y)
        for byte in 0..<sealed.count {
            for bit in 0..<8 {
                var tampered = sealed
                tampered[byte] ^= UInt8(1 << bit)
                #expect(throws: CleanRoomCryptoError.payloadAuthenticationFailed) { try cipher.open(tampered, prfOutput: y) }
            }
        }
        #expect(throws: CleanRoomCryptoError.self) { try cipher.open(Array(sealed.dropLast()), prfOutput: y) }
        #expect(throws: CleanRoomCryptoError.self) { try cipher.open(sealed + [0], prfOutput: y) }
    }

    @Test func wrongKeyContextOrWidthIsRefused() throws {
        let cipher = try EnrichmentRecordCipher(context: Self.context, payloadWidth: 16)
        let y = try SecureRandom.bytes(64)
        let (tag, sealed) = try cipher.seal(Array("gold".utf8), prfOutput: y)
        // Another identifier's OPRF output: another tag, and the record does not open.
        let other = try SecureRandom.bytes(64)
        #expect(try cipher.matchTag(prfOutput: other) != tag)
        #expect(throws: CleanRoomCryptoError.payloadAuthenticationFailed) { try cipher.open(sealed, prfOutput: other) }
        // Another session context: another tag, and the record does not open.
        let elsewhere = try EnrichmentRecordCipher(context: Self.context + [0], payloadWidth: 16)
        #expect(try elsewhere.matchTag(prfOutput: y) != tag)
        #expect(throws: CleanRoomCryptoError.payloadAuthenticationFailed) { try elsewhere.open(sealed, prfOutput: y) }
        // A cipher of another width refuses the record's size.
        #expect(throws: CleanRoomCryptoError.self) {
            try EnrichmentRecordCipher(context: Self.context, payloadWidth: 17).open(sealed, prfOutput: y)
        }
        // A record moved under another identifier's tag still opens only with its own key.
        #expect(throws: CleanRoomCryptoError.self) { try cipher.open(sealed, prfOutput: Array(y.reversed())) }
        #expect(throws: CleanRoomCryptoError.self) { try cipher.matchTag(prfOutput: Array(y.dropLast())) }
    }

    @Test func badParametersAreRefused() {
        #expect(throws: CleanRoomCryptoError.self) { try EnrichmentRecordCipher(context: [], payloadWidth: -1) }
        #expect(throws: CleanRoomCryptoError.self) { try EnrichmentRecordCipher(context: [], payloadWidth: 65536) }
        #expect(throws: CleanRoomCryptoError.self) {
            try EnrichmentRecordCipher(context: [UInt8](repeating: 0, count: 1025), payloadWidth: 8)
        }
    }

    /// The whole primitive: the receiver's Finalize outputs and the sender's Evaluate outputs give the
    /// same tags exactly for shared identifiers, and the receiver opens exactly those records.
    @Test func receiverOpensExactlyTheSharedIdentifiersRecords() throws {
        let senderIDs = (0..<30).map { Array("user\($0)@example.com".utf8) }
        let receiverIDs = (20..<45).map { Array("user\($0)@example.com".utf8) }
        let payloads = (0..<30).map { Array("segment-\($0 % 7)".utf8) }
        let key = try OPRFServerKey()
        let client = try OPRFClientBatch(inputs: receiverIDs)
        let receiverOutputs = try client.finalize(key.blindEvaluate(client.blindedElements))
        let senderOutputs = try key.evaluate(senderIDs)
        let senderCipher = try EnrichmentRecordCipher(context: Self.context, payloadWidth: 16)
        var table = [[UInt8]: [UInt8]]()
        for (y, payload) in zip(senderOutputs, payloads) {
            let (tag, sealed) = try senderCipher.seal(payload, prfOutput: y)
            table[tag] = sealed
        }
        let receiverCipher = try EnrichmentRecordCipher(context: Self.context, payloadWidth: 16)
        var learned = [String: String]()
        for (id, y) in zip(receiverIDs, receiverOutputs) {
            guard let sealed = table[try receiverCipher.matchTag(prfOutput: y)] else { continue }
            learned[String(decoding: id, as: UTF8.self)] = String(decoding: try receiverCipher.open(sealed, prfOutput: y), as: UTF8.self)
        }
        let expected = Dictionary(uniqueKeysWithValues: (20..<30).map { ("user\($0)@example.com", "segment-\($0 % 7)") })
        #expect(learned == expected)
    }
}
