// A streaming CSV reader (RFC 4180: header row, quoted fields with embedded commas, quotes and
// line breaks, CRLF or LF, an optional UTF-8 byte order mark). It reads the file in 1 MiB chunks
// and builds strings only for the columns asked for. Written here rather than taken from a
// package because the two CSV packages on the mirror measured 425k rows/s (CSV.swift 2.5.2) and
// 235k rows/s (SwiftCSV 0.10.0) on a 3-column file on this machine, below the 1M rows/s target.
// A module of its own, without the runner's network stack, so that the fuzz target that feeds it
// a counterparty's file (Fuzz/Sources/FuzzCSV) builds without NIO and BoringSSL.
import CleanRoomProtocol
import Foundation

/// Why a CSV file could not be read. Messages name the line and column.
public enum CSVError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case emptyFile(path: String)
    case missingColumns([String], header: [String])
    case duplicateHeader(String)
    case malformed(line: Int, problem: String)
    case wrongFieldCount(line: Int, got: Int, expected: Int)
    case notUTF8(line: Int, column: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "cannot read \(path): \(reason)"
        case .emptyFile(let path): return "\(path) is empty (no header row)"
        case .missingColumns(let cols, let header):
            return "missing column(s) \(cols.map { "'\($0)'" }.joined(separator: ", ")); the header has: \(header.joined(separator: ", "))"
        case .duplicateHeader(let name): return "the header names column '\(name)' twice"
        case .malformed(let line, let problem): return "line \(line): \(problem)"
        case .wrongFieldCount(let line, let got, let expected): return "line \(line): \(got) fields, the header has \(expected)"
        case .notUTF8(let line, let column): return "line \(line): column '\(column)' is not valid UTF-8"
        }
    }
}

/// Reads selected columns of a CSV file into a `PartyTable`.
public struct CSVReader {
    /// Where the reader gets its bytes: a function that fills the buffer from its start and returns
    /// how many bytes it wrote, 0 at the end of the input.
    typealias ByteSource = (UnsafeMutableBufferPointer<UInt8>) throws -> Int

    /// Bytes asked of the source at a time.
    static let chunkBytes = 1 << 20

    /// Reads `columns` (by header name) from the file at `path`. Row numbers in the table are the
    /// lines where each record starts (the header is line 1).
    /// - Throws: `CSVError` naming the line and problem.
    public static func read(path: String, columns wanted: [String]) throws -> PartyTable {
        try withFile(path) { try read(name: path, columns: wanted, from: $0) }
    }

    /// Reads `columns` like `read`, into column storage (about the bytes of the cells plus four
    /// bytes per cell, instead of a string per cell): what `cleanroom run` uses.
    public static func readColumnar(path: String, columns wanted: [String]) throws -> ColumnarTable {
        try withFile(path) { try readColumnar(name: path, columns: wanted, from: $0) }
    }

    /// Reads every column of the file at `path`, in header order (the header's names are the
    /// table's columns): what `cleanroom run` rewrites when it appends an enrichment's columns.
    /// - Throws: `CSVError` naming the line and problem.
    public static func readAll(path: String) throws -> PartyTable {
        try read(path: path, columns: try readHeader(path: path))
    }

    /// The header's column names of the file at `path` (nothing past the header is read).
    /// - Throws: `CSVError` naming the line and problem.
    public static func readHeader(path: String) throws -> [String] {
        var names: [String] = []
        do {
            try withFile(path) { source in
                try scan(
                    name: path, columns: [], chunk: chunkBytes, from: source,
                    header: {
                        names = $0; throw HeaderRead()
                    }
                ) { _, _, _ in }
            }
        } catch is HeaderRead {}
        return names
    }

    /// Stops a scan once the header is known.
    private struct HeaderRead: Error {}

    /// `read` on the bytes of `source`, asked for `chunk` bytes at a time; `name` stands for the
    /// path in errors.
    static func read(name: String, columns wanted: [String], chunk: Int = chunkBytes, from source: ByteSource) throws -> PartyTable {
        var rows: [[String]] = []
        var lines: [Int] = []
        try scan(name: name, columns: wanted, chunk: chunk, from: source) { record, selected, line in
            var row = [String](repeating: "", count: selected.count)
            for (k, i) in selected.enumerated() {
                guard let s = record.string(i) else { throw CSVError.notUTF8(line: line, column: wanted[k]) }
                row[k] = s
            }
            rows.append(row)
            lines.append(line)
        }
        return PartyTable(columns: wanted, rows: rows, rowNumbers: lines)
    }

    /// `readColumnar` on the bytes of `source`, as `read(name:columns:chunk:from:)`.
    static func readColumnar(
        name: String, columns wanted: [String], chunk: Int = chunkBytes, from source: ByteSource
    ) throws -> ColumnarTable {
        var table = ColumnarTable(columns: wanted)
        try scan(name: name, columns: wanted, chunk: chunk, from: source) { record, selected, line in
            for (k, i) in selected.enumerated() where !record.isValidUTF8(i) { throw CSVError.notUTF8(line: line, column: wanted[k]) }
            try table.append(rowNumber: line) { record.bytes(selected[$0]) }
        }
        return table
    }

    /// Calls `body` with a source that reads the file at `path`.
    private static func withFile<R>(_ path: String, _ body: (ByteSource) throws -> R) throws -> R {
        guard let file = fopen(path, "rb") else {
            throw CSVError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        defer { fclose(file) }
        return try body { buffer in
            let n = fread(buffer.baseAddress, 1, buffer.count, file)
            if n == 0 && ferror(file) != 0 { throw CSVError.cannotOpen(path: path, reason: "read error") }
            return n
        }
    }

    /// Parses the bytes of `source` and calls `row` for every data record with the header
    /// positions of the wanted columns.
    static func scan(
        name: String, columns wanted: [String], chunk size: Int, from source: ByteSource,
        header onHeader: (([String]) throws -> Void)? = nil, row: (Parser.Record, [Int], Int) throws -> Void
    ) throws {
        precondition(size > 0, "chunk size must be positive")
        var parser = Parser()
        var header: [String]?
        var selected: [Int] = []  // header index of each wanted column
        var chunk = [UInt8](repeating: 0, count: size)
        var eof = false
        while !eof {
            let n = try chunk.withUnsafeMutableBufferPointer { try source($0) }
            eof = n == 0
            try chunk.withUnsafeBufferPointer { buffer in
                try parser.feed(UnsafeBufferPointer(rebasing: buffer[0..<n]), final: eof) { record, line in
                    guard let names = header else {
                        let names = try record.indices.map { i -> String in
                            guard let s = record.string(i) else { throw CSVError.notUTF8(line: line, column: "#\(i + 1)") }
                            return s.trimmingCharacters(in: .whitespaces)
                        }
                        var seen = Set<String>()
                        for name in names where !seen.insert(name).inserted { throw CSVError.duplicateHeader(name) }
                        let missing = wanted.filter { !names.contains($0) }
                        guard missing.isEmpty else { throw CSVError.missingColumns(missing, header: names) }
                        selected = wanted.map { names.firstIndex(of: $0)! }
                        header = names
                        try onHeader?(names)
                        return
                    }
                    // A blank line; a line holding only `""` is a record with one empty field.
                    if record.count == 1 && record.length(0) == 0 && !record.lastFieldQuoted { return }
                    guard record.count == names.count else {
                        throw CSVError.wrongFieldCount(line: line, got: record.count, expected: names.count)
                    }
                    try row(record, selected, line)
                }
            }
        }
        guard header != nil else { throw CSVError.emptyFile(path: name) }
    }

    /// Splits bytes into records. Fields are kept as byte ranges in a reusable buffer.
    struct Parser {
        private var field: [UInt8] = []  // bytes of all fields of the current record
        private var ends: [Int] = []  // end offset of each field in `field`
        private var inQuotes = false
        private var quoteClosed = false  // just saw the closing quote of a quoted field
        private var fieldQuoted = false
        private var pendingCR = false
        private var atStart = true  // for the byte order mark
        private var line = 1  // current line number
        private var recordLine = 1
        private var bomBytes = 0

        /// A parsed record, valid only during the callback.
        struct Record {
            let bytes: UnsafeBufferPointer<UInt8>
            let ends: [Int]
            /// The last field was quoted (so a lone `""` is an empty field, not a blank line).
            var lastFieldQuoted = false
            var count: Int { ends.count }
            var indices: Range<Int> { 0..<ends.count }
            func length(_ i: Int) -> Int { ends[i] - (i == 0 ? 0 : ends[i - 1]) }
            func string(_ i: Int) -> String? {
                String(validating: self.bytes(i), as: UTF8.self)
            }
            func bytes(_ i: Int) -> UnsafeBufferPointer<UInt8> {
                let start = i == 0 ? 0 : ends[i - 1]
                return UnsafeBufferPointer(rebasing: bytes[start..<ends[i]])
            }
            /// UTF-8 check without building a string when the field is plain ASCII.
            func isValidUTF8(_ i: Int) -> Bool {
                let b = self.bytes(i)
                return !b.contains(where: { $0 >= 0x80 }) || String(validating: b, as: UTF8.self) != nil
            }
        }

        mutating func feed(
            _ input: UnsafeBufferPointer<UInt8>, final: Bool, _ emit: (Record, Int) throws -> Void
        ) throws {
            var i = 0
            let n = input.count
            if atStart {
                // Skip a UTF-8 BOM (EF BB BF), possibly split across chunks.
                let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
                while i < n && bomBytes < 3 && input[i] == bom[bomBytes] { bomBytes += 1; i += 1 }
                if bomBytes == 3 || i < n || final {
                    if bomBytes > 0 && bomBytes < 3 { field += bom[0..<bomBytes] }  // not a BOM after all
                    atStart = false
                }
            }
            while i < n {
                let c = input[i]
                i += 1
                if pendingCR {
                    pendingCR = false
                    if c == 0x0A { continue }  // CRLF already ended the record
                }
                if inQuotes {
                    if c == 0x22 {
                        inQuotes = false
                        quoteClosed = true
                    } else {
                        if c == 0x0A { line += 1 }
                        field.append(c)
                    }
                    continue
                }
                switch c {
                case 0x22:  // quote
                    if quoteClosed {  // "" inside a quoted field: a literal quote
                        field.append(0x22)
                        inQuotes = true
                        quoteClosed = false
                    } else if field.count == (ends.last ?? 0) && !fieldQuoted {
                        inQuotes = true
                        fieldQuoted = true
                    } else {
                        throw CSVError.malformed(
                            line: line, problem: "a quote inside an unquoted field (quote the whole field and double the quote)")
                    }
                case 0x2C:  // comma
                    ends.append(field.count)
                    quoteClosed = false
                    fieldQuoted = false
                case 0x0D, 0x0A:
                    try endRecord(emit)
                    line += 1
                    recordLine = line
                    if c == 0x0D { pendingCR = true }
                default:
                    if quoteClosed {
                        throw CSVError.malformed(line: line, problem: "text after the closing quote of a field")
                    }
                    field.append(c)
                }
            }
            if final {
                if inQuotes {
                    throw CSVError.malformed(line: recordLine, problem: "a quoted field is not closed before the end of the file")
                }
                if !field.isEmpty || !ends.isEmpty || fieldQuoted { try endRecord(emit) }
            }
        }

        private mutating func endRecord(_ emit: (Record, Int) throws -> Void) throws {
            ends.append(field.count)
            try field.withUnsafeBufferPointer { try emit(Record(bytes: $0, ends: ends, lastFieldQuoted: fieldQuoted), recordLine) }
            field.removeAll(keepingCapacity: true)
            ends.removeAll(keepingCapacity: true)
            quoteClosed = false
            fieldQuoted = false
        }
    }
}
