import CleanRoomCrypto
import Testing
import _CleanRoomTestSupport

@testable import CleanRoomProtocol

/// Text from the peer is capped and made safe to display; results keep exact labels, so both
/// parties' result files agree.
@Suite struct PeerTextTests {
    @Test func displayNeutralisesControlFormatAndSeparatorCharacters() {
        let hostile = "ok\u{202E}gnp.exe\u{2028}next\u{2029}para\u{1B}[2J\u{0}\u{200D}é漢😀"
        let shown = PeerText.display(hostile)
        for bad: Unicode.Scalar in ["\u{202E}", "\u{2028}", "\u{2029}", "\u{1B}", "\u{0}", "\u{200D}"] {
            #expect(!shown.unicodeScalars.contains(bad), "U+\(String(bad.value, radix: 16)) reached the display")
        }
        #expect(shown.hasPrefix("ok\u{FFFD}gnp.exe\u{FFFD}next"))
        #expect(shown.hasSuffix("é漢😀"))
    }

    @Test func abortReasonIsCappedOnReceipt() throws {
        // A hostile sender does not cap its reason: 45 KB in one ABORT.
        var w = ByteWriter()
        w.u16(1)
        w.str16(String(repeating: "é", count: 22_000))
        let decoded = try AbortMessage.decode(Frame(type: .abort, payload: w.bytes))
        #expect(decoded.reason.utf8.count <= PeerText.maxReasonBytes)
        #expect(decoded.reason.hasSuffix("…"))
        // A short reason arrives whole.
        let short = try AbortMessage.decode(AbortMessage(code: 3, reason: "set size of x is 9").frame())
        #expect(short.reason == "set size of x is 9" && short.code == AbortMessage.policyCode)
    }

    @Test func bothPartiesReportTheExactGroupLabel() throws {
        let c = try Fixtures.collaboration()
        let labels = ["summer\nsale", "tab\there", "rtl\u{202E}mark", "plain"]
        var adRows: [[String]] = [], pubRows: [[String]] = []
        for i in 0..<40 {
            adRows.append(["user\(i)@example.com", "\(i).50", "\(i % 7)"])
            pubRows.append(["user\(i)@example.com", labels[i % labels.count]])
        }
        let ad = PartyTable(columns: ["email", "purchase_amount", "quantity"], rows: adRows)
        let pub = PartyTable(columns: ["email", "campaign"], rows: pubRows)
        let a = try PartySession(collaboration: c, analysis: "spend-by-campaign", party: "advertiser", input: ad)
        let p = try PartySession(collaboration: c, analysis: "spend-by-campaign", party: "publisher", input: pub)
        let (ra, rp, _) = try InMemorySession.run(a, p)
        let fromAdvertiser = Set((ra.groups ?? []).compactMap(\.label))
        let fromPublisher = Set((rp.groups ?? []).compactMap(\.label))
        #expect(fromAdvertiser == Set(labels))
        #expect(fromAdvertiser == fromPublisher)
        #expect(ra.groups?.sorted { ($0.label ?? "") < ($1.label ?? "") } == rp.groups?.sorted { ($0.label ?? "") < ($1.label ?? "") })
    }
}

/// A collaboration file may come from the counterparty: size, aliases and nesting are bounded
/// before the YAML parser runs.
@Suite struct CollaborationFileBoundsTests {
    static func refused(_ text: String, mentioning: String) {
        do {
            _ = try Collaboration(yaml: text)
            Issue.record("accepted")
        } catch let CleanRoomProtocolError.invalidCollaboration(_, problem) {
            #expect(problem.contains(mentioning), "\(problem)")
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func billionLaughsIsRefusedBeforeParsing() {
        var text = "a: &a [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n"
        for k in 1...9 {
            text +=
                "\(Character(UnicodeScalar(97 + k)!)): &\(Character(UnicodeScalar(97 + k)!)) ["
                + Array(repeating: "*\(Character(UnicodeScalar(96 + k)!))", count: 9).joined(separator: ", ") + "]\n"
        }
        Self.refused(text, mentioning: "anchors and aliases")
        Self.refused(
            Fixtures.yaml().replacingOccurrences(of: "receivers: [advertiser, publisher]", with: "receivers: &r [advertiser, publisher]"),
            mentioning: "anchors")
    }

    @Test func deepNestingIsRefusedBeforeParsing() {
        Self.refused(String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000), mentioning: "nested deeper")
        Self.refused(String(repeating: "- ", count: 100_000) + "x\n", mentioning: "nested deeper")
        Self.refused((0..<100).map { String(repeating: " ", count: 2 * $0) + "k\($0):" }.joined(separator: "\n"), mentioning: "indented")
    }

    @Test func oversizedFileIsRefused() {
        Self.refused(Fixtures.yaml() + "\n#" + String(repeating: "x", count: 1 << 20), mentioning: "at most")
    }

    @Test func aliasesInBlockSequencesAreRefused() {
        Self.refused("a: &a [x, y]\nb:\n  - *a\n  - *a\n", mentioning: "anchors and aliases")
        Self.refused("- &a [x, y]\n- [*a, *a]\n", mentioning: "anchors and aliases")
        Self.refused("k: {x: *a}\n", mentioning: "anchors and aliases")
        // A quote inside a plain value does not open a string that hides an alias after it.
        Self.refused("collaboration: rock 'n roll\nx: *a # it's\n", mentioning: "anchors and aliases")
    }

    @Test func plainTextWithAmpersandsStarsAndQuotesIsAccepted() throws {
        let text = Fixtures.yaml()
            .replacingOccurrences(of: "collaboration: acme-news-2026", with: "collaboration: Sales & Marketing 'n *more*")
            .replacingOccurrences(of: "column: campaign", with: "column: \"Revenue * 1.2\"")
        let c = try Collaboration(yaml: text)
        #expect(c.name == "Sales & Marketing 'n *more*")
        #expect(try c.analysis(named: "spend-by-campaign").sumSpec?.grouping?.column == "Revenue * 1.2")
    }

    @Test func quotedAmpersandsAndStarsAreText() throws {
        // '&' and '*' inside quotes, comments and words are not anchors.
        let text = Fixtures.yaml().replacingOccurrences(
            of: "collaboration: acme-news-2026", with: "collaboration: \"acme & *news* 'it''s'\"  # R&D *draft*")
        let c = try Collaboration(yaml: text)
        #expect(c.name == "acme & *news* 'it''s'")
    }
}
