// CanonicalJSON must write exactly the bytes JSONEncoder writes with [.sortedKeys,
// .withoutEscapingSlashes]: collaboration digests issued while the model was encoded with
// JSONEncoder must not change. Every test compares real bytes against JSONEncoder (via the
// Encodable mirror below); a few also pin the expected bytes literally.
import Foundation
import Testing

@testable import CleanRoomProtocol

@Suite("Canonical JSON") struct CanonicalJSONTests {
    @Test func everyScalarUpToFFAsOneCharacterString() throws {
        for value in UInt32(0)...0xFF {
            try expectSameBytes(.string(String(Unicode.Scalar(value)!)))
        }
    }

    @Test func pinnedEscapes() {
        let cases: [(String, String)] = [
            ("\u{0}", #""\u0000""#), ("\u{8}", #""\b""#), ("\t", #""\t""#), ("\n", #""\n""#),
            ("\u{B}", #""\u000b""#), ("\u{C}", #""\f""#), ("\r", #""\r""#), ("\u{1F}", #""\u001f""#),
            ("\"", #""\"""#), ("\\", #""\\""#), ("/", #""/""#), ("\u{7F}", "\"\u{7F}\""),
            ("\u{2028}\u{2029}", "\"\u{2028}\u{2029}\""), ("é😀", "\"é😀\""),
        ]
        for (input, expected) in cases {
            #expect(CanonicalJSON.string(input).encoded() == Array(expected.utf8), "\(input.debugDescription)")
        }
    }

    @Test func trickyStrings() throws {
        let strings = [
            "", "\"", "\\", "/", "\\\"", "\"\\\"", "a/b\\c\"d", "</script>", "http://x/y?z=1&w=\"2\"",
            "\u{2028}", "\u{2029}", "x\u{2028}y\u{2029}z", "😀", "👩‍👩‍👧", "🇩🇪", "e\u{301}", "\u{E9}",
            "a\u{300}\u{301}\u{302}", "\u{0}", "a\u{0}b", "\u{7F}", "\r\n", "\n\r", "\t\u{8}\u{C}",
            "\u{FEFF}", "\u{FFFD}", "\u{FFFF}", "\u{10FFFF}", "中文", "\u{85}\u{A0}\u{AD}", "'", "`",
        ]
        for s in strings {
            try expectSameBytes(.string(s))
            try expectSameBytes(.object([(s, .string(s)), ("k", .array([.string(s)]))]))
        }
    }

    @Test func randomStrings() throws {
        var rng = TestSplitMix64(seed: 0xC1EA_2200)
        for _ in 0..<4000 {
            let s = randomString(&rng)
            let bytes = CanonicalJSON.string(s).encoded()
            try expectSameBytes(.string(s))
            // Valid JSON that decodes back to the same scalars.
            let decoded = try JSONDecoder().decode(String.self, from: Data(bytes))
            #expect(Array(decoded.unicodeScalars) == Array(s.unicodeScalars))
        }
    }

    @Test func objectKeyOrder() throws {
        let keys = [
            "ab", "a_b", "values", "value_owner", "min_intersection", "min_group_size", "B", "a",
            "a10", "a9", "A", "b", "Z", "z", "_", "0", "-", "~", "é", "e", "f", "e\u{301}x", "中",
            "\u{E000}", "\u{FF61}", "😀", "", "a\u{0}", "\u{7F}", "\u{80}", "ａ", "x01", "x1",
        ]
        let object = CanonicalJSON.object(keys.enumerated().map { ($0.element, .integer(Int64($0.offset))) })
        try expectSameBytes(object)
        let pinned = CanonicalJSON.object(["values", "ab", "a9", "a_b", "B", "value_owner", "a10", "a"].map { ($0, .integer(0)) })
        #expect(pinned.encoded() == Array(#"{"B":0,"a":0,"a10":0,"a9":0,"a_b":0,"ab":0,"value_owner":0,"values":0}"#.utf8))
        var rng = TestSplitMix64(seed: 7)
        for _ in 0..<300 {
            let count = Int(rng.next() % 12)
            let members = (0..<count).map { i in (key: randomString(&rng, maxLength: 4), value: CanonicalJSON.integer(Int64(i))) }
            try expectSameBytes(.object(members))
        }
    }

    @Test func keyOrderInTheInputDoesNotChangeTheOutput() throws {
        let members: [(key: String, value: CanonicalJSON)] = [
            ("min_intersection", .integer(5)), ("min_group_size", .integer(3)), ("values", .array([])),
            ("value_owner", .string("advertiser")), ("a_b", .object([])), ("ab", .string("x")), ("é", .integer(-1)),
        ]
        let expected = try referenceBytes(.object(members))
        var rng = TestSplitMix64(seed: 42)
        for _ in 0..<50 {
            var shuffled = members
            for i in stride(from: shuffled.count - 1, to: 0, by: -1) { shuffled.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            #expect(CanonicalJSON.object(shuffled).encoded() == expected)
        }
        #expect(CanonicalJSON.object(members) != CanonicalJSON.object(members.reversed()))
    }

    @Test func keysEqualAsStringsAreMergedLikeJSONEncoder() throws {
        try expectSameBytes(.object([("a", .integer(1)), ("b", .integer(2)), ("a", .integer(3))]))
        try expectSameBytes(.object([("e\u{301}", .integer(1)), ("\u{E9}", .integer(2))]))
        try expectSameBytes(.object([("\u{E9}", .integer(1)), ("e\u{301}", .integer(2))]))
    }

    @Test func nestedContainers() throws {
        let values: [CanonicalJSON] = [
            .array([]), .object([]), .array([.array([])]), .array([.object([])]), .object([("a", .array([]))]),
            .object([("a", .object([]))]), .array([.array([.array([.integer(1)])]), .object([("z", .array([])), ("y", .object([]))])]),
            .object([
                ("outer", .object([("inner", .array([.string("x"), .integer(-2), .object([("b", .integer(1)), ("a", .integer(2))])]))]))
            ]),
        ]
        for value in values { try expectSameBytes(value) }
        var rng = TestSplitMix64(seed: 2024)
        for _ in 0..<300 { try expectSameBytes(randomValue(&rng, depth: 4)) }
    }

    @Test func integerExtremes() throws {
        let integers: [Int64] = [.min, .max, .min + 1, .max - 1, 0, 1, -1, 9, 10, -10, 1 << 53, -(1 << 53), 1 << 62]
        for n in integers {
            try expectSameBytes(.integer(n))
            #expect(CanonicalJSON.integer(n).encoded() == Array(String(n).utf8))
        }
        try expectSameBytes(.array(integers.map(CanonicalJSON.integer)))
        let extremes = CanonicalJSON.array([.integer(.min), .integer(.max)])
        #expect(extremes.encoded() == Array("[-9223372036854775808,9223372036854775807]".utf8))
    }

    @Test func equality() {
        #expect(CanonicalJSON.object([("a", .array([.integer(1)]))]) == .object([("a", .array([.integer(1)]))]))
        #expect(CanonicalJSON.object([("a", .integer(1))]) != .object([("a", .integer(2))]))
        #expect(CanonicalJSON.object([("a", .integer(1))]) != .object([("b", .integer(1))]))
        #expect(CanonicalJSON.object([("a", .integer(1))]) != .object([]))
        #expect(CanonicalJSON.string("1") != .integer(1))
        #expect(CanonicalJSON.array([]) != .object([]))
    }
}

// MARK: - Reference: the same value encoded by JSONEncoder

/// Mirror of CanonicalJSON that Foundation's JSONEncoder encodes (the reference bytes).
private indirect enum ReferenceJSON: Encodable {
    case object([(key: String, value: ReferenceJSON)])
    case array([ReferenceJSON])
    case string(String)
    case integer(Int64)

    init(_ value: CanonicalJSON) {
        switch value {
        case .object(let members): self = .object(members.map { ($0.key, ReferenceJSON($0.value)) })
        case .array(let elements): self = .array(elements.map(ReferenceJSON.init))
        case .string(let s): self = .string(s)
        case .integer(let n): self = .integer(n)
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .object(let members):
            var container = encoder.container(keyedBy: Key.self)
            for member in members { try container.encode(member.value, forKey: Key(stringValue: member.key)) }
        case .array(let elements):
            var container = encoder.unkeyedContainer()
            for element in elements { try container.encode(element) }
        case .string(let s):
            var container = encoder.singleValueContainer()
            try container.encode(s)
        case .integer(let n):
            var container = encoder.singleValueContainer()
            try container.encode(n)
        }
    }
}

private func referenceBytes(_ value: CanonicalJSON) throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return Array(try encoder.encode(ReferenceJSON(value)))
}

private func expectSameBytes(_ value: CanonicalJSON, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let ours = value.encoded()
    let reference = try referenceBytes(value)
    let same = ours == reference  // compared as bytes: String == would treat "e\u{301}" and "é" as equal
    let shown = { (bytes: [UInt8]) in String(decoding: bytes, as: UTF8.self).debugDescription }
    #expect(same, "ours \(shown(ours)) vs JSONEncoder \(shown(reference))", sourceLocation: sourceLocation)
}

// MARK: - Deterministic random input

/// SplitMix64 (Steele, Lea, Flood 2014), inlined so the inputs never depend on other code.
private struct TestSplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func next(in range: ClosedRange<UInt32>) -> UInt32 {
        range.lowerBound + UInt32(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }
}

/// A string mixing ASCII, control characters, Latin-1, specials, combining marks, CJK and emoji.
private func randomString(_ rng: inout TestSplitMix64, maxLength: UInt64 = 24) -> String {
    let specials: [UInt32] = [0x22, 0x5C, 0x2F, 0x7F, 0x2028, 0x2029, 0xFEFF, 0x200D, 0xFFFD]
    var scalars = String.UnicodeScalarView()
    for _ in 0..<(rng.next() % (maxLength + 1)) {
        let value: UInt32
        switch rng.next() % 8 {
        case 0, 1: value = rng.next(in: 0x20...0x7E)
        case 2: value = rng.next(in: 0x00...0x1F)
        case 3: value = rng.next(in: 0x80...0xFF)
        case 4: value = specials[Int(rng.next() % UInt64(specials.count))]
        case 5: value = rng.next(in: 0x300...0x36F)
        case 6: value = rng.next(in: 0x4E00...0x9FFF)
        default: value = rng.next(in: 0x1F300...0x1FAFF)
        }
        scalars.append(Unicode.Scalar(value)!)
    }
    return String(scalars)
}

/// A random tree of objects, arrays, strings and integers.
private func randomValue(_ rng: inout TestSplitMix64, depth: Int) -> CanonicalJSON {
    switch rng.next() % (depth > 0 ? 4 : 2) {
    case 0: return .string(randomString(&rng, maxLength: 6))
    case 1: return .integer(Int64(bitPattern: rng.next()) >> (rng.next() % 64))
    case 2: return .array((0..<rng.next() % 4).map { _ in randomValue(&rng, depth: depth - 1) })
    default: return .object((0..<rng.next() % 4).map { _ in (randomString(&rng, maxLength: 3), randomValue(&rng, depth: depth - 1)) })
    }
}
