// Synthetic sample data for demos and tests: an advertiser file (email, purchase_amount,
// quantity) and a publisher file (email, campaign) sharing a chosen fraction of customers, with
// the case and whitespace variants real exports have. Deterministic under a seed (SplitMix64, a
// statistical generator: fine for fake data, never used for anything secret).
import CleanRoomProtocol
import Foundation

public struct SampleData {
    public static let campaigns = ["spring-sale", "summer-launch", "autumn-promo", "winter-clearance", "brand-awareness"]

    /// Writes `advertiser.csv` and `publisher.csv` into `directory`.
    /// - Parameters:
    ///   - rows: advertiser rows (and publisher rows unless `publisherRows` is given).
    ///   - overlap: fraction (0...1) of the smaller file's customers that both have.
    /// - Returns: the two file paths.
    @discardableResult
    public static func write(rows: Int, publisherRows: Int? = nil, overlap: Double, seed: UInt64, to directory: String) throws -> (
        advertiser: String, publisher: String
    ) {
        let pubRows = publisherRows ?? rows
        precondition(rows >= 0 && pubRows >= 0 && (0...1).contains(overlap))
        var rng = SplitMix64(seed: seed)
        let shared = Int((Double(min(rows, pubRows)) * overlap).rounded())
        let firstNames = ["alex", "sam", "maria", "li", "noah", "emma", "ivan", "fatima", "jose", "zoe", "kenji", "amara"]
        let domains = ["example.com", "example.org", "mail.example.net", "example.co.uk"]
        func email(_ kind: String, _ i: Int) -> String {
            "\(firstNames[i % firstNames.count]).\(kind)\(i)@\(domains[(i / 7) % domains.count])"
        }
        func variant(_ e: String, _ r: UInt64) -> String {
            switch r % 5 {
            case 0: return e.uppercased()
            case 1: return "  " + e + " "
            case 2: return e.prefix(1).uppercased() + e.dropFirst()
            default: return e
            }
        }
        var ad = "email,purchase_amount,quantity\r\n"
        var pub = "email,campaign\r\n"
        ad.reserveCapacity(rows * 48)
        pub.reserveCapacity(pubRows * 48)
        for i in 0..<rows {
            let e = i < shared ? email("c", i) : email("a", i)
            let cents = 100 + Int(rng.next() % 49_900)
            ad += "\(csvField(variant(e, rng.next()))),\(cents / 100).\(String(format: "%02d", cents % 100)),\(1 + rng.next() % 10)\r\n"
        }
        for i in 0..<pubRows {
            let e = i < shared ? email("c", i) : email("p", i)
            pub += "\(csvField(variant(e, rng.next()))),\(campaigns[Int(rng.next() % UInt64(campaigns.count))])\r\n"
        }
        let adPath = (directory as NSString).appendingPathComponent("advertiser.csv")
        let pubPath = (directory as NSString).appendingPathComponent("publisher.csv")
        try ad.write(toFile: adPath, atomically: true, encoding: .utf8)
        try pub.write(toFile: pubPath, atomically: true, encoding: .utf8)
        return (adPath, pubPath)
    }

    /// Quotes a field when RFC 4180 requires it.
    public static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) || s.hasPrefix(" ") || s.hasSuffix(" ") else {
            return s
        }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
