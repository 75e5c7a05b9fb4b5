import Foundation
import Testing

@testable import CleanRoomVectors

/// The bundled vectors pass, and the verifier fails when a vector is wrong.
@Suite struct VectorFileTests {
    static let bundled = VectorRunner.bundledDirectory

    @Test func bundledVectorsAllPass() throws {
        let results = try VectorRunner.verify(directory: Self.bundled)
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
    }

    /// Copies `file` into a fresh folder with `edit` applied to its JSON, and verifies it.
    func verifyEdited(_ file: String, _ edit: (inout [String: Any]) throws -> Void) throws -> VectorFileResult {
        let data = try Data(contentsOf: Self.bundled.appendingPathComponent(file))
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

    /// Flips the last hex digit of `field` in case `index`.
    static func tamper(_ json: inout [String: Any], case index: Int, field: String) {
        var cases = json["cases"] as! [[String: Any]]
        var value = cases[index][field] as! String
        let last = value.removeLast()
        value.append(last == "0" ? "1" : "0")
        cases[index][field] = value
        json["cases"] = cases
    }

    @Test(arguments: [
        ("expand_message_xmd_sha512.json", "uniform_bytes"),
        ("x25519_wycheproof.json", "shared"),
        ("x25519_rfc7748.json", "shared"),
        ("paillier_phe.json", "c"),
    ])
    func tamperedValueFails(file: String, field: String) throws {
        let r = try verifyEdited(file) { Self.tamper(&$0, case: 0, field: field) }
        #expect(r.failed == 1)
    }

    @Test func tamperedHashToCurvePointFails() throws {
        let r = try verifyEdited("hash_to_curve_curve25519_rfc9380.json") { json in
            var cases = json["cases"] as! [[String: Any]]
            var p = cases[2]["P"] as! [String: String]
            p["y"] = String(p["y"]!.dropLast()) + (p["y"]!.hasSuffix("0") ? "1" : "0")
            cases[2]["P"] = p
            json["cases"] = cases
        }
        #expect(r.failed == 1)
        #expect(r.failures.first?.contains("P differs") == true)
    }

    @Test func zeroSharedSecretMustBeExpectedAsRejection() throws {
        // A file claiming the all-zero output should be accepted contradicts CleanRoom's rule.
        let r = try verifyEdited("x25519_wycheproof.json") { json in
            var cases = json["cases"] as! [[String: Any]]
            let i = try #require(cases.firstIndex { ($0["flags"] as! [String]).contains("ZeroSharedSecret") })
            cases[i]["expected"] = "shared"
            json["cases"] = [cases[i]]
        }
        #expect(r.failed == 1)
    }

    @Test func missingFieldMakesFileUnparseable() throws {
        let r = try verifyEdited("expand_message_xmd_sha256.json") { json in
            var cases = json["cases"] as! [[String: Any]]
            cases[3].removeValue(forKey: "len_in_bytes")
            json["cases"] = cases
        }
        #expect(r.passed == 0 && r.failed == 1)
        #expect(r.failures.first?.contains("len_in_bytes") == true)
    }

    @Test func unknownKindAndSchemaFail() throws {
        #expect(try verifyEdited("x25519_rfc7748.json") { $0["kind"] = "x448" }.failed == 1)
        #expect(try verifyEdited("x25519_rfc7748.json") { $0["schema"] = "other/v9" }.failed == 1)
    }

    @Test func paillierCiphertextThatMustBeRejectedIsNotAccepted() throws {
        // Turning a valid ciphertext into a "reject" case must fail: the key accepts it.
        let r = try verifyEdited("paillier_phe.json") { json in
            var cases = json["cases"] as! [[String: Any]]
            let i = try #require(cases.firstIndex { $0["op"] as? String == "decrypt" })
            cases[i]["op"] = "reject"
            json["cases"] = [cases[i]]
        }
        #expect(r.failed == 1)
    }
}

@Suite struct TranscriptVectorTests {
    @Test func everyAnalysisHasAGoldenTranscript() throws {
        let r = VectorRunner.verify(file: VectorRunner.bundledDirectory.appendingPathComponent("transcripts.json"))
        #expect(r.passed == 4 && r.failed == 0, "\(r.failures)")
    }

    @Test func aChangedByteInAnyMessageIsDetected() throws {
        let t = VectorFileTests()
        let r = try t.verifyEdited("transcripts.json") { json in
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
        let t = VectorFileTests()
        let r = try t.verifyEdited("transcripts.json") { json in
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
