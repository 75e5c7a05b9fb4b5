// Where a session's rows come from: batches in order, each row named by an opaque reference that
// the session only carries into results that name rows (a CSV line number today; a primary key of a
// database row source later). A source may hold the whole table or stream it; the session keeps
// only the prepared set, so a streaming source's batches are freed as preparation moves on.

/// A party's rows, batch by batch.
public protocol RowSource {
    /// A batch of rows, read like a table; `rowNumber(_:)` is each row's reference.
    associatedtype Batch: PartyData
    /// Column names, the same for every batch.
    var columns: [String] { get }
    /// Rows to expect in all, when known (the prepared set is then sized once).
    var expectedRows: Int? { get }
    /// UTF-8 bytes to expect in column `c` in all, when known.
    func expectedBytes(column c: Int) -> Int?
    /// The next batch, nil after the last one.
    /// - Throws: the source's own errors (a database or file that fails mid-way).
    mutating func nextBatch() throws -> Batch?
}

/// A whole table as a source of one batch.
public struct TableSource<Table: PartyData>: RowSource {
    private var table: Table?
    public let columns: [String]
    public let expectedRows: Int?
    private let bytes: [Int]

    public init(_ table: Table) {
        self.table = table
        columns = table.columns
        expectedRows = table.rowCount
        bytes = table.columns.indices.map { table.totalBytes(column: $0) }
    }

    public func expectedBytes(column c: Int) -> Int? { c < bytes.count ? bytes[c] : nil }

    public mutating func nextBatch() throws -> Table? {
        defer { table = nil }
        return table
    }
}
