import CleanRoomCryptoVectors
import Foundation
import Testing

/// The bundled cryptographic vectors pass, and the verifier fails when a vector is wrong. (The
/// transcripts, which need the protocol, are tested in CleanRoomProtocolTests.)
@Suite struct VectorFileTests {
    static let bundled = VectorFileRunner.bundledDirectory

    /// The bundled files of a cryptographic kind (a file that does not say its kind stays in, and fails).
    static func cryptoFiles() throws -> [URL] {
        let names = try FileManager.default.contentsOfDirectory(atPath: bundled.path).filter { $0.hasSuffix(".json") }.sorted()
        return names.compactMap { name in
            let url = bundled.appendingPathComponent(name)
            let json = try? JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
            guard let kind = json?["kind"] as? String else { return url }
            return CryptoVectorRunner.kinds[kind] == nil ? nil : url
        }
    }

    @Test func bundledVectorsAllPass() throws {
        let results = try Self.cryptoFiles().map { CryptoVectorRunner.verify(file: $0) }
        #expect(results.count >= 8)
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
        let results = try CryptoVectorRunner.verify(directory: dir)
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
        ("paillier_modulus_proof.json", "proof"),
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

    /// A modulus-proof file must not be able to pass a wrong verdict or a wrong challenge.
    @Test func modulusProofVerdictsAndChallengesAreChecked() throws {
        func cases(_ json: [String: Any]) -> [[String: Any]] { json["cases"] as! [[String: Any]] }
        // An honest proof marked invalid, and a tampered one marked valid, both fail.
        let asInvalid = try verifyEdited("paillier_modulus_proof.json") { json in
            var all = cases(json)
            let i = try #require(all.firstIndex { $0["result"] as? String == "valid" })
            all[i]["result"] = "invalid"
            json["cases"] = [all[i]]
        }
        #expect(asInvalid.failed == 1 && asInvalid.failures.first?.contains("must be refused") == true)
        let asValid = try verifyEdited("paillier_modulus_proof.json") { json in
            var all = cases(json)
            let i = try #require(all.firstIndex { $0["id"] as? String == "k2048-tampered-root" })
            all[i]["result"] = "valid"
            json["cases"] = [all[i]]
        }
        #expect(asValid.failed == 1)
        // The malicious modulus's best attempt marked valid fails (it has no p and q to prove with, and does not verify).
        let bad = try verifyEdited("paillier_modulus_proof.json") { json in
            var all = cases(json)
            let i = try #require(all.firstIndex { ($0["id"] as? String)?.hasPrefix("bad2048-best-effort") == true })
            all[i]["result"] = "valid"
            json["cases"] = [all[i]]
        }
        #expect(bad.failed == 1)
        // A changed challenge fails.
        let challenge = try verifyEdited("paillier_modulus_proof.json") { Self.tamperChallenge(&$0) }
        #expect(challenge.failed == 1 && challenge.failures.first?.contains("challenges differ") == true)
    }

    static func tamperChallenge(_ json: inout [String: Any]) {
        var cases = json["cases"] as! [[String: Any]]
        var challenges = cases[0]["challenges"] as! [String]
        challenges[5] = String(challenges[5].dropLast()) + (challenges[5].hasSuffix("0") ? "1" : "0")
        cases[0]["challenges"] = challenges
        json["cases"] = cases
    }
}
