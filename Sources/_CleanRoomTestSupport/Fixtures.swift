// The collaboration most protocol tests run: an advertiser with values and a publisher with
// campaigns, four analyses (one per shape), and parameters for the policy fields tests vary.
// Test-only: nothing shipped depends on _CleanRoomTestSupport.
import CleanRoomProtocol

public enum Fixtures {
    public static let fingerprintA = String(repeating: "ab", count: 32)
    public static let fingerprintB = String(repeating: "cd", count: 32)

    /// A collaboration between an advertiser (values) and a publisher (campaigns).
    public static func template(
        receiversCardinality: [String] = ["advertiser", "publisher"], receiversIntersection: [String] = ["advertiser", "publisher"],
        receiversSum: [String] = ["advertiser", "publisher"], minIntersection: Int = 1, minGroup: Int = 1, minSet: Int = 1,
        maxSet: Int = 10_000,
        statistics: [Statistic] = [.count, .sum, .mean], maxGroups: Int? = nil
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
                    grouping: .init(party: "publisher", column: "campaign", minGroupSize: minGroup, maxGroups: maxGroups),
                    statistics: statistics,
                    receivers: receiversSum, minIntersection: minIntersection, setSize: setSize),
                .intersectionSum(
                    "total-spend", owner: "advertiser", values: [.init(name: "purchase_amount", scale: 2, max: "10000.00")],
                    receivers: receiversSum, minIntersection: minIntersection, setSize: setSize),
            ])
    }

    /// The text of `template(...)`.
    public static func yaml(
        receiversCardinality: [String] = ["advertiser", "publisher"], receiversIntersection: [String] = ["advertiser", "publisher"],
        receiversSum: [String] = ["advertiser", "publisher"], minIntersection: Int = 1, minGroup: Int = 1, minSet: Int = 1,
        maxSet: Int = 10_000,
        statistics: [Statistic] = [.count, .sum, .mean], maxGroups: Int? = nil
    ) -> String {
        template(
            receiversCardinality: receiversCardinality, receiversIntersection: receiversIntersection, receiversSum: receiversSum,
            minIntersection: minIntersection, minGroup: minGroup, minSet: minSet, maxSet: maxSet, statistics: statistics,
            maxGroups: maxGroups
        ).yaml
    }

    public static func collaboration(_ text: String = yaml()) throws -> Collaboration { try Collaboration(yaml: text) }
}
