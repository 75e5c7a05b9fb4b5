// Synthetic datasets for in-memory sessions, and a helper that runs both parties of one.
// Test-only: nothing shipped depends on _CleanRoomTestSupport.
@_spi(Deterministic) import CleanRoomCrypto
import CleanRoomProtocol

/// A synthetic dataset pair: an advertiser (email, purchase_amount, quantity) and a publisher
/// (email, campaign), with case and whitespace variants of the shared identifiers. What a session
/// should reveal on it is `answer(_:_:)`, from the one plaintext oracle (`ReferenceAnswer`).
public struct Dataset: Sendable {
    public var advertiser: PartyTable
    public var publisher: PartyTable

    public init(advertiser: PartyTable, publisher: PartyTable) {
        self.advertiser = advertiser
        self.publisher = publisher
    }

    /// Both tables, by party name.
    public var tables: [String: PartyTable] { ["advertiser": advertiser, "publisher": publisher] }

    /// The plaintext answer to `analysis` on these tables.
    public func answer(_ c: Collaboration, _ analysis: String) throws -> ReferenceAnswer {
        try ReferenceAnswer.compute(c, analysis: analysis, tables: tables)
    }

    /// `shared` customers both parties hold (the advertiser repeats the first `duplicates` of them),
    /// and customers only one of them holds.
    public static func make(
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

/// Cents as a decimal string with two digits after the point, written independently of the
/// protocol's DecimalFormat.
public enum DecimalString {
    public static func cents(_ c: Int) -> String {
        let sign = c < 0 ? "-" : ""
        let a = abs(c)
        return "\(sign)\(a / 100).\(a % 100 < 10 ? "0" : "")\(a % 100)"
    }
}

/// Runs `analysis` between the dataset's advertiser and publisher in memory; both results.
public func runSession(_ c: Collaboration, _ analysis: String, _ d: Dataset, batchSize: Int = 16_384) throws -> (
    ad: SessionResult, pub: SessionResult
) {
    let ad = try PartySession(collaboration: c, analysis: analysis, party: "advertiser", input: d.advertiser, batchSize: batchSize)
    let pub = try PartySession(collaboration: c, analysis: analysis, party: "publisher", input: d.publisher, batchSize: batchSize)
    let (ra, rp, _) = try InMemorySession.run(ad, pub)
    return (ra, rp)
}

/// Runs `analysis` in memory with each party's randomness seeded from `seed` (reproducible noise,
/// keys and masks); both results.
public func runSession(_ c: Collaboration, _ analysis: String, _ d: Dataset, seed: String) throws -> (
    ad: SessionResult, pub: SessionResult
) {
    let ad = try PartySession(
        collaboration: c, analysis: analysis, party: "advertiser", input: d.advertiser, random: try SeededRandom(seed: "\(seed)-ad"))
    let pub = try PartySession(
        collaboration: c, analysis: analysis, party: "publisher", input: d.publisher, random: try SeededRandom(seed: "\(seed)-pub"))
    let (ra, rp, _) = try InMemorySession.run(ad, pub)
    return (ra, rp)
}
