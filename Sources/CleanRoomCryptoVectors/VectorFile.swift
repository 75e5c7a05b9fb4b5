// The CleanRoom test-vector schema ("cleanroom-vectors/v1"), documented in Vectors/README.md: the
// envelope every file shares and the cases of the cryptographic kinds.
import Foundation

/// The envelope shared by every vector file.
struct VectorEnvelope: Decodable {
    let schema: String
    let kind: String
    let description: String
    let source: String
}

struct HexPoint: Decodable { let x: String; let y: String }

struct ExpandCase: Decodable {
    let id: String
    let source: String
    let hash: String
    let dst: String?
    let dst_hex: String?
    let msg: String?
    let msg_hex: String?
    let len_in_bytes: Int
    let uniform_bytes: String
}

struct HashToCurveCase: Decodable {
    let id: String
    let source: String
    let suite: String
    let dst: String?
    let dst_hex: String?
    let msg: String?
    let msg_hex: String?
    let u: [String]
    let Q0: HexPoint
    let Q1: HexPoint
    let P: HexPoint
    let encoded: String?
}

struct X25519Case: Decodable {
    let id: String
    let source: String
    let `private`: String
    let `public`: String
    let shared: String
    let iterations: Int?
    let result: String
    let flags: [String]
    let expected: String
}

struct PaillierKeyHex: Decodable { let p: String; let q: String }

struct PaillierCase: Decodable {
    let id: String
    let source: String
    let key: String
    let op: String
    let m: String?
    let r: String?
    let c: String?
    let c1: String?
    let c2: String?
    let k: String?
    let reason: String?
}

/// A key of a modulus-proof file: n, with p and q for honest keys (r and R, the factors of the
/// malicious example, are documentation and not read).
struct ModulusProofKeyHex: Decodable {
    let n: String
    let p: String?
    let q: String?
}

struct ModulusProofCase: Decodable {
    let id: String
    let source: String
    let key: String
    let context_hex: String
    let challenges: [String]?
    let proof: String
    let result: String
}

/// A ristretto255 case (RFC 9496 Appendix A): `multiple` (scalar·B has this encoding), `reject` (a
/// peer element that must be refused), `from_uniform_bytes` (the one-way map).
struct RistrettoCase: Decodable {
    let id: String
    let source: String
    let op: String
    let scalar: String?
    let encoding: String?
    let uniform_bytes: String?
}

/// An RFC 9497 OPRF-mode case: `oprf` (a whole evaluation), `blind_evaluate_reject` and
/// `finalize_reject` (an element from the peer that the server or the client must refuse).
struct OPRFCase: Decodable {
    let id: String
    let source: String
    let op: String
    let seed: String?
    let key_info: String?
    let skSm: String?
    let input: String?
    let blind: String?
    let blinded_element: String?
    let evaluation_element: String?
    let output: String?
}

/// An enrichment-record case: `hkdf` (RFC 5869), `seal` (match tag and sealed record from an OPRF
/// output), `open_reject` (a record that must be refused).
struct EnrichmentRecordCase: Decodable {
    let id: String
    let source: String
    let op: String
    let ikm: String?
    let salt: String?
    let info: String?
    let length: Int?
    let okm: String?
    let prf_output: String?
    let context_hex: String?
    let payload_width: Int?
    let payload: String?
    let match_tag: String?
    let sealed: String?
}

/// A file whose cases share one shape (every kind but `paillier`, which also lists its keys).
package struct CasesFile<Case: Decodable>: Decodable { package let cases: [Case] }
struct PaillierFile: Decodable { let keys: [String: PaillierKeyHex]; let cases: [PaillierCase] }
struct OPRFFile: Decodable { let suite: String; let mode: Int; let cases: [OPRFCase] }
struct ModulusProofFile: Decodable { let keys: [String: ModulusProofKeyHex]; let cases: [ModulusProofCase] }

/// A vector file could not be parsed or names something unknown.
package struct VectorParseError: Error, CustomStringConvertible {
    package let description: String
    package init(description: String) { self.description = description }
}
