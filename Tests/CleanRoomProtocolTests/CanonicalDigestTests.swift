import CleanRoomCrypto
import Foundation
import Testing
import _CleanRoomTestSupport

@testable import CleanRoomProtocol

/// The hand-written canonical encoding of a collaboration gives exactly the bytes the first,
/// Codable-derived model gave under JSONEncoder, so no digest ever issued changes.
@Suite struct CanonicalDigestTests {
    /// docs/collaboration.md: the complete example, its canonical line and its digest.
    @Test func documentedExampleKeepsItsEncodingAndDigest() throws {
        let doc = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/collaboration.md"),
            encoding: .utf8)
        let blocks = doc.components(separatedBy: "```")
        // Fenced blocks are the odd components; the example file is the last YAML block, the
        // canonical encoding the only JSON one.
        let yaml = try #require(blocks.enumerated().last { $0.offset % 2 == 1 && $0.element.hasPrefix("yaml") }?.element.dropFirst(4))
        let json = try #require(blocks.enumerated().first { $0.offset % 2 == 1 && $0.element.hasPrefix("json") }?.element.dropFirst(4))
        let c = try Collaboration(yaml: String(yaml))
        #expect(String(decoding: c.canonicalEncoding(), as: UTF8.self) == json.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(try c.digestHex() == "963838a57f1efe5af6113fa13946efeace5a3f7f7bff2c0f598ce3138fe85ff8")
    }

    @Test func generatedCollaborationsMatchTheFirstModelsJSONEncoding() throws {
        var rng = SplitMix64(seed: 0xC0FF_EE15)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for _ in 0..<300 {
            let c = Self.randomCollaboration(&rng)
            let expected = try encoder.encode(FirstModel.Collaboration(c))
            #expect(c.canonicalEncoding() == Array(expected))
        }
    }

    /// Names and labels with quotes, backslashes, slashes, control characters, non-ASCII.
    static func text(_ rng: inout SplitMix64) -> String {
        let pieces = ["a", "Z", "\"", "\\", "/", "\u{0}", "\n", "\t", "\u{1F}", "\u{7F}", "é", "e\u{301}", "\u{2028}", "漢", "😀", " ", "-"]
        return (0..<Int(1 + rng.next() % 12)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined()
    }

    static func randomCollaboration(_ rng: inout SplitMix64) -> Collaboration {
        let a = text(&rng) + "1", b = text(&rng) + "2"
        let parties = [
            Party(name: a, certificateSHA256: String(repeating: "a", count: 64), listen: rng.next() % 2 == 0 ? "[::1]:7443" : nil),
            Party(name: b, certificateSHA256: String(repeating: "b", count: 64), listen: nil),
        ]
        var analyses: [Analysis] = []
        for k in 0..<Int(1 + rng.next() % 3) {
            let norm = Normalization.allCases[Int(rng.next() % 3)]
            let join = [
                JoinColumn(party: a, column: text(&rng), normalize: norm), JoinColumn(party: b, column: text(&rng), normalize: norm),
            ]
            let sizes = [
                SetSizeBounds(party: a, min: Int(rng.next() % 100), max: Int(rng.next() % 100_000_000)),
                SetSizeBounds(party: b, min: 1, max: Int(rng.next() % 1000) + 1),
            ]
            let spec: AnalysisSpec
            switch rng.next() % 3 {
            case 0: spec = .cardinality
            case 1: spec = .intersection
            default:
                let values = (0..<Int(1 + rng.next() % 3)).map { i in
                    ValueColumn(
                        name: text(&rng) + "\(i)", scale: Int(rng.next() % 10), min: -Int64(rng.next() % 1000),
                        max: Int64(rng.next() % (1 << 40)))
                }
                let grouping =
                    rng.next() % 2 == 0 ? IntersectionSumSpec.Grouping(column: text(&rng), minGroupSize: Int(rng.next() % 500) + 1) : nil
                let stats = Statistic.allCases.filter { _ in rng.next() % 2 == 0 }
                spec = .intersectionSum(
                    IntersectionSumSpec(
                        valueOwner: rng.next() % 2 == 0 ? a : b, values: values, grouping: grouping, statistics: stats,
                        keyBits: rng.next() % 2 == 0 ? 2048 : 3072))
            }
            analyses.append(
                Analysis(
                    name: text(&rng) + "\(k)", join: join, receivers: rng.next() % 2 == 0 ? [a, b] : [b],
                    minIntersection: Int(rng.next() % 1000) + 1,
                    setSize: sizes, badRows: rng.next() % 2 == 0 ? .abort : .skip, spec: spec))
        }
        return Collaboration(name: text(&rng), parties: parties, analyses: analyses)
    }
}

/// The first model's shape, Codable as it was: the reference the canonical encoding must equal.
enum FirstModel {
    struct Collaboration: Encodable {
        var name: String
        var parties: [Party]
        var analyses: [Analysis]

        init(_ c: CleanRoomProtocol.Collaboration) {
            name = c.name
            parties = c.parties.map { Party(name: $0.name, certificateSHA256: $0.certificateSHA256, listen: $0.listen) }
            analyses = c.analyses.map(Analysis.init)
        }
    }

    struct Party: Encodable {
        var name: String
        var certificateSHA256: String
        var listen: String?
        enum CodingKeys: String, CodingKey {
            case name
            case certificateSHA256 = "certificate_sha256"
            case listen
        }
    }

    struct Analysis: Encodable {
        var name: String
        var kind: String
        var join: [JoinColumn]
        var receivers: [String]
        var minIntersection: Int
        var setSize: [SetSizeBounds]
        var badRows: String
        var valueOwner: String?
        var values: [ValueColumn]?
        var groupBy: String?
        var minGroupSize: Int?
        var statistics: [String]?
        var keyBits: Int?

        enum CodingKeys: String, CodingKey {
            case name, kind, join, receivers
            case minIntersection = "min_intersection"
            case setSize = "set_size"
            case badRows = "bad_rows"
            case valueOwner = "value_owner"
            case values
            case groupBy = "group_by"
            case minGroupSize = "min_group_size"
            case statistics
            case keyBits = "key_bits"
        }

        init(_ a: CleanRoomProtocol.Analysis) {
            name = a.name
            kind = a.kind.rawValue
            join = a.join
            receivers = a.receivers
            minIntersection = a.minIntersection
            setSize = a.setSize
            badRows = a.badRows.rawValue
            if let sum = a.sumSpec {
                valueOwner = sum.valueOwner
                values = sum.values
                groupBy = sum.grouping?.column
                minGroupSize = sum.grouping?.minGroupSize
                statistics = sum.statistics.map(\.rawValue)
                keyBits = sum.keyBits
            }
        }
    }
}

/// `privacy_budget` and `max_groups`: absent or at their default they leave the digest as it was;
/// set, they change it; out of range or misplaced, the file is refused with the field named.
@Suite struct PolicyAdditionsTests {
    @Test func newFieldsChangeTheDigestOnlyWhenSet() throws {
        let base = try Fixtures.collaboration()
        // (documentedExampleKeepsItsEncodingAndDigest pins an existing file's digest.)
        #expect(try Fixtures.collaboration(Fixtures.yaml(maxGroups: 1_000)).digestHex() == (try base.digestHex()))
        #expect(base.privacyBudget == nil)
        var t = Fixtures.template()
        t.maxSessions = 3
        let budgeted = try Collaboration(yaml: t.yaml)
        #expect(budgeted.privacyBudget?.maxSessions == 3)
        #expect(try budgeted.digestHex() != (try base.digestHex()))
        #expect(try Fixtures.collaboration(Fixtures.yaml(maxGroups: 5)).digestHex() != (try base.digestHex()))
        #expect(String(decoding: budgeted.canonicalEncoding(), as: UTF8.self).contains(#""privacy_budget":{"max_sessions":3}"#))
    }

    @Test func badValuesAreRefusedWithTheirField() {
        var t = Fixtures.template()
        t.maxSessions = 0
        #expect(throws: CleanRoomProtocolError.self) { try Collaboration(yaml: t.yaml) }
        do { _ = try Collaboration(yaml: t.yaml) } catch { #expect("\(error)".contains("privacy_budget.max_sessions"), "\(error)") }
        let unknown = Fixtures.yaml().replacingOccurrences(of: "analyses:", with: "privacy_budget:\n  epsilon: 1\nanalyses:")
        do { _ = try Collaboration(yaml: unknown) } catch { #expect("\(error)".contains("epsilon"), "\(error)") }
        let tooMany = Fixtures.yaml(maxGroups: 100_001)
        #expect(throws: CleanRoomProtocolError.self) { try Collaboration(yaml: tooMany) }
        let ungrouped = Fixtures.yaml().replacingOccurrences(
            of: "name: total-spend\n", with: "name: total-spend\n    max_groups: 5\n")
        do {
            _ = try Collaboration(yaml: ungrouped)
            Issue.record("max_groups without group_by was accepted")
        } catch { #expect("\(error)".contains("'max_groups' needs 'group_by'"), "\(error)") }
    }
}
