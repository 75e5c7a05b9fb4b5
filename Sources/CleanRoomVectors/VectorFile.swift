// The CleanRoom test-vector schema ("cleanroom-vectors/v1"), documented in Vectors/README.md.
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

struct CasesFile<Case: Decodable>: Decodable { let cases: [Case] }
struct PaillierFile: Decodable { let keys: [String: PaillierKeyHex]; let cases: [PaillierCase] }

/// A vector file could not be parsed or names something unknown.
struct VectorParseError: Error, CustomStringConvertible {
    let description: String
}

enum Hex {
    /// Decodes lowercase or uppercase hex; nil when malformed.
    static func decode(_ s: String) -> [UInt8]? {
        let chars = Array(s.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    static func encode(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
