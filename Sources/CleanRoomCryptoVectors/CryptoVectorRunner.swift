// The cryptographic kinds of vector file: expand_message_xmd, hash_to_curve, x25519, ristretto255,
// oprf, enrichment_record, paillier and paillier_modulus_proof, each checked against CleanRoomCrypto
// alone.
import CleanRoomCrypto
import Foundation

/// Verifies the cryptographic vector files (Vectors/README.md).
public enum CryptoVectorRunner {
    /// The runner of each cryptographic kind, by the `kind` named in the file.
    public static let kinds: [String: VectorKindRunner] = [
        "expand_message_xmd": { data in
            try JSONDecoder().decode(CasesFile<ExpandCase>.self, from: data).cases.map { ($0.id, CryptoVectorRunner.check($0)) }
        },
        "hash_to_curve": { data in
            try JSONDecoder().decode(CasesFile<HashToCurveCase>.self, from: data).cases.map { ($0.id, CryptoVectorRunner.check($0)) }
        },
        "x25519": { data in
            try JSONDecoder().decode(CasesFile<X25519Case>.self, from: data).cases.map { ($0.id, CryptoVectorRunner.check($0)) }
        },
        "ristretto255": { data in
            try JSONDecoder().decode(CasesFile<RistrettoCase>.self, from: data).cases.map { ($0.id, CryptoVectorRunner.check($0)) }
        },
        "oprf": { data in
            try CryptoVectorRunner.checkOPRF(JSONDecoder().decode(OPRFFile.self, from: data))
        },
        "enrichment_record": { data in
            try JSONDecoder().decode(CasesFile<EnrichmentRecordCase>.self, from: data).cases.map { ($0.id, CryptoVectorRunner.check($0)) }
        },
        "paillier": { data in try CryptoVectorRunner.checkPaillier(JSONDecoder().decode(PaillierFile.self, from: data)) },
        "paillier_modulus_proof": { data in
            try CryptoVectorRunner.checkModulusProofs(JSONDecoder().decode(ModulusProofFile.self, from: data))
        },
    ]

    /// Every `*.json` file in `directory`, sorted by name; a file of another kind fails.
    /// - Throws: when the folder cannot be listed.
    public static func verify(directory: URL) throws -> [VectorFileResult] {
        try VectorFileRunner.verify(directory: directory, kinds: kinds)
    }

    /// Verifies one file; a file of another kind fails.
    public static func verify(file: URL) -> VectorFileResult { VectorFileRunner.verify(file: file, kinds: kinds) }

    // MARK: Field helpers

    static func bytes(text: String?, hex: String?, field: String) throws -> [UInt8] {
        if let hex {
            guard let b = Hex.decode(hex) else { throw VectorParseError(description: "\(field)_hex is not hex") }
            return b
        }
        guard let text else { throw VectorParseError(description: "missing \(field) or \(field)_hex") }
        return Array(text.utf8)
    }

    static func hexBytes(_ s: String, _ field: String) throws -> [UInt8] {
        guard let b = Hex.decode(s) else { throw VectorParseError(description: "\(field) is not hex") }
        return b
    }

    /// A big-endian hex field element as 32 little-endian bytes.
    static func fieldLE(_ s: String, _ field: String) throws -> [UInt8] {
        guard let v = BigInteger(hex: s), v.signum >= 0, v.bitWidth <= 256 else {
            throw VectorParseError(description: "\(field) is not a 256-bit hex integer")
        }
        return Array(try v.bigEndianBytes(width: 32).reversed())
    }

    // MARK: Kinds

    static func check(_ c: ExpandCase) -> String? {
        do {
            guard let hash = XMDHash(rawValue: c.hash) else { return "unknown hash '\(c.hash)'" }
            let dst = try bytes(text: c.dst, hex: c.dst_hex, field: "dst")
            let msg = try bytes(text: c.msg, hex: c.msg_hex, field: "msg")
            let expected = try hexBytes(c.uniform_bytes, "uniform_bytes")
            let got = try ExpandMessageXMD(hash: hash, dst: dst).expand(msg, length: c.len_in_bytes)
            return got == expected ? nil : "uniform_bytes differ: got \(Hex.encode(got))"
        } catch {
            return "\(error)"
        }
    }

    static func check(_ c: HashToCurveCase) -> String? {
        do {
            guard c.suite == HashToCurve25519.suite else { return "unsupported suite '\(c.suite)'" }
            guard c.u.count == 2 else { return "u must hold two field elements" }
            let dst = try bytes(text: c.dst, hex: c.dst_hex, field: "dst")
            let msg = try bytes(text: c.msg, hex: c.msg_hex, field: "msg")
            let h = try HashToCurve25519(dst: dst)
            var problems = [String]()
            let (u0, u1) = try h.hashToField(msg)
            if u0 != (try fieldLE(c.u[0], "u[0]")) { problems.append("u[0] differs") }
            if u1 != (try fieldLE(c.u[1], "u[1]")) { problems.append("u[1] differs") }
            for (name, u, point) in [("Q0", u0, c.Q0), ("Q1", u1, c.Q1)] {
                let q = try h.mapToCurve(fieldElement: u)
                let (x, y) = (try fieldLE(point.x, "\(name).x"), try fieldLE(point.y, "\(name).y"))
                if q.u != x || q.v != y {
                    problems.append("\(name) differs")
                }
            }
            let p = try h.hashToCurve(msg)
            let (px, py) = (try fieldLE(c.P.x, "P.x"), try fieldLE(c.P.y, "P.y"))
            if p.u != px || p.v != py { problems.append("P differs") }
            let fast = try h.hashToU(msg)
            if fast != p.u { problems.append("hashToU differs from P.x") }
            if let encoded = c.encoded, fast != (try hexBytes(encoded, "encoded")) { problems.append("encoded differs") }
            return problems.isEmpty ? nil : problems.joined(separator: "; ")
        } catch {
            return "\(error)"
        }
    }

    static func check(_ c: X25519Case) -> String? {
        do {
            // CleanRoom's rule (Vectors/README.md): reject invalid cases and all-zero outputs.
            let shared = try hexBytes(c.shared, "shared")
            guard ["valid", "acceptable", "invalid"].contains(c.result) else { return "unknown result '\(c.result)'" }
            let mustReject = c.result == "invalid" || (shared.count == 32 && shared.allSatisfy { $0 == 0 })
            let ruleExpected = mustReject ? "reject" : "shared"
            guard c.expected == ruleExpected else { return "expected '\(c.expected)' contradicts the rule ('\(ruleExpected)')" }
            if shared.allSatisfy({ $0 == 0 }) != c.flags.contains("ZeroSharedSecret") && c.result != "invalid" {
                return "flag ZeroSharedSecret does not match the shared value"
            }
            let scalar = try hexBytes(c.private, "private")
            if let iterations = c.iterations {
                var k = scalar, u = scalar
                for _ in 0..<iterations {
                    let next = try BlindingKey(privateScalar: k).blind(u)
                    u = k
                    k = next
                }
                return k == shared ? nil : "after \(iterations) iterations got \(Hex.encode(k))"
            }
            let peer = try hexBytes(c.public, "public")
            do {
                let got = try BlindingKey(privateScalar: scalar).blind(peer)
                if mustReject { return "accepted, expected rejection (got \(Hex.encode(got)))" }
                return got == shared ? nil : "got \(Hex.encode(got))"
            } catch let error as CleanRoomCryptoError {
                if mustReject {
                    if case .lowOrderPoint = error { return nil }
                    if c.result == "invalid", case .wrongLength = error { return nil }
                    return "rejected with an unexpected error: \(error)"
                }
                return "rejected: \(error)"
            }
        } catch {
            return "\(error)"
        }
    }

    static func check(_ c: RistrettoCase) -> String? {
        do {
            func field(_ v: String?, _ name: String) throws -> [UInt8] {
                guard let v else { throw VectorParseError(description: "missing \(name)") }
                return try hexBytes(v, name)
            }
            switch c.op {
            case "multiple":
                guard let text = c.scalar, let k = UInt8(text) else { return "scalar must be a small decimal integer" }
                let encoding = try field(c.encoding, "encoding")
                var scalar = [UInt8](repeating: 0, count: 32)
                scalar[0] = k
                guard try OPRFRistretto255.scalarMultBase(scalar) == encoding else { return "\(k)·B differs" }
                // Every multiple is a valid encoding; only the identity (0·B) is refused from a peer.
                do {
                    try encoding.withUnsafeBytes { try OPRFRistretto255.validateElement($0, index: 0) }
                    return k == 0 ? "the identity was accepted as a peer element" : nil
                } catch CleanRoomCryptoError.invalidGroupElement {
                    return k == 0 ? nil : "\(k)·B was refused as a peer element"
                }
            case "reject":
                let encoding = try field(c.encoding, "encoding")
                do {
                    try encoding.withUnsafeBytes { try OPRFRistretto255.validateElement($0, index: 0) }
                    return "accepted an encoding that must be refused"
                } catch CleanRoomCryptoError.invalidGroupElement {
                    return nil
                }
            case "from_uniform_bytes":
                let got = try OPRFRistretto255.elementFromUniformBytes(try field(c.uniform_bytes, "uniform_bytes"))
                return got == (try field(c.encoding, "encoding")) ? nil : "got \(Hex.encode(got))"
            default:
                return "unknown op '\(c.op)'"
            }
        } catch {
            return "\(error)"
        }
    }

    /// Every case alone, then every `oprf` case with the same key again as one batch, so that the
    /// batch paths are checked against the same published values.
    static func checkOPRF(_ file: OPRFFile) throws -> [(String, String?)] {
        guard file.suite == "OPRF(ristretto255, SHA-512)", file.mode == 0 else {
            throw VectorParseError(description: "only suite OPRF(ristretto255, SHA-512), mode 0 is implemented")
        }
        var results = file.cases.map { ($0.id, check($0)) }
        let full = file.cases.filter { $0.op == "oprf" }
        let byKey = Dictionary(grouping: full, by: { $0.skSm ?? "" })
        for (key, cases) in byKey.sorted(by: { $0.key < $1.key }) where cases.count > 1 {
            let id = "batch of \(cases.count) (key \(key.prefix(8))…)"
            do {
                let sk = try OPRFServerKey(scalar: try hexBytes(key, "skSm"))
                let inputs = try cases.map { try hexBytes($0.input ?? "", "input") }
                let client = try OPRFClientBatch(inputs: inputs, blinds: try cases.map { try hexBytes($0.blind ?? "", "blind") })
                let evaluated = try sk.blindEvaluate(client.blindedElements)
                let outputs = try client.finalize(evaluated)
                let expected = try cases.map { try hexBytes($0.output ?? "", "output") }
                let direct = try sk.evaluate(inputs)
                results.append((id, outputs == expected && direct == expected ? nil : "batch outputs differ"))
            } catch {
                results.append((id, "\(error)"))
            }
        }
        return results
    }

    static func check(_ c: OPRFCase) -> String? {
        do {
            func field(_ v: String?, _ name: String) throws -> [UInt8] {
                guard let v else { throw VectorParseError(description: "missing \(name)") }
                return try hexBytes(v, name)
            }
            switch c.op {
            case "oprf":
                let skBytes = try field(c.skSm, "skSm")
                var problems = [String]()
                if let seed = c.seed {
                    let derived = try OPRFServerKey.derive(seed: try hexBytes(seed, "seed"), info: try field(c.key_info, "key_info"))
                    if derived.exportScalarForVectors() != skBytes { problems.append("DeriveKeyPair differs") }
                }
                let sk = try OPRFServerKey(scalar: skBytes)
                let input = try field(c.input, "input")
                let client = try OPRFClientBatch(inputs: [input], blinds: [try field(c.blind, "blind")])
                let blinded = try field(c.blinded_element, "blinded_element")
                if client.blindedElements != blinded { problems.append("BlindedElement differs") }
                let evaluated = try sk.blindEvaluate(blinded)
                let expectedEvaluated = try field(c.evaluation_element, "evaluation_element")
                if evaluated != expectedEvaluated { problems.append("EvaluationElement differs") }
                let output = try field(c.output, "output")
                if try client.finalize(expectedEvaluated) != [output] { problems.append("Finalize output differs") }
                if try sk.evaluate([input]) != [output] { problems.append("Evaluate output differs") }
                return problems.isEmpty ? nil : problems.joined(separator: "; ")
            case "blind_evaluate_reject":
                let sk = try OPRFServerKey(scalar: try field(c.skSm, "skSm"))
                do {
                    _ = try sk.blindEvaluate(try field(c.blinded_element, "blinded_element"))
                    return "BlindEvaluate accepted an element that must be refused"
                } catch let error as CleanRoomCryptoError {
                    switch error {
                    case .invalidGroupElement, .wrongLength: return nil
                    default: return "refused with an unexpected error: \(error)"
                    }
                }
            case "finalize_reject":
                let client = try OPRFClientBatch(inputs: [try field(c.input, "input")], blinds: [try field(c.blind, "blind")])
                do {
                    _ = try client.finalize(try field(c.evaluation_element, "evaluation_element"))
                    return "Finalize accepted an element that must be refused"
                } catch let error as CleanRoomCryptoError {
                    switch error {
                    case .invalidGroupElement, .wrongLength: return nil
                    default: return "refused with an unexpected error: \(error)"
                    }
                }
            default:
                return "unknown op '\(c.op)'"
            }
        } catch {
            return "\(error)"
        }
    }

    static func check(_ c: EnrichmentRecordCase) -> String? {
        do {
            func field(_ v: String?, _ name: String) throws -> [UInt8] {
                guard let v else { throw VectorParseError(description: "missing \(name)") }
                return try hexBytes(v, name)
            }
            if c.op == "hkdf" {
                guard let length = c.length else { throw VectorParseError(description: "missing length") }
                let got = try EnrichmentRecordCipher.hkdfSHA256(
                    ikm: try field(c.ikm, "ikm"), salt: try field(c.salt, "salt"), info: try field(c.info, "info"), length: length)
                return got == (try field(c.okm, "okm")) ? nil : "okm differs: got \(Hex.encode(got))"
            }
            guard let width = c.payload_width else { throw VectorParseError(description: "missing payload_width") }
            let cipher = try EnrichmentRecordCipher(context: try field(c.context_hex, "context_hex"), payloadWidth: width)
            let y = try field(c.prf_output, "prf_output")
            let sealed = try field(c.sealed, "sealed")
            switch c.op {
            case "seal":
                let payload = try field(c.payload, "payload")
                let (tag, again) = try cipher.seal(payload, prfOutput: y)
                var problems = [String]()
                if tag != (try field(c.match_tag, "match_tag")) { problems.append("match tag differs") }
                if try cipher.matchTag(prfOutput: y) != tag { problems.append("matchTag differs from seal's tag") }
                if again != sealed { problems.append("sealed record differs") }
                if try cipher.open(sealed, prfOutput: y) != payload { problems.append("opened payload differs") }
                return problems.isEmpty ? nil : problems.joined(separator: "; ")
            case "open_reject":
                do {
                    _ = try cipher.open(sealed, prfOutput: y)
                    return "opened a record that must be refused"
                } catch CleanRoomCryptoError.payloadAuthenticationFailed {
                    return nil
                } catch CleanRoomCryptoError.wrongLength {
                    return nil
                }
            default:
                return "unknown op '\(c.op)'"
            }
        } catch {
            return "\(error)"
        }
    }

    static func checkPaillier(_ file: PaillierFile) throws -> [(String, String?)] {
        var keys = [String: PaillierPrivateKey]()
        for (name, k) in file.keys {
            guard let p = BigInteger(hex: k.p), let q = BigInteger(hex: k.q) else {
                throw VectorParseError(description: "key \(name): p or q is not hex")
            }
            keys[name] = try PaillierPrivateKey(p: p, q: q, window: 4)
        }
        return file.cases.map { c in
            do {
                guard let key = keys[c.key] else { return (c.id, "unknown key '\(c.key)'") }
                return (c.id, try checkPaillier(c, key))
            } catch {
                return (c.id, "\(error)")
            }
        }
    }

    static func checkPaillier(_ c: PaillierCase, _ key: PaillierPrivateKey) throws -> String? {
        let pk = key.publicKey
        func int(_ s: String?, _ field: String) throws -> BigInteger {
            guard let s, let v = BigInteger(hex: s) else { throw VectorParseError(description: "\(field) missing or not hex") }
            return v
        }
        func dec(_ s: String?, _ field: String) throws -> BigInteger {
            guard let s, let v = BigInteger(decimal: s) else { throw VectorParseError(description: "\(field) missing or not decimal") }
            return v
        }
        func decrypts(_ ct: PaillierCiphertext, _ m: BigInteger) throws -> String? {
            let got = try key.decryptSigned(ct)
            return got == m ? nil : "decrypts to \(got), expected \(m)"
        }
        switch c.op {
        case "encrypt":
            let m = try dec(c.m, "m"), expected = try int(c.c, "c")
            let ct = try pk.encrypt(m, randomness: try int(c.r, "r"))
            guard ct.value == expected else { return "ciphertext differs" }
            return try decrypts(ct, m)
        case "decrypt":
            return try decrypts(try pk.ciphertext(value: try int(c.c, "c")), try dec(c.m, "m"))
        case "add":
            let a = try pk.ciphertext(value: try int(c.c1, "c1")), b = try pk.ciphertext(value: try int(c.c2, "c2"))
            let sum = pk.add(a, b)
            guard sum.value == (try int(c.c, "c")) else { return "sum differs" }
            return try decrypts(sum, try dec(c.m, "m"))
        case "add_plaintext":
            let a = try pk.ciphertext(value: try int(c.c1, "c1"))
            let sum = try pk.addPlaintext(a, try dec(c.k, "k"))
            guard sum.value == (try int(c.c, "c")) else { return "result differs" }
            return try decrypts(sum, try dec(c.m, "m"))
        case "multiply":
            let a = try pk.ciphertext(value: try int(c.c1, "c1"))
            let product = pk.multiply(a, by: try dec(c.k, "k"))
            guard product.value == (try int(c.c, "c")) else { return "result differs" }
            return try decrypts(product, try dec(c.m, "m"))
        case "reject":
            do {
                _ = try pk.ciphertext(value: try int(c.c, "c"))
                return "accepted a ciphertext that must be rejected (\(c.reason ?? "no reason given"))"
            } catch is CleanRoomCryptoError {
                return nil
            }
        default:
            return "unknown op '\(c.op)'"
        }
    }

    /// Every key must pass `PaillierPublicKey(n:)` (so that a refusal comes from the proof, not from
    /// the old checks); a key with p and q must have n = p·q and is used to prove.
    static func checkModulusProofs(_ file: ModulusProofFile) throws -> [(String, String?)] {
        var keys = [String: (PaillierPublicKey, PaillierPrivateKey?)]()
        for (name, k) in file.keys {
            guard let n = BigInteger(hex: k.n) else { throw VectorParseError(description: "key \(name): n is not hex") }
            let publicKey: PaillierPublicKey
            do {
                publicKey = try PaillierPublicKey(n: n)
            } catch {
                throw VectorParseError(description: "key \(name): PaillierPublicKey(n:) refuses n (\(error)), so no proof is needed")
            }
            var privateKey: PaillierPrivateKey?
            if let ph = k.p, let qh = k.q {
                guard let p = BigInteger(hex: ph), let q = BigInteger(hex: qh) else {
                    throw VectorParseError(description: "key \(name): p or q is not hex")
                }
                let sk = try PaillierPrivateKey(p: p, q: q, window: 2)
                guard sk.publicKey == publicKey else { throw VectorParseError(description: "key \(name): n ≠ p·q") }
                privateKey = sk
            }
            keys[name] = (publicKey, privateKey)
        }
        return file.cases.map { c in
            do {
                guard let (pk, sk) = keys[c.key] else { return (c.id, "unknown key '\(c.key)'") }
                return (c.id, try checkModulusProof(c, pk, sk))
            } catch {
                return (c.id, "\(error)")
            }
        }
    }

    static func checkModulusProof(_ c: ModulusProofCase, _ pk: PaillierPublicKey, _ sk: PaillierPrivateKey?) throws -> String? {
        let context = try hexBytes(c.context_hex, "context_hex")
        let bytes = try hexBytes(c.proof, "proof")
        if let expected = c.challenges {
            let got = try PaillierModulusProof.challenges(publicKey: pk, context: context).map(\.hexString)
            guard got == expected else { return "challenges differ: got \(got.count), first mismatch at \(firstMismatch(got, expected))" }
        }
        switch c.result {
        case "valid":
            guard let sk else { return "a valid case needs p and q" }
            let proof = try PaillierModulusProof.prove(privateKey: sk, context: context)
            guard try proof.encoded(modulusBytes: pk.modulusBytes) == bytes else { return "proof differs" }
            // The verifier alone, from the recorded bytes.
            let decoded = try PaillierModulusProof(decoding: bytes, publicKey: pk)
            try decoded.verify(publicKey: pk, context: context)
            return decoded == proof ? nil : "decoded proof differs"
        case "invalid":
            do {
                try PaillierModulusProof(decoding: bytes, publicKey: pk).verify(publicKey: pk, context: context)
                return "accepted a proof that must be refused"
            } catch CleanRoomCryptoError.invalidPublicKey {
                return nil
            } catch {
                return "refused with an unexpected error: \(error)"
            }
        default:
            return "unknown result '\(c.result)'"
        }
    }

    static func firstMismatch(_ a: [String], _ b: [String]) -> Int {
        zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
    }
}
