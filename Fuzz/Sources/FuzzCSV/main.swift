// Fuzz target: a party's CSV file, which the other party may have shaped (a shared export, a list
// it sent over). The whole input is the file. It is read as `cleanroom run` reads it
// (`CSVReader.readColumnar`, the columns an analysis needs), then prepared for each side of each
// analysis of a fixed collaboration as `PartySession` prepares it: identifiers normalised, value
// columns parsed as decimals and range-checked, group labels checked, duplicates merged, under both
// bad-row policies. Besides never trapping:
// - the columnar reader over the whole input and the row reader fed a few bytes at a time agree on
//   every cell of every column, line number and error (chunk boundaries inside a BOM, a CRLF or a
//   quoted field change nothing);
// - `bad_rows: skip` never throws and accounts for every row, and agrees with `abort` when `abort`
//   succeeds;
// - the ASCII fast paths of email normalisation and decimal parsing agree with the general ones.
import CFuzzer
import Foundation

@testable import CleanRoomCSV
@testable import CleanRoomProtocol

/// Four analyses whose required columns cover every kind of column a party's file can hold:
/// emails, phone numbers and opaque ids as identifiers, decimal and integer values, group labels.
let collaboration: Collaboration = {
    let yaml = """
        collaboration: fuzz-csv
        parties:
          - name: advertiser
            certificate_sha256: "1111111111111111111111111111111111111111111111111111111111111111"
            listen: 127.0.0.1:7443
          - name: publisher
            certificate_sha256: "2222222222222222222222222222222222222222222222222222222222222222"
        analyses:
          - name: shared-customers
            kind: intersection
            join:
              advertiser: { column: email, normalize: email }
              publisher: { column: email, normalize: email }
            receivers: [advertiser, publisher]
            min_intersection: 1
            set_size:
              advertiser: { min: 1, max: 100000 }
              publisher: { min: 1, max: 100000 }
          - name: spend-by-campaign
            kind: intersection-sum
            join:
              advertiser: { column: email, normalize: email }
              publisher: { column: email, normalize: email }
            values:
              owner: advertiser
              columns:
                - { name: purchase_amount, scale: 2, min: "-100.00", max: "1000.00" }
                - { name: quantity, scale: 0, min: 0, max: 50 }
            group_by: { party: publisher, column: campaign }
            min_group_size: 1
            receivers: [advertiser, publisher]
            min_intersection: 1
            set_size:
              advertiser: { min: 1, max: 100000 }
              publisher: { min: 1, max: 100000 }
          - name: phones
            kind: cardinality
            join:
              advertiser: { column: phone, normalize: phone }
              publisher: { column: phone, normalize: phone }
            receivers: [advertiser]
            min_intersection: 1
            set_size:
              advertiser: { min: 1, max: 100000 }
              publisher: { min: 1, max: 100000 }
          - name: ids
            kind: cardinality
            join:
              advertiser: { column: id, normalize: none }
              publisher: { column: customer id, normalize: none }
            receivers: [publisher]
            min_intersection: 1
            set_size:
              advertiser: { min: 1, max: 100000 }
              publisher: { min: 1, max: 100000 }
        """
    do { return try Collaboration(yaml: yaml) } catch { fatalError("the fuzz collaboration does not load: \(error)") }
}()

/// Every (analysis, party) pair and the columns it reads.
let sides: [(analysis: Analysis, party: String, columns: [String])] = collaboration.analyses.flatMap { a in
    collaboration.parties.map { p in (a, p.name, a.requiredColumns(of: p.name).names) }
}

/// The distinct column lists, each read once per input.
let columnSets: [[String]] = sides.reduce(into: []) { sets, side in if !sets.contains(side.columns) { sets.append(side.columns) } }

/// A source over `input` that fills the reader's buffer as `fread` does.
func source(_ input: UnsafeBufferPointer<UInt8>) -> CSVReader.ByteSource {
    var offset = 0
    return { buffer in
        let n = min(buffer.count, input.count - offset)
        if n > 0 { buffer.baseAddress!.update(from: input.baseAddress! + offset, count: n) }
        offset += n
        return n
    }
}

/// The cells and line numbers of a table, or the error that stopped its reading.
func outcome<Table: PartyData>(_ read: () throws -> Table) -> Result<[[String]], CSVError> {
    do {
        let t = try read()
        return .success((0..<t.rowCount).map { r in ["\(t.rowNumber(r))"] + (0..<t.columns.count).map { t.cell(r, $0) } })
    } catch let error as CSVError {
        return .failure(error)
    } catch {
        fatalError("the reader threw something other than a CSVError: \(error)")
    }
}

func fuzzCSV(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = bytes else { return 0 }
    let input = UnsafeBufferPointer(start: data, count: size)
    // `cleanroom run` asks for 1 MiB at a time, so an input below that arrives in one read and then
    // a read of 0 bytes: a chunk of at least the input's size gives the same sequence.
    let whole = max(size, 1)
    // Every column of the file (none when its header is unusable): asking for a column that no
    // header has makes the reader name the header's columns in its error.
    var all: [String] = []
    do { _ = try CSVReader.readColumnar(name: "input.csv", columns: ["\u{1}"], chunk: whole, from: source(input)) } catch {
        if case CSVError.missingColumns(_, let header) = error { all = header }
    }
    // The row reader reads 1 to 7 bytes at a time, the chunk chosen by the input's size.
    let small = 1 + size % 7
    let a = outcome { try CSVReader.readColumnar(name: "input.csv", columns: all, chunk: whole, from: source(input)) }
    let b = outcome { try CSVReader.read(name: "input.csv", columns: all, chunk: small, from: source(input)) }
    guard a == b else { fatalError("readers disagree on \(all):\ncolumnar, whole input: \(a)\nrows, \(small)-byte reads: \(b)") }
    // What `cleanroom run` reads for each side of each analysis.
    var tables: [[String]: ColumnarTable] = [:]
    for columns in columnSets {
        tables[columns] = try? CSVReader.readColumnar(name: "input.csv", columns: columns, chunk: whole, from: source(input))
    }
    for side in sides {
        guard let table = tables[side.columns] else { continue }
        checkFastPaths(table, side.analysis, side.party)
        prepare(table, side.analysis, side.party)
    }
    return 0
}

/// Prepares `table` under both bad-row policies and checks that they agree.
func prepare(_ table: ColumnarTable, _ analysis: Analysis, _ party: String) {
    var strict = analysis, lenient = analysis
    strict.badRows = .abort
    lenient.badRows = .skip
    let keep = analysis.kind == .intersection
    var source = TableSource(table)
    let aborted: PreparedSet?
    do { aborted = try InputPreparation.prepare(&source, party: party, analysis: strict, keepReferences: keep) } catch {
        guard error is CleanRoomProtocolError else { fatalError("prepare threw something other than a CleanRoomProtocolError: \(error)") }
        aborted = nil
    }
    source = TableSource(table)
    let skipped: PreparedSet
    do { skipped = try InputPreparation.prepare(&source, party: party, analysis: lenient, keepReferences: keep) } catch {
        fatalError("prepare under bad_rows: skip threw: \(error)")
    }
    guard skipped.inputRows == table.rowCount, skipped.usedRows + skipped.skippedRows == table.rowCount else {
        fatalError("skip lost rows: \(table.rowCount) in, \(skipped.usedRows) used, \(skipped.skippedRows) skipped")
    }
    if let aborted {
        guard skipped.skippedRows == 0, aborted.usedRows == skipped.usedRows, Array(aborted.identifiers) == Array(skipped.identifiers),
            aborted.slotValues == skipped.slotValues, aborted.groupLabels == skipped.groupLabels
        else { fatalError("abort succeeded but skip prepared something else") }
    } else {
        guard skipped.skippedRows > 0 else { fatalError("abort failed but skip skipped nothing") }
    }
}

/// The ASCII shortcuts against the general rules they stand for, on every cell they would see.
func checkFastPaths(_ table: ColumnarTable, _ analysis: Analysis, _ party: String) {
    let join = analysis.joinColumn(of: party)
    let columns = analysis.requiredColumns(of: party)
    for r in 0..<table.rowCount {
        if join.normalize == .email, let id = table.columns.firstIndex(of: join.column) {
            let cell = table.cell(r, id)
            if let fast = Normalization.asciiEmail(cell), fast != Normalization.generalEmail(cell) {
                fatalError("email fast path \(fast) differs from the general rule \(Normalization.generalEmail(cell))")
            }
        }
        for value in columns.values {
            guard let c = table.columns.firstIndex(of: value.name) else { continue }
            let fast = table.withCellBytes(r, c) { DecimalParser.parse(asciiBytes: $0, scale: value.scale) }
            let general = DecimalParser.parse(table.cell(r, c).trimmingCharacters(in: .whitespaces), scale: value.scale)
            switch fast {
            case .value(let v): guard general == v else { fatalError("decimal fast path \(v), general \(String(describing: general))") }
            case .malformed: guard general == nil else { fatalError("decimal fast path malformed, general \(general!)") }
            case .notASCII: break
            }
        }
    }
}

var arguments = CommandLine.argc
var vector: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&arguments, &vector, fuzzCSV))
