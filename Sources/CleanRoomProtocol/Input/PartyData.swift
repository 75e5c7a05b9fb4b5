// A party's input rows as a session reads them: named columns, cells, and the reference by which a
// result names a row (a CSV line number today).
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
