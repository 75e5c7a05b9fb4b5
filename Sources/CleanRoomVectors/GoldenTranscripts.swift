// The inputs of the golden session transcripts in Vectors/transcripts.json: one collaboration, small
// fixed tables and a seed per party and case. `cleanroom-vectorgen` writes the file from them, and
// CleanRoomProtocolTests checks that they are still exactly the inputs the file records.
// Change them only when the protocol changes on purpose, and regenerate the file.
import CleanRoomCrypto
import CleanRoomProtocol

/// The golden transcript cases, one per analysis shape.
public enum GoldenTranscripts {
    /// The collaboration file every case records verbatim.
    public static let collaboration: String = {
        let both = ["advertiser", "publisher"], setSize = 1...1000
        return CollaborationTemplate(
            name: "transcript-vectors-v1",
            parties: [
                .init(name: "advertiser", certificateSHA256: String(repeating: "1", count: 64), listen: "127.0.0.1:7443"),
                .init(name: "publisher", certificateSHA256: String(repeating: "2", count: 64)),
            ],
            analyses: [
                .cardinality("overlap", receivers: both, minIntersection: 2, setSize: setSize),
                .intersection("shared-customers", receivers: both, minIntersection: 2, setSize: setSize),
                .intersectionSum(
                    "spend-by-campaign", owner: "advertiser",
                    values: [
                        .init(name: "purchase_amount", scale: 2, min: "0", max: "1000.00"),
                        .init(name: "quantity", scale: 0, min: "0", max: "50"),
                    ],
                    grouping: .init(party: "publisher", column: "campaign", minGroupSize: 2), statistics: [.count, .sum, .mean],
                    receivers: both, minIntersection: 2, setSize: setSize),
                .intersectionSum(
                    "total-spend-publisher-only", owner: "advertiser",
                    values: [.init(name: "purchase_amount", scale: 2, min: "-100.00", max: "1000.00")],
                    receivers: ["publisher"], minIntersection: 2, setSize: setSize),
            ]
        ).yaml
    }()

    /// The enrichment case's collaboration (its own file, so the four cases above keep theirs byte
    /// for byte): the advertiser receives the publisher's campaign and tier.
    public static let enrichmentCollaboration: String = {
        CollaborationTemplate(
            name: "transcript-vectors-enrichment-v1",
            parties: [
                .init(name: "advertiser", certificateSHA256: String(repeating: "1", count: 64), listen: "127.0.0.1:7443"),
                .init(name: "publisher", certificateSHA256: String(repeating: "2", count: 64)),
            ],
            analyses: [
                .enrichment(
                    "campaign-for-matches", receiver: "advertiser",
                    columns: [.init(name: "campaign", maxBytes: 8), .init(name: "tier", maxBytes: 6)], minIntersection: 2,
                    setSize: 1...1000)
            ]
        ).yaml
    }()

    static let advertiserRows = [
        ["alice@example.com", "120.50", "3"], ["Bob@Example.com ", "75.00", "1"], ["carol@example.com", "10.25", "2"],
        ["dave@example.org", "999.99", "50"], ["erin@example.com", "0.00", "0"], ["ALICE@example.com", "4.50", "1"],
    ]
    static let publisherRows = [
        ["alice@example.com", "spring"], ["bob@example.com", "spring"], ["carol@example.com", "summer"],
        ["erin@example.com", "summer"], ["frank@example.net", "spring"],
    ]

    /// A case with its inputs and no messages or results yet.
    static func inputs(
        _ id: String, analysis: String, adColumns: [String], pubColumns: [String], adRows: [[String]], pubRows: [[String]],
        collaboration: String = collaboration
    ) -> TranscriptCase {
        TranscriptCase(
            id: id, source: "CleanRoom reference implementation (Sources/cleanroom-vectorgen), seeded randomness",
            collaboration: collaboration, analysis: analysis, batch_size: 2,
            parties: [
                TranscriptParty(
                    name: "advertiser", seed: "61647665727469736572" + Hex.encode(id.utf8),
                    columns: adColumns, rows: adRows),
                TranscriptParty(
                    name: "publisher", seed: "7075626c6973686572" + Hex.encode(id.utf8),
                    columns: pubColumns, rows: pubRows),
            ],
            messages: [], results: [:])
    }

    /// Every case with its inputs only (messages and results empty).
    public static func inputs() -> [TranscriptCase] {
        let emailOnly = advertiserRows.map { [$0[0]] }
        return [
            inputs(
                "cardinality", analysis: "overlap", adColumns: ["email"], pubColumns: ["email"], adRows: emailOnly,
                pubRows: publisherRows.map { [$0[0]] }),
            inputs(
                "intersection", analysis: "shared-customers", adColumns: ["email"], pubColumns: ["email"], adRows: emailOnly,
                pubRows: publisherRows.map { [$0[0]] }),
            inputs(
                "intersection-sum-grouped", analysis: "spend-by-campaign", adColumns: ["email", "purchase_amount", "quantity"],
                pubColumns: ["email", "campaign"], adRows: advertiserRows, pubRows: publisherRows),
            inputs(
                "intersection-sum-masked", analysis: "total-spend-publisher-only", adColumns: ["email", "purchase_amount", "quantity"],
                pubColumns: ["email", "campaign"], adRows: advertiserRows, pubRows: publisherRows),
            inputs(
                "enrichment", analysis: "campaign-for-matches", adColumns: ["email"], pubColumns: ["email", "campaign", "tier"],
                adRows: emailOnly,
                pubRows: [
                    ["alice@example.com", "spring", "gold"], ["bob@example.com", "", "silver"], ["carol@example.com", "summer", "✓"],
                    ["erin@example.com", "summer", ""], ["frank@example.net", "spring", "gold"], ["alice@example.com", "later", "lost"],
                ],
                collaboration: enrichmentCollaboration),
        ]
    }

    /// Every case, run: the frames and results the implementation produces now.
    public static func cases() throws -> [TranscriptCase] {
        try inputs().map { input in
            var c = input
            let (messages, results) = try TranscriptReplay.replay(input)
            c.messages = messages
            c.results = results
            return c
        }
    }
}
