// Canonical JSON: the bytes collaboration digests are computed over. They equal, byte for byte,
// what Foundation's JSONEncoder writes with `outputFormatting = [.sortedKeys,
// .withoutEscapingSlashes]` on Linux (swift-foundation), so digests issued while the model was
// encoded with JSONEncoder stay valid. CanonicalJSONTests checks it against JSONEncoder.
//
// Rules:
// - No whitespace. Integers in plain decimal ("-9223372036854775808" for Int64.min).
// - Object members are sorted by the UTF-8 bytes of their keys (unsigned, a prefix first):
//   case-sensitive ("B" < "a"), not numeric ("a10" < "a9"), "_" (0x5F) before lowercase letters
//   ("a_b" < "ab"), no Unicode normalization ("e\u{301}" < "f" < "é").
// - Keys equal as Swift Strings (canonically equivalent) are one member, as in JSONEncoder's
//   dictionary: the first spelling stays, the last value wins.
// - Strings: `"` is \", `\` is \\, U+0008 \b, U+0009 \t, U+000A \n, U+000C \f, U+000D \r, the other
//   code points below U+0020 are \u00XX with lowercase hex. Everything else, including "/", U+007F,
//   U+2028, U+2029 and all non-ASCII, is written as its raw UTF-8.

/// A JSON value in the canonical form collaboration digests are computed over (see the rules at
/// the top of this file).
package indirect enum CanonicalJSON: Sendable, Equatable {
    /// An object; the members may come in any order, the writer sorts the keys itself.
    case object([(key: String, value: CanonicalJSON)])
    /// An array, written in the given order.
    case array([CanonicalJSON])
    /// A string.
    case string(String)
    /// An integer, written in decimal.
    case integer(Int64)

    /// Structural equality: objects compare member by member in the given order, so two objects
    /// that differ only in member order are not `==` (they still encode to the same bytes).
    package static func == (lhs: CanonicalJSON, rhs: CanonicalJSON) -> Bool {
        switch (lhs, rhs) {
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case let (.array(a), .array(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.integer(a), .integer(b)): return a == b
        default: return false
        }
    }

    /// The canonical bytes: no whitespace, object keys sorted exactly as JSONEncoder's .sortedKeys
    /// sorts them, strings escaped exactly as JSONEncoder escapes them (with
    /// .withoutEscapingSlashes), integers in decimal.
    package func encoded() -> [UInt8] {
        var out: [UInt8] = []
        write(to: &out)
        return out
    }

    /// Appends this value's canonical bytes to `out`.
    private func write(to out: inout [UInt8]) {
        switch self {
        case .integer(let n):
            out += String(n).utf8
        case .string(let s):
            Self.write(string: s, to: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                element.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            // A dictionary merges String-equal keys exactly as JSONEncoder's keyed container does.
            var merged: [String: CanonicalJSON] = [:]
            for member in members { merged[member.key] = member.value }
            let sorted = merged.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            out.append(UInt8(ascii: "{"))
            for (i, member) in sorted.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.write(string: member.key, to: &out)
                out.append(UInt8(ascii: ":"))
                member.value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Appends `string` quoted and escaped to `out`.
    private static func write(string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), byte]
            case 0x08: out += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0C: out += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x00..<0x20:
                out += Array(#"\u00"#.utf8)
                out += [hexDigit(byte >> 4), hexDigit(byte & 0x0F)]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// The lowercase hex digit for a value in 0...15.
    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
