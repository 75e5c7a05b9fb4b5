// Writes Vectors/transcripts.json: one golden session transcript per analysis kind, from small
// fixed inputs and fixed seeds. Run from the package root: swift run cleanroom-vectorgen [OUT]
// Regenerate only when the protocol changes on purpose, and say so in the change.
import CleanRoomCrypto
import CleanRoomProtocol
import CleanRoomVectors
import Foundation

let collaboration = """
    collaboration: transcript-vectors-v1
    parties:
      - name: advertiser
        certificate_sha256: "1111111111111111111111111111111111111111111111111111111111111111"
        listen: 127.0.0.1:7443
      - name: publisher
        certificate_sha256: "2222222222222222222222222222222222222222222222222222222222222222"
    analyses:
      - name: overlap
        kind: cardinality
        join:
          advertiser: { column: email, normalize: email }
          publisher: { column: email, normalize: email }
        receivers: [advertiser, publisher]
        min_intersection: 2
        set_size:
          advertiser: { min: 1, max: 1000 }
          publisher: { min: 1, max: 1000 }
      - name: shared-customers
        kind: intersection
        join:
          advertiser: { column: email, normalize: email }
          publisher: { column: email, normalize: email }
        receivers: [advertiser, publisher]
        min_intersection: 2
        set_size:
          advertiser: { min: 1, max: 1000 }
          publisher: { min: 1, max: 1000 }
      - name: spend-by-campaign
        kind: intersection-sum
        join:
          advertiser: { column: email, normalize: email }
          publisher: { column: email, normalize: email }
        values:
          owner: advertiser
          columns:
            - { name: purchase_amount, scale: 2, min: "0", max: "1000.00" }
            - { name: quantity, scale: 0, min: 0, max: 50 }
        group_by: { party: publisher, column: campaign }
        min_group_size: 2
        statistics: [count, sum, mean]
        receivers: [advertiser, publisher]
        min_intersection: 2
        set_size:
          advertiser: { min: 1, max: 1000 }
          publisher: { min: 1, max: 1000 }
      - name: total-spend-publisher-only
        kind: intersection-sum
        join:
          advertiser: { column: email, normalize: email }
          publisher: { column: email, normalize: email }
        values:
          owner: advertiser
          columns:
            - { name: purchase_amount, scale: 2, min: "-100.00", max: "1000.00" }
        receivers: [publisher]
        min_intersection: 2
        set_size:
          advertiser: { min: 1, max: 1000 }
          publisher: { min: 1, max: 1000 }
    """

let advertiserRows = [
    ["alice@example.com", "120.50", "3"], ["Bob@Example.com ", "75.00", "1"], ["carol@example.com", "10.25", "2"],
    ["dave@example.org", "999.99", "50"], ["erin@example.com", "0.00", "0"], ["ALICE@example.com", "4.50", "1"],
]
let publisherRows = [
    ["alice@example.com", "spring"], ["bob@example.com", "spring"], ["carol@example.com", "summer"],
    ["erin@example.com", "summer"], ["frank@example.net", "spring"],
]

func makeCase(_ id: String, analysis: String, adColumns: [String], pubColumns: [String], adRows: [[String]], pubRows: [[String]]) throws
    -> TranscriptCase
{
    var c = TranscriptCase(
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
    let (messages, results) = try TranscriptReplay.replay(c)
    c.messages = messages
    c.results = results
    return c
}

let emailOnly = advertiserRows.map { [$0[0]] }
let cases = [
    try makeCase(
        "cardinality", analysis: "overlap", adColumns: ["email"], pubColumns: ["email"], adRows: emailOnly,
        pubRows: publisherRows.map { [$0[0]] }),
    try makeCase(
        "intersection", analysis: "shared-customers", adColumns: ["email"], pubColumns: ["email"], adRows: emailOnly,
        pubRows: publisherRows.map { [$0[0]] }),
    try makeCase(
        "intersection-sum-grouped", analysis: "spend-by-campaign", adColumns: ["email", "purchase_amount", "quantity"],
        pubColumns: ["email", "campaign"], adRows: advertiserRows, pubRows: publisherRows),
    try makeCase(
        "intersection-sum-masked", analysis: "total-spend-publisher-only", adColumns: ["email", "purchase_amount", "quantity"],
        pubColumns: ["email", "campaign"], adRows: advertiserRows, pubRows: publisherRows),
]

struct File: Encodable {
    let schema = "cleanroom-vectors/v1"
    let kind = "transcript"
    let description = "Full two-party sessions with seeded randomness: inputs, seeds, every frame in hex, and what each party learned"
    let source = "CleanRoom reference implementation; replay with the seeds and inputs to check a second implementation byte for byte"
    let cases: [TranscriptCase]
}

let out = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "Vectors/transcripts.json"
let encoder = JSONEncoder()
encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
try encoder.encode(File(cases: cases)).write(to: URL(fileURLWithPath: out), options: .atomic)
print("wrote \(cases.count) transcripts (\(cases.map { $0.messages.count }.reduce(0, +)) messages) to \(out)")
