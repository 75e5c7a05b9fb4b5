import CleanRoomCryptoVectors
import CleanRoomProtocol
import CleanRoomVectors
import Foundation
import Testing

/// The whole bundled folder, transcripts included, as `cleanroom vectors verify` runs it.
@Suite struct VectorDirectoryTests {
    @Test func bundledVectorsAllPass() throws {
        let results = try VectorRunner.verify(directory: VectorRunner.bundledDirectory)
        let byName = Dictionary(uniqueKeysWithValues: results.map { ($0.name, $0) })
        for r in results {
            #expect(r.failed == 0, "\(r.name): \(r.failures.prefix(5))")
            #expect(r.passed > 0, "\(r.name) ran no case")
        }
        // Every published case is present, not only some of them.
        #expect(byName["x25519_wycheproof.json"]?.passed == 518)
        #expect(byName["hash_to_curve_curve25519_rfc9380.json"]?.passed == 5)
        #expect(byName["expand_message_xmd_sha256.json"]?.passed == 10)
        #expect(byName["expand_message_xmd_sha512.json"]?.passed == 10)
        #expect(byName["x25519_rfc7748.json"]?.passed == 8)
        #expect((byName["paillier_phe.json"]?.passed ?? 0) >= 50)
        #expect(byName["paillier_modulus_proof.json"]?.passed == 22)
        #expect(byName["transcripts.json"]?.passed == 5)
    }

    /// Copies the bundled `file` into a fresh folder with `edit` applied to its JSON, and verifies it.
    static func verifyEdited(_ file: String, _ edit: (inout [String: Any]) throws -> Void) throws -> VectorFileResult {
        let data = try Data(contentsOf: VectorRunner.bundledDirectory.appendingPathComponent(file))
        var json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        try edit(&json)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cleanroom-vectors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent(file)
        try JSONSerialization.data(withJSONObject: json).write(to: out)
        let results = try VectorRunner.verify(directory: dir)
        return try #require(results.first)
    }
}

@Suite struct TranscriptVectorTests {
    @Test func everyAnalysisHasAGoldenTranscript() throws {
        let r = VectorRunner.verify(file: VectorRunner.bundledDirectory.appendingPathComponent("transcripts.json"))
        #expect(r.passed == 5 && r.failed == 0, "\(r.failures)")
    }

    /// The generator's inputs are exactly those the file records, the collaboration text byte for
    /// byte, so `cleanroom-vectorgen` writes the same file (the replays above check the frames and
    /// results).
    @Test func theGeneratorsInputsAreTheRecordedOnes() throws {
        struct File: Decodable { let cases: [TranscriptCase] }
        let data = try Data(contentsOf: VectorRunner.bundledDirectory.appendingPathComponent("transcripts.json"))
        let recorded = try JSONDecoder().decode(File.self, from: data).cases
        let generated = GoldenTranscripts.inputs()
        #expect(generated.map(\.id) == recorded.map(\.id))
        for (g, r) in zip(generated, recorded) {
            #expect(g.collaboration == r.collaboration, "\(g.id): collaboration text")
            #expect(g.source == r.source && g.analysis == r.analysis && g.batch_size == r.batch_size, "\(g.id)")
            #expect(g.parties == r.parties, "\(g.id): parties")
        }
        let digest = try Collaboration(yaml: GoldenTranscripts.collaboration).digestHex()
        #expect(digest == "c686c11d53648140fc0a2a8df999028661078a7c57cbaffc30c7c2be183a59f7")
    }

    @Test func aChangedByteInAnyMessageIsDetected() throws {
        let r = try VectorDirectoryTests.verifyEdited("transcripts.json") { json in
            var cases = json["cases"] as! [[String: Any]]
            var messages = cases[2]["messages"] as! [[String: Any]]
            var hex = messages[9]["hex"] as! String
            let i = hex.index(hex.startIndex, offsetBy: 40)
            hex.replaceSubrange(i...i, with: hex[i] == "0" ? "1" : "0")
            messages[9]["hex"] = hex
            cases[2]["messages"] = messages
            json["cases"] = cases
        }
        #expect(r.failed == 1 && r.failures.first?.contains("message 9") == true, "\(r.failures)")
    }

    @Test func aChangedResultIsDetected() throws {
        let r = try VectorDirectoryTests.verifyEdited("transcripts.json") { json in
            var cases = json["cases"] as! [[String: Any]]
            var results = cases[0]["results"] as! [String: Any]
            var pub = results["publisher"] as! [String: Any]
            pub["intersection_size"] = ["value": 5]
            results["publisher"] = pub
            cases[0]["results"] = results
            json["cases"] = cases
        }
        #expect(r.failed == 1 && r.failures.first?.contains("result of publisher") == true, "\(r.failures)")
    }
}
