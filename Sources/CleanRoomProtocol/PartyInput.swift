// A party's input rows, and their preparation for a session: identifiers normalised, rows that
// fail validation reported (or skipped, as the policy says), duplicates merged.
import CleanRoomCrypto

/// A party's input as the session reads it: named columns, cells by row and column, and the
/// number to show for each row in error messages.
public protocol PartyData: Sendable {
    var columns: [String] { get }
    var rowCount: Int { get }
    /// Cells in row `r` (a ragged row is reported as an error).
    func cellCount(_ r: Int) -> Int
    func cell(_ r: Int, _ c: Int) -> String
    func rowNumber(_ r: Int) -> Int
    /// Calls `body` with the UTF-8 bytes of a cell (without making a `String` where the storage
    /// allows).
    func withCellBytes<R>(_ r: Int, _ c: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
    /// Bytes of UTF-8 in column `c` over all rows (a capacity hint).
    func totalBytes(column c: Int) -> Int
}

extension PartyData {
    public func totalBytes(column c: Int) -> Int {
        // Ragged rows are reported by `prepare`; here they only do not count.
        (0..<rowCount).reduce(0) { $0 + (cellCount($1) > c ? cell($1, c).utf8.count : 0) }
    }

    public func withCellBytes<R>(_ r: Int, _ c: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var text = cell(r, c)
        return try text.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
    }

    func columnIndex(_ name: String) throws -> Int {
        guard let i = columns.firstIndex(of: name) else { throw CleanRoomProtocolError.missingColumn(column: name, available: columns) }
        return i
    }
}

/// Columns stored back to back as UTF-8, one allocation per column instead of one string per cell:
/// what the runner reads large CSV files into.
public struct ColumnarTable: PartyData {
    public let columns: [String]
    private var bytes: [[UInt8]]
    private var ends: [[UInt32]]
    private var lines: [Int]

    public init(columns: [String]) {
        self.columns = columns
        bytes = Array(repeating: [], count: columns.count)
        ends = Array(repeating: [], count: columns.count)
        lines = []
    }

    /// Appends a row; `cell(c)` gives the UTF-8 bytes of column `c`.
    /// - Throws: when a column would exceed 4 GiB.
    public mutating func append(rowNumber: Int, _ cell: (Int) -> UnsafeBufferPointer<UInt8>) throws {
        for c in 0..<columns.count {
            let b = cell(c)
            guard bytes[c].count + b.count <= Int(UInt32.max) else {
                throw CleanRoomProtocolError.invalidRow(row: rowNumber, column: columns[c], problem: "the column exceeds 4 GiB in total")
            }
            bytes[c].append(contentsOf: b)
            ends[c].append(UInt32(bytes[c].count))
        }
        lines.append(rowNumber)
    }

    public var rowCount: Int { lines.count }
    public func cellCount(_ r: Int) -> Int { columns.count }
    public func rowNumber(_ r: Int) -> Int { lines[r] }
    public func cell(_ r: Int, _ c: Int) -> String {
        let start = r == 0 ? 0 : Int(ends[c][r - 1])
        return String(decoding: bytes[c][start..<Int(ends[c][r])], as: UTF8.self)
    }
    public func totalBytes(column c: Int) -> Int { bytes[c].count }
    public func withCellBytes<R>(_ r: Int, _ c: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let start = r == 0 ? 0 : Int(ends[c][r - 1])
        return try bytes[c].withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<Int(ends[c][r])])) }
    }
}

/// One party's data: named columns and rows of text cells (convenient for tests and small inputs).
public struct PartyTable: PartyData {
    /// Column names (header).
    public var columns: [String]
    /// Rows; each has one cell per column.
    public var rows: [[String]]
    /// The number shown for each row in error messages (e.g. its line in the file);
    /// defaults to 1-based positions.
    public var rowNumbers: [Int]

    public init(columns: [String], rows: [[String]], rowNumbers: [Int]? = nil) {
        self.columns = columns
        self.rows = rows
        self.rowNumbers = rowNumbers ?? (0..<rows.count).map { $0 + 1 }
    }

    public var rowCount: Int { rows.count }
    public func cellCount(_ r: Int) -> Int { rows[r].count }
    public func cell(_ r: Int, _ c: Int) -> String { rows[r][c] }
    public func rowNumber(_ r: Int) -> Int { rowNumbers[r] }
}

/// Unique identifiers stored back to back (one allocation for the whole set, not one per
/// identifier).
struct IdentifierStore: RandomAccessCollection {
    private(set) var bytes: [UInt8] = []
    private(set) var ends: [UInt32] = []

    var startIndex: Int { 0 }
    var endIndex: Int { ends.count }
    subscript(i: Int) -> ArraySlice<UInt8> { bytes[(i == 0 ? 0 : Int(ends[i - 1]))..<Int(ends[i])] }

    /// Reserves room for `count` identifiers of `bytes` bytes in total.
    mutating func reserve(count: Int, bytes total: Int) {
        bytes.reserveCapacity(Swift.min(total, Int(UInt32.max)))
        ends.reserveCapacity(count)
    }

    /// Appends an identifier; the store holds at most 4 GiB of identifier bytes in total.
    mutating func append(_ id: [UInt8]) throws {
        guard bytes.count + id.count <= Int(UInt32.max) else {
            throw CleanRoomProtocolError.invalidCollaboration(path: "(input)", problem: "identifiers exceed 4 GiB in total")
        }
        bytes += id
        ends.append(UInt32(bytes.count))
    }
}

/// A prepared set: unique normalised identifiers and what belongs to each.
struct PreparedSet {
    /// Unique normalised identifiers, in first-seen order.
    var identifiers = IdentifierStore()
    /// For each identifier, the first input row (0-based) that carried it; later rows with the
    /// same identifier are in `moreRows`.
    var firstRow: [Int32] = []
    var moreRows: [Int32: [Int32]] = [:]
    /// P1 with groups: group index per identifier, and the labels.
    var groupOf: [UInt32] = []
    var groupLabels: [String] = []
    /// P2 in intersection-sum: per identifier, the summed slot values (value − min per row, per
    /// column) followed by the number of rows; `slotWidth` values per identifier, back to back.
    var slotValues: [UInt64] = []
    var slotWidth = 0

    /// The slot values of identifier `i`.
    func slots(of i: Int) -> [UInt64] { Array(slotValues[(i * slotWidth)..<((i + 1) * slotWidth)]) }
    /// Number of input rows used (after skipping bad rows).
    var usedRows = 0
    /// Rows skipped under `bad_rows: skip`.
    var skippedRows = 0

    /// Every input row (0-based) that carried identifier `i`.
    func rows(of i: Int) -> [Int] {
        [Int(firstRow[i])] + (moreRows[Int32(i)] ?? []).map(Int.init)
    }
}

/// Finds an identifier's index without storing each identifier a second time: an open-addressing
/// table of 32-bit indices into the store (4 bytes per slot, at most half full), probed by a
/// 64-bit hash of the identifier's bytes and confirmed by comparing the stored bytes.
struct IdentifierIndex {
    private var slots: [Int32]
    private var mask: Int
    private var count = 0

    /// - Parameter expected: how many identifiers will be inserted (the table grows past it).
    init(expected: Int) {
        var size = 16
        while size < 2 * expected { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    private static func hash(_ id: [UInt8]) -> Int {
        var h = Hasher()
        id.withUnsafeBytes { h.combine(bytes: $0) }
        return h.finalize()
    }

    func find(_ id: [UInt8], in store: IdentifierStore) -> Int? {
        var i = Self.hash(id) & mask
        while slots[i] >= 0 {
            if store[Int(slots[i])].elementsEqual(id) { return Int(slots[i]) }
            i = (i + 1) & mask
        }
        return nil
    }

    /// Records that `id` (not yet present) is at `index` of `store` (which must already hold it
    /// when the table grows).
    mutating func insert(_ id: [UInt8], at index: Int, in store: IdentifierStore) {
        if 2 * (count + 1) > slots.count { grow(store) }
        var i = Self.hash(id) & mask
        while slots[i] >= 0 { i = (i + 1) & mask }
        slots[i] = Int32(index)
        count += 1
    }

    private mutating func grow(_ store: IdentifierStore) {
        let old = slots
        slots = [Int32](repeating: -1, count: old.count * 2)
        mask = slots.count - 1
        for v in old where v >= 0 {
            var i = Self.hash(Array(store[Int(v)])) & mask
            while slots[i] >= 0 { i = (i + 1) & mask }
            slots[i] = v
        }
    }
}

enum InputPreparation {
    static func prepare(_ table: some PartyData, party: String, role: Role, analysis: Analysis) throws -> PreparedSet {
        let join = analysis.joinColumn(of: party)
        let idColumn = try table.columnIndex(join.column)
        let groupColumn = try (role == .p1 && analysis.groupBy != nil) ? table.columnIndex(analysis.groupBy!) : nil
        let valueColumns = (role == .p2 && analysis.kind == .intersectionSum) ? analysis.values! : []
        let valueIndices = try valueColumns.map { try table.columnIndex($0.name) }
        var index = IdentifierIndex(expected: table.rowCount)
        var set = PreparedSet()
        set.firstRow.reserveCapacity(table.rowCount)
        set.identifiers.reserve(count: table.rowCount, bytes: table.totalBytes(column: idColumn))
        set.slotValues.reserveCapacity(table.rowCount * (valueColumns.isEmpty ? 0 : valueColumns.count + 1))
        var groupIndex: [String: UInt32] = [:]
        var rowValues = [UInt64](repeating: 0, count: valueColumns.count)
        set.slotWidth = valueColumns.isEmpty ? 0 : valueColumns.count + 1
        for r in 0..<table.rowCount {
            let rowNumber = table.rowNumber(r)
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
                        throw CleanRoomProtocolError.invalidRow(row: rowNumber, column: analysis.groupBy!, problem: "group label is empty")
                    }
                    guard label.utf8.count <= 255 else {
                        throw CleanRoomProtocolError.invalidRow(
                            row: rowNumber, column: analysis.groupBy!, problem: "group label longer than 255 bytes")
                    }
                }
                if let existing = index.find(id, in: set.identifiers) {
                    // A duplicate identifier: P2's values are summed; P1's group must agree.
                    if groupColumn != nil && set.groupLabels[Int(set.groupOf[existing])] != label {
                        throw CleanRoomProtocolError.invalidRow(
                            row: rowNumber, column: analysis.groupBy!,
                            problem: "identifier repeats row \(table.rowNumber(Int(set.firstRow[existing]))) with a different group")
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
                    set.moreRows[Int32(existing), default: []].append(Int32(r))
                } else {
                    // The one step here that can fail comes first, so a skipped row adds nothing.
                    try set.identifiers.append(id)
                    index.insert(id, at: set.identifiers.count - 1, in: set.identifiers)
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
                    set.firstRow.append(Int32(r))
                    if !valueColumns.isEmpty {
                        set.slotValues.append(contentsOf: rowValues)
                        set.slotValues.append(1)
                    }
                }
                set.usedRows += 1
            } catch let error as CleanRoomProtocolError {
                guard analysis.badRows == .skip else { throw error }
                set.skippedRows += 1
            }
        }
        return set
    }
}
