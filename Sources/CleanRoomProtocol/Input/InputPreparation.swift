// Preparing a party's rows for a session: identifiers normalised, rows that fail validation
// reported (or skipped, as the policy says), duplicates merged.
import CleanRoomCrypto

/// The columns of one party's data that an analysis reads: the join column, and in an
/// intersection-sum the value owner's summed columns or the other party's group column.
public struct RequiredColumns: Sendable, Equatable {
    /// The identifier column.
    public var join: String
    /// The summed columns (value owner of an intersection-sum only).
    public var values: [ValueColumn]
    /// The group column (the other party of a grouped intersection-sum only).
    public var group: String?
    /// The columns the receiver may learn (the sender of an enrichment only).
    public var payload: [EnrichmentSpec.Column] = []

    /// Every column name, join column first: what a data source must provide.
    public var names: [String] { [join] + values.map(\.name) + (group.map { [$0] } ?? []) + payload.map(\.name) }
}

extension Analysis {
    /// The columns `party` must provide for this analysis; the one place that decides it.
    public func requiredColumns(of party: String) -> RequiredColumns {
        var columns = RequiredColumns(join: joinColumn(of: party).column, values: [], group: nil)
        if let sum = sumSpec {
            if sum.valueOwner == party { columns.values = sum.values } else { columns.group = sum.grouping?.column }
        }
        if let e = enrichmentSpec, e.receiver != party { columns.payload = e.columns }
        return columns
    }
}

/// The prepared set has no room for more bytes: the input is too large, not a bad row.
private struct InputCapacityExceeded: Error {
    var what: String
}

enum InputPreparation {
    /// Prepares the rows of `source`, batch by batch.
    /// - Parameter keepReferences: keep every row's reference (results that name rows need them).
    static func prepare(
        _ source: inout some RowSource, party: String, analysis: Analysis, keepReferences: Bool
    ) throws -> PreparedSet {
        let join = analysis.joinColumn(of: party)
        let columns = analysis.requiredColumns(of: party)
        let header = source.columns
        func columnIndex(_ name: String) throws -> Int {
            guard let i = header.firstIndex(of: name) else { throw CleanRoomProtocolError.missingColumn(column: name, available: header) }
            return i
        }
        let idColumn = try columnIndex(join.column)
        let groupName = columns.group
        let groupColumn = try groupName.map { try columnIndex($0) }
        let valueColumns = columns.values
        let valueIndices = try valueColumns.map { try columnIndex($0.name) }
        let payloadColumns = columns.payload
        let payloadIndices = try payloadColumns.map { try columnIndex($0.name) }
        let expected = source.expectedRows ?? 0
        var index = IdentifierIndex(expected: expected)
        var set = PreparedSet()
        set.firstRow.reserveCapacity(expected)
        set.identifiers.reserve(count: expected, bytes: source.expectedBytes(column: idColumn) ?? 0)
        set.slotValues.reserveCapacity(expected * (valueColumns.isEmpty ? 0 : valueColumns.count + 1))
        // References are kept where a result names rows, and where an error message names an
        // earlier row (a grouped party's conflicting duplicates).
        let references = keepReferences || groupColumn != nil
        if references { set.references.reserveCapacity(expected) }
        var groupIndex: [String: UInt32] = [:]
        var rowValues = [UInt64](repeating: 0, count: valueColumns.count)
        set.slotWidth = valueColumns.isEmpty ? 0 : valueColumns.count + 1
        var base = 0  // rows of the batches before this one
        while let table = try source.nextBatch() {
            try prepare(
                batch: table, base: base, into: &set, index: &index, groupIndex: &groupIndex, rowValues: &rowValues,
                join: join, idColumn: idColumn, groupName: groupName, groupColumn: groupColumn, valueColumns: valueColumns,
                valueIndices: valueIndices, payloadColumns: payloadColumns, payloadIndices: payloadIndices, references: references,
                badRows: analysis.badRows, rowsPerIdentifier: valueColumns.isEmpty ? nil : analysis.privacy?.maxRowsPerIdentifier,
                maxIdentifierBytes: analysis.enrichmentSpec == nil ? nil : OPRFRistretto255.maxInputBytes)
            base += table.rowCount
        }
        set.inputRows = base
        return set
    }

    /// Prepares one batch whose first row is row `base` of the source.
    private static func prepare(
        batch table: some PartyData, base: Int, into set: inout PreparedSet, index: inout IdentifierIndex,
        groupIndex: inout [String: UInt32], rowValues: inout [UInt64], join: JoinColumn, idColumn: Int, groupName: String?,
        groupColumn: Int?, valueColumns: [ValueColumn], valueIndices: [Int], payloadColumns: [EnrichmentSpec.Column],
        payloadIndices: [Int], references: Bool, badRows: BadRowPolicy, rowsPerIdentifier: Int?, maxIdentifierBytes: Int?
    ) throws {
        for r in 0..<table.rowCount {
            let rowNumber = table.rowNumber(r)
            if references { set.references.append(rowNumber) }
            do {
                guard table.cellCount(r) == table.columns.count else {
                    throw CleanRoomProtocolError.invalidRow(
                        row: rowNumber, column: join.column,
                        problem: "row has \(table.cellCount(r)) cells, the header has \(table.columns.count)")
                }
                let id: [UInt8]
                switch join.normalize.apply(table.cell(r, idColumn)) {
                case .success(let v): id = v
                case .failure(let f): throw CleanRoomProtocolError.invalidRow(row: rowNumber, column: join.column, problem: f.description)
                }
                // The OPRF of an enrichment takes inputs of at most 65,534 bytes (RFC 9497): a longer
                // identifier is a bad row here, before the session, not a failure in the middle of it.
                if let limit = maxIdentifierBytes, id.count > limit {
                    throw CleanRoomProtocolError.invalidRow(
                        row: rowNumber, column: join.column,
                        problem: "the normalised identifier has \(id.count) bytes, an enrichment takes at most \(limit)")
                }
                for (k, col) in valueColumns.enumerated() {
                    // ASCII cells are parsed on their bytes; others (Unicode spaces) on the string.
                    let parsed = table.withCellBytes(r, valueIndices[k]) { DecimalParser.parse(asciiBytes: $0, scale: col.scale) }
                    let v: Int64
                    switch parsed {
                    case .value(let x): v = x
                    case .notASCII, .malformed:
                        let cell = table.cell(r, valueIndices[k]).trimmingCharacters(in: .whitespaces)
                        guard parsed == .notASCII, let x = DecimalParser.parse(cell, scale: col.scale) else {
                            throw CleanRoomProtocolError.invalidRow(
                                row: rowNumber, column: col.name, problem: "'\(cell)' is not a decimal with scale \(col.scale)")
                        }
                        v = x
                    }
                    guard v >= col.min && v <= col.max else {
                        throw CleanRoomProtocolError.invalidRow(
                            row: rowNumber, column: col.name, problem: "value is outside the allowed range of the collaboration")
                    }
                    rowValues[k] = UInt64(v - col.min)
                }
                var label = ""
                if let g = groupColumn {
                    label = table.cell(r, g).trimmingCharacters(in: .whitespaces)
                    guard !label.isEmpty else {
                        throw CleanRoomProtocolError.invalidRow(row: rowNumber, column: groupName ?? "", problem: "group label is empty")
                    }
                    guard label.utf8.count <= 255 else {
                        throw CleanRoomProtocolError.invalidRow(
                            row: rowNumber, column: groupName ?? "", problem: "group label longer than 255 bytes")
                    }
                }
                // An enrichment sender's payload: each allowed cell as a 2-byte length and its bytes.
                var payload: [UInt8] = []
                for (k, col) in payloadColumns.enumerated() {
                    let cell = Array(table.cell(r, payloadIndices[k]).utf8)
                    guard cell.count <= col.maxBytes else {
                        throw CleanRoomProtocolError.invalidRow(
                            row: rowNumber, column: col.name,
                            problem: "\(cell.count) bytes, the collaboration allows at most \(col.maxBytes)")
                    }
                    payload += [UInt8(cell.count >> 8), UInt8(cell.count & 0xff)] + cell
                }
                if let existing = index.find(id, in: set.identifiers) {
                    // A duplicate identifier: P2's values are summed; P1's group must agree.
                    if groupColumn != nil && set.groupLabels[Int(set.groupOf[existing])] != label {
                        throw CleanRoomProtocolError.invalidRow(
                            row: rowNumber, column: groupName ?? "",
                            problem: "identifier repeats row \(set.references[Int(set.firstRow[existing])]) with a different group")
                    }
                    if let bound = rowsPerIdentifier, set.slotValues[existing * set.slotWidth + valueColumns.count] >= UInt64(bound) {
                        // The contribution bound of differential privacy: rows beyond it are left
                        // out, the first ones in file order kept, and counted in the result.
                        set.rowsOverContributionBound += 1
                        continue
                    }
                    if !valueColumns.isEmpty {
                        // Computed in full before anything is stored, so a failing row changes nothing.
                        var updated = set.slots(of: existing)
                        for k in 0..<valueColumns.count {
                            let (s, o) = updated[k].addingReportingOverflow(rowValues[k])
                            guard !o else {
                                throw CleanRoomProtocolError.invalidRow(
                                    row: rowNumber, column: valueColumns[k].name, problem: "sum of duplicate rows overflows")
                            }
                            updated[k] = s
                        }
                        updated[valueColumns.count] += 1
                        set.slotValues.replaceSubrange((existing * set.slotWidth)..<((existing + 1) * set.slotWidth), with: updated)
                    }
                    set.moreRows[Int32(existing), default: []].append(Int32(base + r))
                } else {
                    // Both stores are checked before either grows, so identifiers and payloads stay
                    // aligned; running out of room is not a bad row and is never skipped.
                    guard set.identifiers.hasRoom(for: id.count), payloadColumns.isEmpty || set.payloads.hasRoom(for: payload.count) else {
                        throw InputCapacityExceeded(what: set.identifiers.hasRoom(for: id.count) ? "enrichment columns" : "identifiers")
                    }
                    try set.identifiers.append(id)
                    index.insert(id, at: set.identifiers.count - 1, in: set.identifiers)
                    // Duplicates on the sender's side: the first row wins (later rows only count).
                    if !payloadColumns.isEmpty { try set.payloads.append(payload) }
                    if groupColumn != nil {
                        // Labels are registered only for rows that passed every check.
                        let group: UInt32
                        if let existing = groupIndex[label] {
                            group = existing
                        } else {
                            group = UInt32(set.groupLabels.count)
                            groupIndex[label] = group
                            set.groupLabels.append(label)
                        }
                        set.groupOf.append(group)
                    }
                    set.firstRow.append(Int32(base + r))
                    if !valueColumns.isEmpty {
                        set.slotValues.append(contentsOf: rowValues)
                        set.slotValues.append(1)
                    }
                }
                set.usedRows += 1
            } catch CleanRoomProtocolError.invalidRow(let row, let column, let problem) {
                guard badRows == .skip else { throw CleanRoomProtocolError.invalidRow(row: row, column: column, problem: problem) }
                set.skippedRows += 1
            } catch let e as InputCapacityExceeded {
                throw CleanRoomProtocolError.invalidCollaboration(path: "(input)", problem: "\(e.what) exceed 4 GiB in total")
            }
        }
    }
}
