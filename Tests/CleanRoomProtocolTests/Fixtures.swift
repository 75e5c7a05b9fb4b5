import CleanRoomCrypto
import CleanRoomProtocol

enum Fixtures {
    static let fingerprintA = String(repeating: "ab", count: 32)
    static let fingerprintB = String(repeating: "cd", count: 32)

    /// A collaboration between an advertiser (values) and a publisher (campaigns).
    static func template(
        receiversCardinality: [String] = ["advertiser", "publisher"], receiversIntersection: [String] = ["advertiser", "publisher"],
        receiversSum: [String] = ["advertiser", "publisher"], minIntersection: Int = 1, minGroup: Int = 1, minSet: Int = 1,
        maxSet: Int = 10_000,
        statistics: [Statistic] = [.count, .sum, .mean]
    ) -> CollaborationTemplate {
        let setSize = minSet...maxSet
        return CollaborationTemplate(
            name: "acme-news-2026",
            parties: [
                .init(name: "advertiser", certificateSHA256: fingerprintA, listen: "127.0.0.1:7443"),
                .init(name: "publisher", certificateSHA256: fingerprintB),
            ],
            analyses: [
                .cardinality("overlap", receivers: receiversCardinality, minIntersection: minIntersection, setSize: setSize),
                .intersection("shared-customers", receivers: receiversIntersection, minIntersection: minIntersection, setSize: setSize),
                .intersectionSum(
                    "spend-by-campaign", owner: "advertiser",
                    values: [
                        .init(name: "purchase_amount", scale: 2, min: "-50.00", max: "10000.00"),
                        .init(name: "quantity", scale: 0, min: "0", max: "100"),
                    ],
                    grouping: .init(party: "publisher", column: "campaign", minGroupSize: minGroup), statistics: statistics,
                    receivers: receiversSum, minIntersection: minIntersection, setSize: setSize),
                .intersectionSum(
                    "total-spend", owner: "advertiser", values: [.init(name: "purchase_amount", scale: 2, max: "10000.00")],
                    receivers: receiversSum, minIntersection: minIntersection, setSize: setSize),
            ])
    }

    /// The text of `template(...)`.
    static func yaml(
        receiversCardinality: [String] = ["advertiser", "publisher"], receiversIntersection: [String] = ["advertiser", "publisher"],
        receiversSum: [String] = ["advertiser", "publisher"], minIntersection: Int = 1, minGroup: Int = 1, minSet: Int = 1,
        maxSet: Int = 10_000,
        statistics: [Statistic] = [.count, .sum, .mean]
    ) -> String {
        template(
            receiversCardinality: receiversCardinality, receiversIntersection: receiversIntersection, receiversSum: receiversSum,
            minIntersection: minIntersection, minGroup: minGroup, minSet: minSet, maxSet: maxSet, statistics: statistics
        ).yaml
    }

    static func collaboration(_ text: String = yaml()) throws -> Collaboration { try Collaboration(yaml: text) }
}

/// A synthetic dataset pair: an advertiser (email, purchase_amount, quantity) and a publisher
/// (email, campaign), with case and whitespace variants of the shared identifiers. What a session
/// should reveal on it is `answer(_:_:)`, from the one plaintext oracle (`ReferenceAnswer`).
struct Dataset {
    var advertiser: PartyTable
    var publisher: PartyTable

    /// Both tables, by party name.
    var tables: [String: PartyTable] { ["advertiser": advertiser, "publisher": publisher] }

    /// The plaintext answer to `analysis` on these tables.
    func answer(_ c: Collaboration, _ analysis: String) throws -> ReferenceAnswer {
        try ReferenceAnswer.compute(c, analysis: analysis, tables: tables)
    }

    /// `shared` customers both parties hold (the advertiser repeats the first `duplicates` of them),
    /// and customers only one of them holds.
    static func make(
        advertiserOnly: Int, publisherOnly: Int, shared: Int, campaigns: [String] = ["spring", "summer", "autumn"],
        duplicates: Int = 0, seed: UInt64 = 1
    ) -> Dataset {
        var rng = SplitMix64(seed: seed)
        var adRows: [[String]] = [], pubRows: [[String]] = []
        func addAd(display: String) {
            let cents = Int(rng.next() % 1_000_000) - 5000
            let qty = Int(rng.next() % 101)
            adRows.append([display, DecimalString.cents(cents), String(qty)])
        }
        for i in 0..<shared {
            let email = "shared\(i)@example.com"
            let campaign = campaigns[Int(rng.next() % UInt64(campaigns.count))]
            // case and whitespace variants on either side
            addAd(display: i % 3 == 0 ? "  Shared\(i)@Example.COM " : email)
            pubRows.append([i % 2 == 0 ? "SHARED\(i)@example.com" : email, campaign])
        }
        for i in 0..<advertiserOnly { addAd(display: "ad\(i)@example.org") }
        for i in 0..<publisherOnly {
            let campaign = campaigns[Int(rng.next() % UInt64(campaigns.count))]
            pubRows.append(["pub\(i)@example.net", campaign])
        }
        for i in 0..<duplicates {  // the advertiser repeats some shared customers: values are summed
            addAd(display: "shared\(i)@example.com".uppercased())
        }
        return Dataset(
            advertiser: PartyTable(columns: ["email", "purchase_amount", "quantity"], rows: adRows),
            publisher: PartyTable(columns: ["email", "campaign"], rows: pubRows))
    }
}

enum DecimalString {
    static func cents(_ c: Int) -> String {
        let sign = c < 0 ? "-" : ""
        let a = abs(c)
        return "\(sign)\(a / 100).\(a % 100 < 10 ? "0" : "")\(a % 100)"
    }
}

func runSession(_ c: Collaboration, _ analysis: String, _ d: Dataset, batchSize: Int = 16_384) throws -> (
    ad: SessionResult, pub: SessionResult
) {
    let ad = try PartySession(collaboration: c, analysis: analysis, party: "advertiser", input: d.advertiser, batchSize: batchSize)
    let pub = try PartySession(collaboration: c, analysis: analysis, party: "publisher", input: d.publisher, batchSize: batchSize)
    let (ra, rp, _) = try InMemorySession.run(ad, pub)
    return (ra, rp)
}
