// The canonical digest that names a collaboration: SHA-256 over a domain tag and the canonical
// JSON of the validated model (keys sorted, no whitespace, lists that have no order sorted by the
// loader). It is stable under key order, whitespace, comments, quoting and number formatting of the
// file, and changes with anything that changes the meaning.
//
// The encoding is written by hand (not derived from Codable), so the model can change shape
// without changing a digest. Its bytes are those JSONEncoder produced for the first model
// (`.sortedKeys`, `.withoutEscapingSlashes`), so every digest issued before stays valid.
//
// Rule for later additions: a new policy field that is left at its default is not encoded at all,
// so adding a field never changes the digest of an existing file; a file that sets it gets a new
// digest, which an older CleanRoom cannot produce, so the two sides refuse to run together.
import CleanRoomCrypto

extension Collaboration {
    /// The canonical encoding the digest is computed over.
    public func canonicalEncoding() -> [UInt8] { canonicalValue.encoded() }

    /// SHA-256("CLEANROOM-COLLABORATION-V1" ‖ 0x00 ‖ canonical encoding).
    public func digest() throws -> [UInt8] {
        try SHA256.hash(Array("CLEANROOM-COLLABORATION-V1".utf8) + [0] + canonicalEncoding())
    }

    /// The digest as 64 lowercase hex digits.
    public func digestHex() throws -> String { Hex.encode(try digest()) }

    /// The model as canonical JSON.
    package var canonicalValue: CanonicalJSON {
        var fields: [(key: String, value: CanonicalJSON)] = [
            ("name", .string(name)),
            ("parties", .array(parties.map(\.canonicalValue))),
            ("analyses", .array(analyses.map(\.canonicalValue))),
        ]
        // Absent unless the file sets it (so existing digests stay).
        if let budget = privacyBudget {
            var b: [(key: String, value: CanonicalJSON)] = []
            if let maxSessions = budget.maxSessions { b.append(("max_sessions", .integer(Int64(maxSessions)))) }
            if let epsilon = budget.epsilonMicros { b.append(("epsilon_micros", .integer(Int64(epsilon)))) }
            if let delta = budget.deltaFemtos { b.append(("delta_femtos", .integer(delta))) }
            fields.append(("privacy_budget", .object(b)))
        }
        return .object(fields)
    }
}

extension Party {
    var canonicalValue: CanonicalJSON {
        var fields: [(key: String, value: CanonicalJSON)] = [("name", .string(name)), ("certificate_sha256", .string(certificateSHA256))]
        if let listen { fields.append(("listen", .string(listen))) }
        return .object(fields)
    }
}

extension Analysis {
    var canonicalValue: CanonicalJSON {
        var fields: [(key: String, value: CanonicalJSON)] = [
            ("name", .string(name)),
            ("kind", .string(kind.rawValue)),
            (
                "join",
                .array(
                    join.map {
                        .object([
                            ("party", .string($0.party)), ("column", .string($0.column)), ("normalize", .string($0.normalize.rawValue)),
                        ])
                    })
            ),
            ("receivers", .array(receivers.map(CanonicalJSON.string))),
            ("min_intersection", .integer(Int64(minIntersection))),
            (
                "set_size",
                .array(
                    setSize.map {
                        .object([("party", .string($0.party)), ("min", .integer(Int64($0.min))), ("max", .integer(Int64($0.max)))])
                    })
            ),
            ("bad_rows", .string(badRows.rawValue)),
        ]
        switch spec {
        case .cardinality, .intersection:
            break
        case .intersectionSum(let sum):
            fields += sum.canonicalFields
        case .enrichment(let e):
            fields.append(
                (
                    "columns",
                    .array(e.columns.map { .object([("name", .string($0.name)), ("max_bytes", .integer(Int64($0.maxBytes)))]) })
                ))
        }
        // Absent unless the file sets it (so existing digests stay).
        if let privacy {
            fields.append(
                (
                    "privacy",
                    .object(
                        [
                            ("mechanism", .string(privacy.mechanism.rawValue)),
                            ("epsilon_micros", .integer(Int64(privacy.epsilonMicros))),
                        ] + (privacy.deltaFemtos.map { [("delta_femtos", CanonicalJSON.integer($0))] } ?? [])
                            + (privacy.maxRowsPerIdentifier.map { [("max_rows_per_identifier", CanonicalJSON.integer(Int64($0)))] } ?? []))
                ))
        }
        return .object(fields)
    }
}

extension IntersectionSumSpec {
    /// The fields the first model kept flat in the analysis (`values` is the column list; the
    /// owner is `value_owner`).
    var canonicalFields: [(key: String, value: CanonicalJSON)] {
        var fields: [(key: String, value: CanonicalJSON)] = [
            ("value_owner", .string(valueOwner)),
            (
                "values",
                .array(
                    values.map {
                        .object([
                            ("name", .string($0.name)), ("scale", .integer(Int64($0.scale))), ("min", .integer($0.min)),
                            ("max", .integer($0.max)),
                        ])
                    })
            ),
        ]
        if let grouping {
            fields.append(("group_by", .string(grouping.column)))
            fields.append(("min_group_size", .integer(Int64(grouping.minGroupSize))))
            // At its default, left out, so files written before it existed keep their digest.
            if grouping.maxGroups != Grouping.defaultMaxGroups {
                fields.append(("max_groups", .integer(Int64(grouping.maxGroups))))
            }
        }
        fields.append(("statistics", .array(statistics.map { .string($0.rawValue) })))
        fields.append(("key_bits", .integer(Int64(keyBits))))
        return fields
    }
}
