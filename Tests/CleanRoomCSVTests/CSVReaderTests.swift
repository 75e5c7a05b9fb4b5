import Foundation
import Testing

@testable import CleanRoomCSV

@Suite struct CSVReaderTests {
    func read(_ text: String, _ columns: [String] = ["email", "amount"], bytes: [UInt8]? = nil) throws -> (rows: [[String]], lines: [Int]) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("csv-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(bytes ?? Array(text.utf8)).write(to: URL(fileURLWithPath: path))
        let t = try CSVReader.read(path: path, columns: columns)
        return (t.rows, t.rowNumbers)
    }

    @Test func quotingCRLFAndBOM() throws {
        let text = "\u{FEFF}id,email,amount\r\n1,\"a,b\"\"c\"\"@x.com\",\"12.50\"\r\n2,\"multi\nline@x.com\",3\r\n3,plain@x.com,\"\"\r\n"
        let (rows, lines) = try read(text)
        #expect(rows == [["a,b\"c\"@x.com", "12.50"], ["multi\nline@x.com", "3"], ["plain@x.com", ""]])
        #expect(lines == [2, 3, 5])  // the second record spans lines 3 and 4
    }

    @Test func columnsAreChosenByNameInTheOrderAsked() throws {
        let (rows, _) = try read("amount,x,email\n5,y,a@x.com\n", ["email", "amount"])
        #expect(rows == [["a@x.com", "5"]])
    }

    @Test func lastLineWithoutNewlineAndBlankLines() throws {
        let (rows, lines) = try read("email,amount\n\na@x.com,1\n\nb@x.com,2")
        #expect(rows == [["a@x.com", "1"], ["b@x.com", "2"]])
        #expect(lines == [3, 5])
    }

    /// In a one-column file a line holding only `""` is a row with an empty field (which the
    /// session then refuses as an empty identifier), not a blank line to skip. (Found by FuzzCSV's
    /// author reading the fuzz harness; before, such a row vanished.)
    @Test func aQuotedEmptyFieldAloneOnALineIsARow() throws {
        let (rows, lines) = try read("email\na@x.com\n\"\"\n\nb@x.com\n\"\"", ["email"])
        #expect(rows == [["a@x.com"], [""], ["b@x.com"], [""]])
        #expect(lines == [2, 3, 5, 6])
    }

    @Test func badInputNamesTheLine() {
        #expect(throws: CSVError.wrongFieldCount(line: 3, got: 3, expected: 2)) { try read("email,amount\na@x.com,1\nb@x.com,2,extra\n") }
        #expect(throws: CSVError.malformed(line: 2, problem: "a quoted field is not closed before the end of the file")) {
            try read("email,amount\n\"a@x.com,1\n")
        }
        #expect(throws: CSVError.self) { try read("email,amount\na\"b@x.com,1\n") }
        #expect(throws: CSVError.self) { try read("email,amount\n\"a\"b@x.com,1\n") }
        #expect(throws: CSVError.missingColumns(["amount"], header: ["email", "total"])) { try read("email,total\na@x.com,1\n") }
        #expect(throws: CSVError.duplicateHeader("email")) { try read("email,email,amount\n") }
        #expect(throws: CSVError.emptyFile(path: "")) {
            do { _ = try read("") } catch CSVError.emptyFile { throw CSVError.emptyFile(path: "") }
        }
        #expect(throws: CSVError.notUTF8(line: 2, column: "email")) {
            try read("", bytes: Array("email,amount\n".utf8) + [0xff, 0xfe, 0x2c, 0x31, 0x0a])
        }
        #expect(throws: CSVError.self) { try CSVReader.read(path: "/nonexistent/file.csv", columns: ["email"]) }
    }

    @Test func chunkBoundariesDoNotMatter() throws {
        // A file larger than one read chunk, with quoted fields everywhere.
        var text = "email,amount\r\n"
        for i in 0..<60_000 { text += "\"user \(i), \"\"quoted\"\"@x.com\",\(i)\r\n" }
        let (rows, lines) = try read(text)
        #expect(rows.count == 60_000)
        #expect(rows[59_999] == ["user 59999, \"quoted\"@x.com", "59999"])
        #expect(lines.last == 60_001)
    }

    @Test func everyChunkSizeReadsTheSame() throws {
        // Boundaries inside the BOM, a CRLF, a doubled quote and a multi-byte character.
        let text = "\u{FEFF}id,email,amount\r\n1,\"a,b\"\"c\"\"@x.com\",\"12.50\"\r\n2,\"multi\r\nline@x.com\",3\r\r\n3,José@x.com,\"\""
        let bytes = Array(text.utf8)
        let whole = try CSVReader.read(name: "t.csv", columns: ["email", "amount"], from: source(bytes))
        #expect(whole.rows == [["a,b\"c\"@x.com", "12.50"], ["multi\r\nline@x.com", "3"], ["José@x.com", ""]])
        #expect(whole.rowNumbers == [2, 3, 6])
        for chunk in 1...bytes.count {
            let t = try CSVReader.read(name: "t.csv", columns: ["email", "amount"], chunk: chunk, from: source(bytes))
            #expect(t.rows == whole.rows && t.rowNumbers == whole.rowNumbers, "chunk \(chunk)")
        }
    }
}

/// A reader source over `bytes`, filling each buffer as `fread` does.
func source(_ bytes: [UInt8]) -> CSVReader.ByteSource {
    var offset = 0
    return { buffer in
        let n = min(buffer.count, bytes.count - offset)
        for i in 0..<n { buffer[i] = bytes[offset + i] }
        offset += n
        return n
    }
}

@Suite struct ColumnarReaderTests {
    @Test func columnarMatchesRowReader() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("csv-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let text = "\u{FEFF}id,email,amount\r\n1,\"a,b\"\"c\"\"@x.com\",\"12.50\"\r\n2,\"multi\nline@x.com\",3\r\n\r\n3,José@x.com,\"\"\r\n"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        let rows = try CSVReader.read(path: path, columns: ["email", "amount"])
        let cols = try CSVReader.readColumnar(path: path, columns: ["email", "amount"])
        #expect(cols.rowCount == rows.rowCount && cols.columns == rows.columns)
        for r in 0..<rows.rowCount {
            #expect(cols.rowNumber(r) == rows.rowNumber(r))
            for c in 0..<2 { #expect(cols.cell(r, c) == rows.cell(r, c)) }
        }
        try Data(Array("email,amount\n".utf8) + [0xff, 0xfe, 0x2c, 0x31, 0x0a]).write(to: URL(fileURLWithPath: path))
        #expect(throws: CSVError.notUTF8(line: 2, column: "email")) {
            try CSVReader.readColumnar(path: path, columns: ["email", "amount"])
        }
    }
}
