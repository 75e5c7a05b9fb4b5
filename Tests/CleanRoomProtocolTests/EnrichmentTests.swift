import CleanRoomCrypto
import Foundation
import Testing
import _CleanRoomTestSupport

@testable import CleanRoomProtocol

/// `kind: enrichment`: the receiver learns the sender's allowed cells for its own matched rows, and
/// the sender learns only the receiver's set size; checked against the plaintext answer, with every
/// hostile message refused (or, where an abort would leak, reported as an anomaly).
@Suite struct EnrichmentTests {
    static func yaml(minIntersection: Int = 1, maxSet: Int = 1_000, widths: (Int, Int) = (14, 8)) -> String {
        CollaborationTemplate(
            name: "acme-news-2026",
            parties: [
                .init(name: "advertiser", certificateSHA256: Fixtures.fingerprintA, listen: "127.0.0.1:7443"),
                .init(name: "publisher", certificateSHA256: Fixtures.fingerprintB),
            ],
            analyses: [
                .enrichment(
                    "segment-for-matches", receiver: "advertiser",
                    columns: [.init(name: "segment", maxBytes: widths.0), .init(name: "tier", maxBytes: widths.1)],
                    minIntersection: minIntersection, setSize: 1...maxSet)
            ]
        ).yaml
    }

    /// The receiver's rows: shared identifiers (some repeated, in another case or with spaces), its
    /// own, and one only the sender's duplicate row carries.
    static let advertiser = PartyTable(
        columns: ["email", "name"],
        rows: [
            ["alice@example.com", "Alice"],
            ["bob@example.com", "Bob"],
            ["  ALICE@example.com ", "Alice again"],
            ["zoë@exämple.de", "Zoë"],
            ["carol@example.com", "Carol"],
            ["dave@example.com", "Dave"],
            ["erin@example.com", "Erin"],
            ["nobody@example.com", "No one"],
        ])
    /// The sender's rows: duplicates (the first wins), UTF-8 cells, empty cells, cells at the maximum
    /// length, and rows the receiver does not have.
    static let publisher = PartyTable(
        columns: ["email", "segment", "tier", "internal_score"],
        rows: [
            ["alice@example.com", "autos", "gold", "91"],
            ["bob@example.com", "", "silver", "12"],
            ["alice@example.com", "travel", "bronze", "50"],
            ["zoë@exämple.de", "möbel·küche", "✓", "77"],
            ["carol@example.com", "12345678901234", "12345678", "3"],
            ["dave@example.com", "", "", "0"],
            ["frank@example.com", "secret-seg", "platinum", "99"],
            ["grace@example.com", "other", "gold", "98"],
        ])

    static func run(_ yaml: String = yaml(), batchSize: Int = 3) throws -> (receiver: SessionResult, sender: SessionResult) {
        let c = try Collaboration(yaml: yaml)
        let ad = try PartySession(
            collaboration: c, analysis: "segment-for-matches", party: "advertiser", input: advertiser, batchSize: batchSize)
        let pub = try PartySession(
            collaboration: c, analysis: "segment-for-matches", party: "publisher", input: publisher, batchSize: batchSize)
        let (ra, rp, _) = try InMemorySession.run(ad, pub)
        return (ra, rp)
    }

    @Test(arguments: [1, 3, 64])
    func receiverLearnsExactlyThePlaintextAnswer(batchSize: Int) throws {
        let (receiver, sender) = try Self.run(batchSize: batchSize)
        let c = try Collaboration(yaml: Self.yaml())
        let expected = try ReferenceAnswer.compute(
            c, analysis: "segment-for-matches", tables: ["advertiser": Self.advertiser, "publisher": Self.publisher])
        #expect(ReferenceAnswer.from(receiver) == expected)
        // Spelled out: alice twice (first sender row wins), bob with an empty segment, UTF-8,
        // cells at the maximum length, empty cells; erin and nobody unmatched.
        let rows = try #require(receiver.enrichment?.rows)
        #expect(receiver.enrichment?.columns == ["segment", "tier"])
        #expect(
            rows == [
                EnrichedRow(row: 1, values: ["autos", "gold"]), EnrichedRow(row: 2, values: ["", "silver"]),
                EnrichedRow(row: 3, values: ["autos", "gold"]), EnrichedRow(row: 4, values: ["möbel·küche", "✓"]),
                EnrichedRow(row: 5, values: ["12345678901234", "12345678"]), EnrichedRow(row: 6, values: ["", ""]),
            ])
        #expect(receiver.intersectionSize == .revealed(5))
        #expect(receiver.uniqueIdentifiers == 7 && receiver.peerUniqueIdentifiers == 7)
        #expect(receiver.anomalies == nil)
        // The sender learns the receiver's set size and nothing else.
        #expect(sender.peerUniqueIdentifiers == 7)
        #expect(sender.intersectionSize == nil && sender.enrichment == nil && sender.matchedRows == nil)
    }

    @Test func belowMinIntersectionNothingIsWritten() throws {
        let (receiver, _) = try Self.run(Self.yaml(minIntersection: 6))
        #expect(receiver.intersectionSize == .suppressed(below: 6))
        #expect(receiver.enrichment?.rows == [])
    }

    /// What the sender receives does not depend on the receiver's data beyond its size: the same
    /// frame types and sizes for two receivers with the same number of identifiers, one sharing
    /// everything and one sharing nothing.
    @Test func senderViewDependsOnlyOnTheSetSize() throws {
        func senderView(_ table: PartyTable) throws -> [(MessageType, Int)] {
            let c = try Collaboration(yaml: Self.yaml())
            let ad = try PartySession(collaboration: c, analysis: "segment-for-matches", party: "advertiser", input: table, batchSize: 3)
            let pub = try PartySession(
                collaboration: c, analysis: "segment-for-matches", party: "publisher", input: Self.publisher, batchSize: 3)
            let (_, _, transcript) = try InMemorySession.run(ad, pub)
            return transcript.filter { $0.from == "advertiser" }.map { (MessageType(rawValue: $0.bytes[1])!, $0.bytes.count) }
        }
        let shared = PartyTable(columns: ["email"], rows: [0, 1, 3, 4, 5, 6].map { [Self.publisher.rows[$0][0]] })
        let disjoint = PartyTable(columns: ["email"], rows: (0..<6).map { ["stranger\($0)@example.org"] })
        let a = try senderView(shared), b = try senderView(disjoint)
        #expect(a.map(\.0) == b.map(\.0))
        #expect(a.map(\.1) == b.map(\.1))  // same sizes (HELLO differs only in its nonce)
        #expect(a.last?.0 == .done && a.last?.1 == Frame.headerBytes)
    }

    @Test func policyIsChecked() throws {
        let good = Self.yaml()
        #expect(throws: Never.self) { try Collaboration(yaml: good) }
        let bothReceive = good.replacingOccurrences(of: "receivers: [advertiser]", with: "receivers: [advertiser, publisher]")
        #expect(throws: CleanRoomProtocolError.self) { try Collaboration(yaml: bothReceive) }
        let noColumns = good.components(separatedBy: "\n").filter { !$0.contains("columns:") && !$0.contains("max_bytes") }.joined(
            separator: "\n")
        #expect(throws: CleanRoomProtocolError.self) { try Collaboration(yaml: noColumns) }
        #expect(throws: CleanRoomProtocolError.self) {
            try Collaboration(yaml: good.replacingOccurrences(of: "max_bytes: 14", with: "max_bytes: 0"))
        }
        #expect(throws: CleanRoomProtocolError.self) {
            try Collaboration(yaml: good.replacingOccurrences(of: "name: tier", with: "name: email"))
        }
        #expect(throws: CleanRoomProtocolError.self) {
            try Collaboration(yaml: good.replacingOccurrences(of: "kind: enrichment", with: "kind: intersection"))
        }
        // Columns wider than one record holds are refused at load, not when a session seals records.
        let wide = CollaborationTemplate(
            name: "wide",
            parties: [
                .init(name: "advertiser", certificateSHA256: Fixtures.fingerprintA, listen: "127.0.0.1:7443"),
                .init(name: "publisher", certificateSHA256: Fixtures.fingerprintB),
            ],
            analyses: [
                .enrichment(
                    "segment-for-matches", receiver: "advertiser",
                    columns: (0..<16).map { .init(name: "c\($0)", maxBytes: EnrichmentSpec.maxColumnBytes) }, minIntersection: 1,
                    setSize: 1...10)
            ]
        ).yaml
        #expect(throws: CleanRoomProtocolError.self) { try Collaboration(yaml: wide) }
        // The digest covers the columns and their widths.
        let wider = Self.yaml(widths: (15, 8))
        #expect(try Collaboration(yaml: good).digest() != Collaboration(yaml: wider).digest())
        let a = try Collaboration(yaml: good).analysis(named: "segment-for-matches")
        #expect(a.role(of: "advertiser", in: try Collaboration(yaml: good)) == .p1)
        #expect(a.requiredColumns(of: "publisher").names == ["email", "segment", "tier"])
        #expect(a.requiredColumns(of: "advertiser").names == ["email"])
    }

    @Test func aCellLongerThanItsWidthIsABadRow() throws {
        // "möbel·küche" is 11 characters but 14 bytes of UTF-8: widths count bytes.
        let c = try Collaboration(yaml: Self.yaml(widths: (13, 8)))
        #expect(
            throws: CleanRoomProtocolError.invalidRow(row: 4, column: "segment", problem: "14 bytes, the collaboration allows at most 13")
        ) {
            try PartySession(collaboration: c, analysis: "segment-for-matches", party: "publisher", input: Self.publisher)
        }
    }

    @Test func anIdentifierLongerThanTheOPRFTakesIsABadRow() throws {
        // RFC 9497 takes inputs of at most 65,534 bytes: a longer identifier is refused (or skipped)
        // while the input is prepared, not in the middle of the session with its length in an ABORT.
        let long = String(repeating: "a", count: 65_535 - "@example.com".utf8.count) + "@example.com"
        var rows = Self.advertiser.rows
        rows.insert([long, "Long"], at: 2)
        let table = PartyTable(columns: Self.advertiser.columns, rows: rows)
        let c = try Collaboration(yaml: Self.yaml())
        #expect(
            throws: CleanRoomProtocolError.invalidRow(
                row: 3, column: "email", problem: "the normalised identifier has 65535 bytes, an enrichment takes at most 65534")
        ) {
            try PartySession(collaboration: c, analysis: "segment-for-matches", party: "advertiser", input: table)
        }
        // At the limit it runs; with bad_rows: skip the longer one is skipped and the rest match.
        rows[2] = [String(long.dropFirst()), "Long"]
        let atLimit = try PartySession(
            collaboration: c, analysis: "segment-for-matches", party: "advertiser", input: PartyTable(columns: table.columns, rows: rows))
        let pub = try PartySession(collaboration: c, analysis: "segment-for-matches", party: "publisher", input: Self.publisher)
        let (r, _, _) = try InMemorySession.run(atLimit, pub)
        #expect(r.intersectionSize == .revealed(5))
        let skipping = try Collaboration(
            yaml: Self.yaml().replacingOccurrences(of: "kind: enrichment", with: "kind: enrichment\n    bad_rows: skip"))
        let skipped = try PartySession(collaboration: skipping, analysis: "segment-for-matches", party: "advertiser", input: table)
        #expect(skipped.prepared.skippedRows == 1)
    }

    @Test func theReceiverMatchesOnlyAfterTheExchangeIsOver() throws {
        // The sender sees when the receiver closes the connection. Matching and opening (whose cost
        // grows with the overlap) therefore wait until the exchange is over: when both sides have
        // finished on the wire the receiver has no result yet, and computes it in `conclude()`,
        // which the runner calls after closing.
        let c = try Collaboration(yaml: Self.yaml())
        let ad = try PartySession(collaboration: c, analysis: "segment-for-matches", party: "advertiser", input: Self.advertiser)
        let pub = try PartySession(collaboration: c, analysis: "segment-for-matches", party: "publisher", input: Self.publisher)
        var toPublisher = try ad.start(), toAdvertiser = try pub.start()
        while !(ad.isFinished && pub.isFinished) {
            guard !toPublisher.isEmpty || !toAdvertiser.isEmpty else {
                Issue.record("the exchange stalled")
                return
            }
            for f in toPublisher { toAdvertiser += try pub.handle(f) }
            toPublisher = []
            for f in toAdvertiser { toPublisher += try ad.handle(f) }
            toAdvertiser = []
        }
        #expect(toPublisher.isEmpty && toAdvertiser.isEmpty)
        #expect(pub.result != nil)
        #expect(ad.result == nil, "the receiver matched before the connection could close")
        let result = try ad.conclude()
        #expect(result.intersectionSize == .revealed(5) && ad.result == result)
        #expect(try ad.conclude() == result)
    }

    @Test func anAbortForAnErrorOfOurOwnCarriesNoneOfOurData() throws {
        let c = try Collaboration(yaml: Self.yaml())
        let ad = try PartySession(collaboration: c, analysis: "segment-for-matches", party: "advertiser", input: Self.advertiser)
        let own = ad.abortFrame(for: CleanRoomProtocolError.invalidRow(row: 7, column: "email", problem: "secret@example.com is odd"))
        let a = try AbortMessage.decode(own)
        #expect(a.code == AbortMessage.localCode && !a.reason.contains("secret") && !a.reason.contains("7"))
        let theirs = try AbortMessage.decode(
            ad.abortFrame(for: CleanRoomProtocolError.malformedMessage(type: "ENRICHMENT_RECORDS", problem: "wrong width")))
        #expect(theirs.code == 1 && theirs.reason.contains("wrong width"))
    }

    // MARK: Hostile peers

    /// Runs the session letting `tamper` rewrite frames; returns the failure, or nil when it completed.
    static func tampered(
        _ tamper: @escaping (_ from: String, _ type: MessageType, _ bytes: [UInt8]) -> [UInt8]?
    ) throws -> (SessionFailure?, SessionResult?) {
        let c = try Collaboration(yaml: yaml())
        let ad = try PartySession(collaboration: c, analysis: "segment-for-matches", party: "advertiser", input: advertiser, batchSize: 3)
        let pub = try PartySession(collaboration: c, analysis: "segment-for-matches", party: "publisher", input: publisher, batchSize: 3)
        do {
            let (ra, _, _) = try InMemorySession.run(ad, pub) { from, _, bytes in
                tamper(from, MessageType(rawValue: bytes[1]) ?? .abort, bytes)
            }
            return (nil, ra)
        } catch let f as SessionFailure {
            return (f, nil)
        }
    }

    /// Match tag, length prefix, the two columns with their lengths (14 + 8), GCM tag.
    static let recordWidth = 16 + 2 + (2 + 14) + (2 + 8) + 16

    static func withPayload(_ bytes: [UInt8], _ edit: (inout [UInt8]) -> Void) -> [UInt8] {
        var payload = Array(bytes[6...])
        edit(&payload)
        return Frame(type: MessageType(rawValue: bytes[1])!, payload: payload).encoded()
    }

    @Test func recordsOfTheWrongWidthAreRefused() throws {
        let (f, _) = try Self.tampered { _, type, bytes in
            type == .enrichmentRecords ? Self.withPayload(bytes) { $0.removeLast() } : bytes
        }
        guard case .malformedMessage(type: "ENRICHMENT_RECORDS", _) = f?.error as? CleanRoomProtocolError else {
            Issue.record("got \(String(describing: f?.error))"); return
        }
        #expect(f?.party == "advertiser")
    }

    @Test func moreRecordsThanAnnouncedAreRefused() throws {
        var first: [UInt8]?
        let (f, _) = try Self.tampered { _, type, bytes in
            guard type == .enrichmentRecords else { return bytes }
            if first == nil { first = bytes }
            return bytes
        }
        #expect(f == nil)
        // Replay the first records frame once more in a second session: one batch too many.
        var sent = 0
        let (g, _) = try Self.tampered { _, type, bytes in
            guard type == .enrichmentRecords else { return bytes }
            sent += 1
            // The third batch is replaced by the first one again, plus its own records: 3 + 3 + 3 + 2 > 7.
            return sent == 3 ? Self.withPayload(bytes) { p in p = Array(first![6...]) } : bytes
        }
        let error = g?.error as? CleanRoomProtocolError
        #expect(
            error == .tooManyElements(message: "ENRICHMENT_RECORDS", announced: 7)
                || error == .malformedMessage(type: "ENRICHMENT_RECORDS", problem: "match tags are not strictly ascending"),
            "got \(String(describing: error))")
    }

    /// A tampered record whose tag matches is neither an abort nor an anomaly (an anomaly freezes
    /// the collaboration, which the sender would see: a membership test for any identifier whose
    /// record it spoiled). The session completes, the row is left out as if missing, and only this
    /// party's result notes it.
    @Test func aTamperedRecordIsTreatedAsMissing() throws {
        var tamperedOne = false
        let (f, result) = try Self.tampered { _, type, bytes in
            guard type == .enrichmentRecords, !tamperedOne else { return bytes }
            tamperedOne = true
            // Every record of the first batch gets one bit flipped in its GCM tag.
            return Self.withPayload(bytes) { p in
                let width = Self.recordWidth
                let count = Int(p[0]) << 24 | Int(p[1]) << 16 | Int(p[2]) << 8 | Int(p[3])
                for k in 0..<count { p[4 + (k + 1) * width - 1] ^= 0x01 }
            }
        }
        #expect(f == nil, "\(String(describing: f?.error))")
        let r = try #require(result)
        #expect(r.anomalies == nil, "an anomaly freezes the collaboration: the sender could observe it")
        let warnings = try #require(r.warnings)
        #expect(!warnings.isEmpty && warnings.allSatisfy { $0.contains("did not authenticate") })
        // Exactly the tampered matches are missing; every other matched row is as in the plaintext answer.
        let expected = try ReferenceAnswer.compute(
            try Collaboration(yaml: Self.yaml()), analysis: "segment-for-matches",
            tables: ["advertiser": Self.advertiser, "publisher": Self.publisher])
        let got = try #require(ReferenceAnswer.from(r).enrichedRows)
        #expect(got.count < (expected.enrichedRows?.count ?? 0))
        for (row, values) in got { #expect(expected.enrichedRows?[row] == values) }
    }

    @Test func unsortedRecordsAreRefused() throws {
        let (f, _) = try Self.tampered { _, type, bytes in
            guard type == .enrichmentRecords else { return bytes }
            return Self.withPayload(bytes) { p in
                let width = Self.recordWidth
                let first = Array(p[4..<(4 + width)])
                p.replaceSubrange(4..<(4 + width), with: p[(4 + width)..<(4 + 2 * width)])
                p.replaceSubrange((4 + width)..<(4 + 2 * width), with: first)
            }
        }
        #expect(
            f?.error as? CleanRoomProtocolError
                == .malformedMessage(type: "ENRICHMENT_RECORDS", problem: "match tags are not strictly ascending"))
    }

    @Test(arguments: [MessageType.oprfBlinded, .oprfEvaluated])
    func invalidGroupElementsAreRefused(type: MessageType) throws {
        let (f, _) = try Self.tampered { _, t, bytes in
            t == type ? Self.withPayload(bytes) { p in for i in 4..<36 { p[i] = 0 } } : bytes  // the identity
        }
        guard case .invalidPeerCryptography(let problem) = f?.error as? CleanRoomProtocolError else {
            Issue.record("got \(String(describing: f?.error))"); return
        }
        #expect(problem.contains("ristretto255"))
        #expect(f?.party == (type == .oprfBlinded ? "publisher" : "advertiser"))
    }

    @Test func anEarlyDoneIsRefused() throws {
        let (f, _) = try Self.tampered { from, type, bytes in
            from == "advertiser" && type == .oprfBlinded ? Frame(type: .done, payload: []).encoded() : bytes
        }
        guard case .unexpectedMessage(type: "DONE", _) = f?.error as? CleanRoomProtocolError else {
            Issue.record("got \(String(describing: f?.error))"); return
        }
    }
}
