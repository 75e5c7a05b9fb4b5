import CleanRoomCryptoVectors
import Foundation
import Testing

@_spi(Deterministic) @testable import CleanRoomCrypto

/// RFC 9497 OPRF mode, OPRF(ristretto255, SHA-512): the published vectors through the public API,
/// the protocol's correctness with random blinds, and every input a peer can get wrong.
@Suite struct OPRFTests {
    static func hex(_ s: String) -> [UInt8] { Hex.decode(s)! }

    // RFC 9497 Appendix A.1.1, OPRF mode, test vector 1 (also in Vectors/oprf_ristretto255_sha512_rfc9497.json).
    static let seed = hex("a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3")
    static let keyInfo = hex("74657374206b6579")
    static let skSm = hex("5ebcea5ee37023ccb9fc2d2019f9d7737be85591ae8652ffa9ef0f4d37063b0e")
    static let blind = hex("64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706")

    @Test func rfc9497VectorOneThroughThePublicAPI() throws {
        #expect(OPRFRistretto255.contextString == Array("OPRFV1-\u{0}-ristretto255-SHA512".utf8))
        let key = try OPRFServerKey.derive(seed: Self.seed, info: Self.keyInfo)
        #expect(key.exportScalarForVectors() == Self.skSm)
        let client = try OPRFClientBatch(inputs: [[0x00]], blinds: [Self.blind])
        #expect(client.blindedElements == Self.hex("609a0ae68c15a3cf6903766461307e5c8bb2f95e7e6550e1ffa2dc99e412803c"))
        let evaluated = try key.blindEvaluate(client.blindedElements)
        #expect(evaluated == Self.hex("7ec6578ae5120958eb2db1745758ff379e77cb64fe77b0b2d8cc917ea0869c7e"))
        let expected = Self.hex(
            "527759c3d9366f277d8c6020418d96bb393ba2afb20ff90df23fb7708264e2f3ab9135e3bd69955851de4b1f9fe8a0973396719b7912ba9ee8aa7d0b5e24bcf6"
        )
        #expect(try client.finalize(evaluated) == [expected])
        #expect(try key.evaluate([[0x00]]) == [expected])
    }

    @Test func bundledOPRFAndRistrettoVectorsAllPass() throws {
        let dir = VectorFileRunner.bundledDirectory
        let expected = [
            "oprf_ristretto255_sha512_rfc9497.json": 3,  // 2 published vectors + the two as one batch
            "oprf_ristretto255_sha512_cleanroom.json": 21,  // 6 evaluations, 14 refusals, 1 batch
            "ristretto255_rfc9496.json": 56,  // 16 multiples, 29 bad encodings, 11 maps
        ]
        for (name, count) in expected {
            let r = CryptoVectorRunner.verify(file: dir.appendingPathComponent(name))
            #expect(r.failed == 0, "\(name): \(r.failures.prefix(5))")
            #expect(r.passed == count, "\(name)")
        }
    }

    /// Random blinds, random keys: the client's Finalize equals the server's direct Evaluate, in
    /// input order, for a batch that includes the empty input and a duplicate.
    @Test func finalizeEqualsEvaluateWithRandomBlinds() throws {
        let key = try OPRFServerKey()
        var inputs = try (0..<40).map { try SecureRandom.bytes($0 % 23) }
        inputs.append(inputs[5])
        let client = try OPRFClientBatch(inputs: inputs)
        #expect(client.count == inputs.count)
        let outputs = try client.finalize(try key.blindEvaluate(client.blindedElements))
        #expect(outputs == (try key.evaluate(inputs)))
        #expect(outputs[5] == outputs[40])
        #expect(Set(outputs).count == Set(inputs).count)
        #expect(outputs.allSatisfy { $0.count == 64 })
    }

    /// Blinding hides the input: the same input blinded twice gives unrelated elements, and neither
    /// equals the unblinded HashToGroup.
    @Test func blindedElementsAreFreshPerBlind() throws {
        let input = Array("alice@example.com".utf8)
        let a = try OPRFClientBatch(inputs: [input]), b = try OPRFClientBatch(inputs: [input])
        #expect(a.blindedElements != b.blindedElements)
        #expect(a.blindedElements != (try OPRFRistretto255.hashToGroup(input)))
        // Both still finalize to the same PRF value.
        let key = try OPRFServerKey()
        #expect(try a.finalize(key.blindEvaluate(a.blindedElements)) == b.finalize(key.blindEvaluate(b.blindedElements)))
    }

    @Test func differentKeysGiveUnrelatedOutputs() throws {
        let input = [Array("alice@example.com".utf8)]
        #expect(try OPRFServerKey().evaluate(input) != OPRFServerKey().evaluate(input))
        // Seeded keys are reproducible and depend on the seed and the info.
        let s = try SecureRandom.bytes(32)
        #expect(try OPRFServerKey.derive(seed: s, info: []).evaluate(input) == OPRFServerKey.derive(seed: s, info: []).evaluate(input))
        #expect(try OPRFServerKey.derive(seed: s, info: []).evaluate(input) != OPRFServerKey.derive(seed: s, info: [1]).evaluate(input))
    }

    /// A wrong evaluated element (another valid element, as a cheating server would send) gives a
    /// different output rather than an error: OPRF mode does not verify the server.
    @Test func anotherValidElementChangesTheOutput() throws {
        let key = try OPRFServerKey()
        let client = try OPRFClientBatch(inputs: [Array("x".utf8)])
        let honest = try client.finalize(key.blindEvaluate(client.blindedElements))
        let other = try OPRFServerKey().blindEvaluate(client.blindedElements)
        #expect(try client.finalize(other) != honest)
    }

    static let badElements: [([UInt8], String)] = [
        ([UInt8](repeating: 0, count: 32), "identity"),
        (hex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), "s = p"),
        (hex("0100000000000000000000000000000000000000000000000000000000000000"), "negative"),
        (hex("26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371"), "non-square"),
        (hex("e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2df6"), "generator with bit 255 set"),
    ]

    /// Every bad element is refused by both roles, with the index of the bad element in the batch;
    /// a valid element beside it does not hide it.
    @Test(arguments: badElements)
    func badPeerElementsAreRefusedByBothRoles(element: [UInt8], label: String) throws {
        let key = try OPRFServerKey()
        let client = try OPRFClientBatch(inputs: [[1], [2]])
        let good = Array(client.blindedElements[0..<32])
        #expect(throws: CleanRoomCryptoError.self, "\(label)") { try key.blindEvaluate(good + element) }
        do {
            _ = try key.blindEvaluate(good + element)
        } catch let CleanRoomCryptoError.invalidGroupElement(index, _) {
            #expect(index == 1)
        }
        let evaluated = try key.blindEvaluate(client.blindedElements)
        #expect(throws: CleanRoomCryptoError.self, "\(label)") { try client.finalize(Array(evaluated[0..<32]) + element) }
        #expect(throws: CleanRoomCryptoError.self) {
            try element.withUnsafeBytes { try OPRFRistretto255.validateElement($0, index: 0) }
        }
    }

    /// Both roles fold the element checks into the multiplication: every RFC 9496 Appendix A.2
    /// encoding must still be refused by BlindEvaluate and by Finalize, at its index in the batch.
    @Test func everyRFC9496BadEncodingIsRefusedByBothRoles() throws {
        struct File: Decodable {
            struct Case: Decodable { let op: String; let encoding: String? }
            let cases: [Case]
        }
        let data = try Data(contentsOf: VectorFileRunner.bundledDirectory.appendingPathComponent("ristretto255_rfc9496.json"))
        let bad = try JSONDecoder().decode(File.self, from: data).cases.filter { $0.op == "reject" }.compactMap {
            $0.encoding.map(Self.hex)
        }
        #expect(bad.count == 29)
        let key = try OPRFServerKey()
        let client = try OPRFClientBatch(inputs: [[1], [2]])
        let evaluated = try key.blindEvaluate(client.blindedElements)
        for element in bad {
            do {
                _ = try key.blindEvaluate(Array(client.blindedElements[0..<32]) + element)
                Issue.record("BlindEvaluate accepted \(Hex.encode(element))")
            } catch let CleanRoomCryptoError.invalidGroupElement(index, _) {
                #expect(index == 1)
            }
            do {
                _ = try client.finalize(Array(evaluated[0..<32]) + element)
                Issue.record("Finalize accepted \(Hex.encode(element))")
            } catch let CleanRoomCryptoError.invalidGroupElement(index, _) {
                #expect(index == 1)
            }
        }
    }

    @Test func wrongBatchSizesAreRefused() throws {
        let key = try OPRFServerKey()
        let client = try OPRFClientBatch(inputs: [[1], [2]])
        #expect(throws: CleanRoomCryptoError.self) { try key.blindEvaluate(Array(client.blindedElements.dropLast())) }
        let evaluated = try key.blindEvaluate(client.blindedElements)
        // One element too few, one too many.
        #expect(throws: CleanRoomCryptoError.self) { try client.finalize(Array(evaluated[0..<32])) }
        #expect(throws: CleanRoomCryptoError.self) { try client.finalize(evaluated + evaluated[0..<32]) }
    }

    @Test func badScalarsAndInputsAreRefused() throws {
        let order = Self.hex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")  // ℓ, little-endian
        #expect(throws: CleanRoomCryptoError.self) { try OPRFServerKey(scalar: [UInt8](repeating: 0, count: 32)) }
        #expect(throws: CleanRoomCryptoError.self) { try OPRFServerKey(scalar: order) }
        #expect(throws: CleanRoomCryptoError.self) { try OPRFServerKey(scalar: [1]) }
        var belowOrder = order
        belowOrder[0] -= 1
        _ = try OPRFServerKey(scalar: belowOrder)  // ℓ − 1 is a valid key
        #expect(throws: CleanRoomCryptoError.self) { try OPRFClientBatch(inputs: [[1]], blinds: [order]) }
        #expect(throws: CleanRoomCryptoError.self) { try OPRFClientBatch(inputs: [[1]], blinds: [[UInt8](repeating: 0, count: 32)]) }
        #expect(throws: CleanRoomCryptoError.self) { try OPRFClientBatch(inputs: [[1], [2]], blinds: [Self.blind]) }
        #expect(throws: CleanRoomCryptoError.self) { try OPRFServerKey.derive(seed: [1, 2, 3], info: []) }
        // RFC 9497 §5.1: inputs shorter than 2¹⁶ − 1 bytes; 65,535 bytes is refused by both roles.
        #expect(OPRFRistretto255.maxInputBytes == 65534)
        let longest = [UInt8](repeating: 7, count: 65534)
        let key = try OPRFServerKey()
        let client = try OPRFClientBatch(inputs: [longest])
        #expect(try client.finalize(key.blindEvaluate(client.blindedElements)) == key.evaluate([longest]))
        #expect(throws: CleanRoomCryptoError.self) { try OPRFClientBatch(inputs: [longest + [7]]) }
        #expect(throws: CleanRoomCryptoError.self) { try key.evaluate([longest + [7]]) }
    }

    /// Blinds come from the caller's source: the same seeded source gives the same blinded elements,
    /// so sessions replay byte for byte in transcript vectors.
    @Test func blindsComeFromTheGivenSource() throws {
        let seed = try SecureRandom.bytes(32)
        let a = try OPRFClientBatch(inputs: [[1], [2]], using: try SeededRandom(seed: seed))
        let b = try OPRFClientBatch(inputs: [[1], [2]], using: try SeededRandom(seed: seed))
        #expect(a.blindedElements == b.blindedElements)
        #expect(
            try OPRFServerKey(using: SeededRandom(seed: seed)).evaluate([[1]])
                == OPRFServerKey(using: SeededRandom(seed: seed)).evaluate([[1]]))
    }

    /// A tampered vector file fails: the verifier compares what it computes.
    @Test(arguments: ["output", "blinded_element", "evaluation_element", "skSm"])
    func tamperedOPRFVectorFails(field: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cleanroom-oprf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let name = "oprf_ristretto255_sha512_rfc9497.json"
        let data = try Data(contentsOf: VectorFileRunner.bundledDirectory.appendingPathComponent(name))
        var json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var cases = try #require(json["cases"] as? [[String: Any]])
        var value = try #require(cases[0][field] as? String)
        let last = value.removeLast()
        value.append(last == "0" ? "2" : "0")
        cases[0][field] = value
        json["cases"] = cases
        try JSONSerialization.data(withJSONObject: json).write(to: dir.appendingPathComponent(name))
        let r = CryptoVectorRunner.verify(file: dir.appendingPathComponent(name))
        #expect(r.failed >= 1)
    }

    /// A refusal case holding a valid element fails: the verifier does not pass what it cannot refuse.
    @Test func rejectCaseWithAValidElementFails() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cleanroom-oprf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let name = "ristretto255_rfc9496.json"
        let data = try Data(contentsOf: VectorFileRunner.bundledDirectory.appendingPathComponent(name))
        var json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var cases = try #require(json["cases"] as? [[String: Any]])
        let i = try #require(cases.firstIndex { $0["op"] as? String == "reject" })
        cases[i]["encoding"] = "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76"  // the generator
        json["cases"] = [cases[i]]
        try JSONSerialization.data(withJSONObject: json).write(to: dir.appendingPathComponent(name))
        #expect(CryptoVectorRunner.verify(file: dir.appendingPathComponent(name)).failed == 1)
    }
}
