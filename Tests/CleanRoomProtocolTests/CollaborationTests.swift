import Foundation
import Testing
import _CleanRoomTestSupport

@testable import CleanRoomProtocol

@Suite struct CollaborationTests {
    @Test func loadsTheFixture() throws {
        let c = try Fixtures.collaboration()
        #expect(c.parties.map(\.name) == ["advertiser", "publisher"])
        #expect(c.analyses.map(\.name) == ["overlap", "shared-customers", "spend-by-campaign", "total-spend"])
        let sum = try c.analysis(named: "spend-by-campaign")
        let spec = try #require(sum.sumSpec)
        #expect(sum.kind == .intersectionSum && spec.valueOwner == "advertiser" && spec.grouping?.column == "campaign")
        #expect(spec.values.first == ValueColumn(name: "purchase_amount", scale: 2, min: -5000, max: 1_000_000))
        #expect(sum.role(of: "advertiser", in: c) == .p2)
        #expect(spec.keyBits == 2048)
    }

    @Test func digestIsStableUnderFormattingAndChangesWithMeaning() throws {
        let base = try Fixtures.collaboration().digestHex()
        // Reordered keys, flow vs block style, comments, quoting and number formatting.
        let reformatted = """
            # the same collaboration, written differently
            analyses:
              - kind: "cardinality"
                name: overlap
                set_size: { publisher: { max: 10_000, min: 1 }, advertiser: { min: 1, max: 10000 } }
                receivers: [publisher, advertiser]
                min_intersection: 1
                join: { publisher: { normalize: email, column: email }, advertiser: { column: "email", normalize: email } }
              - name: total-spend
                kind: intersection-sum
                join: { advertiser: { column: email, normalize: email }, publisher: { column: email, normalize: email } }
                values: { owner: advertiser, columns: [ { name: purchase_amount, scale: 2, max: "10000.0", min: 0 } ] }
                receivers: [advertiser, publisher]
                min_intersection: 1
                set_size: { advertiser: { min: 1, max: 10000 }, publisher: { min: 1, max: 10000 } }
              - name: shared-customers
                kind: intersection
                join: { advertiser: { column: email, normalize: email }, publisher: { column: email, normalize: email } }
                receivers: [advertiser, publisher]
                min_intersection: 1
                set_size: { advertiser: { min: 1, max: 10000 }, publisher: { min: 1, max: 10000 } }
              - name: spend-by-campaign
                kind: intersection-sum
                join: { advertiser: { column: email, normalize: email }, publisher: { column: email, normalize: email } }
                values:
                  columns:
                    - { name: purchase_amount, scale: 2, min: "-50", max: "10000.00" }
                    - { name: quantity, min: 0, max: 100 }
                  owner: advertiser
                group_by: { column: campaign, party: publisher }
                min_group_size: 1
                statistics: [mean, sum, count, sum]
                receivers: [advertiser, publisher]
                min_intersection: 1
                set_size: { advertiser: { min: 1, max: 10000 }, publisher: { min: 1, max: 10000 } }
            parties:
              - { name: publisher, certificate_sha256: "\(Fixtures.fingerprintB.uppercased())" }
              - name: advertiser
                listen: "127.0.0.1:7443"
                certificate_sha256: "\(stride(from: 0, to: 64, by: 2).map { i in String(Array(Fixtures.fingerprintA)[i..<i+2]) }.joined(separator: ":"))"
            collaboration: acme-news-2026
            """
        #expect(try Collaboration(yaml: reformatted).digestHex() == base)
        // JSON is YAML too.
        let json = String(decoding: try JSONEncoder().encode(["collaboration": "x"]), as: UTF8.self)
        #expect(throws: CleanRoomProtocolError.self) { try Collaboration(yaml: json) }  // parses, then misses fields
        // Any change of meaning changes the digest.
        for changed in [
            Fixtures.yaml(minIntersection: 2), Fixtures.yaml(minGroup: 3), Fixtures.yaml(receiversSum: ["publisher"]),
            Fixtures.yaml(maxSet: 10_001), Fixtures.yaml(statistics: [.count]),
        ] {
            #expect(try Collaboration(yaml: changed).digestHex() != base)
        }
    }

    /// Replaces the first occurrence of `old` in the fixture and expects loading to fail at `path`.
    func rejects(_ old: String, _ new: String, path: String, mentioning: String) {
        let text = Fixtures.yaml().replacingOccurrences(of: old, with: new, options: [], range: Fixtures.yaml().range(of: old))
        #expect(text != Fixtures.yaml(), "fixture edit did not apply: \(old)")
        do {
            _ = try Collaboration(yaml: text)
            Issue.record("accepted a file with \(mentioning)")
        } catch let CleanRoomProtocolError.invalidCollaboration(p, problem) {
            #expect(p.hasPrefix(path), "path \(p)")
            #expect(problem.contains(mentioning), "problem: \(problem)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func rejectsUnknownMissingAndContradictoryFields() {
        rejects("collaboration: acme-news-2026", "collaboration: acme\ncolour: blue", path: "colour", mentioning: "unknown field")
        rejects(
            "    kind: cardinality", "    kind: cardinality\n    min_group: 3", path: "analyses[0].min_group", mentioning: "unknown field")
        rejects("    min_intersection: 1\n", "", path: "analyses[0]", mentioning: "missing required field 'min_intersection'")
        rejects(
            "receivers: [advertiser, publisher]", "receivers: [advertiser, broker]", path: "analyses[0].receivers[1]",
            mentioning: "not a party")
        rejects("min_intersection: 1", "min_intersection: 0", path: "analyses[0].min_intersection", mentioning: "outside 1...")
        rejects(
            "group_by: { party: publisher", "group_by: { party: advertiser", path: "analyses[2].group_by.party",
            mentioning: "party without the values")
        rejects(
            "    certificate_sha256: \"\(Fixtures.fingerprintB)\"",
            "    certificate_sha256: \"\(Fixtures.fingerprintB)\"\n    listen: 0.0.0.0:9000",
            path: "parties", mentioning: "exactly one party must have 'listen")
        rejects(
            "certificate_sha256: \"\(Fixtures.fingerprintA)\"", "certificate_sha256: \"abc\"", path: "parties[0].certificate_sha256",
            mentioning: "64 hex digits")
        rejects("kind: cardinality", "kind: average", path: "analyses[0].kind", mentioning: "expected one of")
        rejects(
            "advertiser: { min: 1, max: 10000 }", "advertiser: { min: 20, max: 10 }", path: "analyses[0].set_size.advertiser",
            mentioning: "larger than max")
        rejects(
            "publisher: { column: email, normalize: email }", "publisher: { column: email, normalize: phone }", path: "analyses[0].join",
            mentioning: "same way")
        rejects("max: \"10000.00\" }", "max: \"10000.001\" }", path: "analyses[2].values.columns[0].max", mentioning: "at most 2 digits")
        rejects("    min_group_size: 1\n", "", path: "analyses[2].group_by", mentioning: "min_group_size")
        rejects(
            "    kind: cardinality\n", "    kind: cardinality\n    key_bits: 2048\n", path: "analyses[0].key_bits",
            mentioning: "only an intersection-sum")
        rejects("{ name: quantity,", "{ name: email,", path: "analyses[2].values.columns[1].name", mentioning: "join column")
    }

    @Test func rejectsEmptyAndNonYAMLFiles() {
        #expect(throws: CleanRoomProtocolError.self) { try Collaboration(yaml: "") }
        #expect(throws: CleanRoomProtocolError.self) { try Collaboration(yaml: "parties: [unclosed") }
        #expect(throws: CleanRoomProtocolError.self) { try Collaboration(yaml: "- just\n- a list") }
    }

    @Test func decimalParsing() {
        #expect(DecimalParser.parse("12.5", scale: 2) == 1250)
        #expect(DecimalParser.parse("-0.01", scale: 2) == -1)
        #expect(DecimalParser.parse("7", scale: 0) == 7)
        #expect(DecimalParser.parse(".5", scale: 1) == 5)
        for bad in ["12,5", "12.5x", "1.234", "", "-", "1.", "1e3", "١٢"] { #expect(DecimalParser.parse(bad, scale: 2) == nil, "\(bad)") }
        #expect(DecimalParser.parse("99999999999999999999", scale: 0) == nil)
    }

    /// The byte parser the session uses on ASCII cells agrees with trimming and parsing the
    /// string, on hand-picked edge cases and 20,000 random short strings.
    @Test func byteDecimalParserMatchesStringParser() {
        func viaBytes(_ s: String, _ scale: Int) -> DecimalParser.BytesResult {
            var text = s
            return text.withUTF8 { DecimalParser.parse(asciiBytes: UnsafeRawBufferPointer($0), scale: scale) }
        }
        func viaString(_ s: String, _ scale: Int) -> DecimalParser.BytesResult {
            DecimalParser.parse(s.trimmingCharacters(in: .whitespaces), scale: scale).map { .value($0) } ?? .malformed
        }
        let fixed = [
            " 12.5\t", "+7", "-0", "1..2", ".", "-.5", "+", " ", "", "1.", "00012.30", "9223372036854775807",
            "9223372036854775808", "-9223372036854775807", "922337203685477580.7",
        ]
        for s in fixed {
            for scale in 0...3 { #expect(viaBytes(s, scale) == viaString(s, scale), "\(s) scale \(scale)") }
        }
        #expect(viaBytes("١٢", 0) == .notASCII && viaBytes("\u{00A0}5", 0) == .notASCII)
        let alphabet = Array("0123456789.-+ \tx")
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let s = String((0..<Int.random(in: 0...8, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
            let scale = Int.random(in: 0...3, using: &rng)
            #expect(viaBytes(s, scale) == viaString(s, scale), "'\(s)' scale \(scale)")
        }
    }

    @Test func normalisation() throws {
        #expect(try Normalization.email.apply("  Alice@Example.COM\t").get() == Array("alice@example.com".utf8))
        // NFC: "é" precomposed and decomposed normalise to the same bytes.
        #expect(try Normalization.email.apply("Jos\u{E9}@example.com").get() == Normalization.email.apply("JOSE\u{301}@example.com").get())
        #expect(Normalization.email.apply("   ") == .failure(.empty))
        #expect(Normalization.email.apply("no-at-sign") == .failure(.notAnEmail))
        #expect(try Normalization.phone.apply("+44 (20) 7946-0958").get() == Array("442079460958".utf8))
        #expect(try Normalization.phone.apply("0044 20 7946 0958").get() == Array("442079460958".utf8))
        #expect(Normalization.phone.apply("12-34") == .failure(.notAPhoneNumber))
        #expect(Normalization.phone.apply("call me") == .failure(.notAPhoneNumber))
        #expect(try Normalization.none.apply(" Keep ").get() == Array(" Keep ".utf8))
    }
}

@Suite struct CollaborationEdgeTests {
    func fails(_ text: String, mentioning: String) {
        do {
            _ = try Collaboration(yaml: text)
            Issue.record("accepted: \(mentioning)")
        } catch let CleanRoomProtocolError.invalidCollaboration(_, problem) {
            #expect(problem.contains(mentioning), "problem: \(problem)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func extremeBoundsAreRejectedWithoutOverflow() {
        fails(
            Fixtures.yaml().replacingOccurrences(
                of: "min: \"-50.00\", max: \"10000.00\"", with: "min: \"-92233720368547758.07\", max: \"92233720368547758.07\""),
            mentioning: "max − min")
    }

    @Test func partyNamesAreLimitedInBytes() {
        let long = String(repeating: "𝒳", count: 20)  // 20 characters, 80 bytes
        fails(Fixtures.yaml().replacingOccurrences(of: "advertiser", with: long), mentioning: "64 bytes")
    }

    @Test func fingerprintsMustBeASCIIHex() {
        let fullwidth = String(repeating: "ａ", count: 64)
        fails(Fixtures.yaml().replacingOccurrences(of: Fixtures.fingerprintA, with: fullwidth), mentioning: "64 hex digits")
    }

    @Test func slotLayoutMustFitTheKeyWhenTheFileLoads() {
        let wide = (0..<32).map { "        - { name: c\($0), scale: 0, min: 0, max: \"4000000000000000\" }" }.joined(separator: "\n")
        let text = Fixtures.yaml(maxSet: 100_000_000).replacingOccurrences(
            of: "        - { name: purchase_amount, scale: 2, max: \"10000.00\" }", with: wide)
        fails(text, mentioning: "bits of Paillier plaintext")
    }
}

@Suite struct EmailFastPathTests {
    /// The ASCII fast path gives exactly what the general (Foundation) path gives.
    @Test func asciiFastPathAgreesWithTheGeneralPath() {
        var samples = [
            "alice@example.com", "  Bob@Example.COM \t", "\r\nx@y\n", "@x.com", "x@", "a@b@c", "a b@c.com", "", "   ",
            "UPPER.CASE+tag@EXAMPLE.org", "\u{0B}v@t.com\u{0C}", "no-at", "\u{1C}x@y.com",
        ]
        var rng = SplitMix64(seed: 9)
        let alphabet = Array("aZ@. \t\r\n\u{0B}\u{0C}\u{1C}\u{1F}-_+09".unicodeScalars)
        for _ in 0..<2000 {
            let n = Int(rng.next() % 12)
            samples.append(String(String.UnicodeScalarView((0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })))
        }
        for s in samples {
            #expect(Normalization.asciiEmail(s) == Normalization.generalEmail(s), "\(s.debugDescription)")
        }
        #expect(Normalization.asciiEmail("José@x.com") == nil)
    }
}
