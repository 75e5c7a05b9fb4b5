// The receiver's output of an enrichment: its own CSV file, every row and column as read, with the
// sender's allowed columns appended (empty for rows whose identifier the sender does not have),
// written atomically. Fields are quoted as RFC 4180 says (when they hold a comma, a quote, CR or LF;
// quotes doubled) and records end in CRLF.
import CleanRoomCSV
import CleanRoomProtocol
import Foundation

public enum EnrichedCSV {
    /// Writes `dataPath`'s rows with `enrichment`'s columns appended to `path`, atomically.
    /// - Throws: `RunnerError` (stage output) when the file cannot be read again, a column name is
    ///   already in its header, or the output cannot be written.
    public static func write(dataPath: String, enrichment: EnrichmentResult, to path: String) throws {
        let table: PartyTable
        do { table = try CSVReader.readAll(path: dataPath) } catch { throw RunnerError(.output, "\(dataPath): \(error)") }
        if let clash = enrichment.columns.first(where: { table.columns.contains($0) }) {
            throw RunnerError(.output, "\(dataPath) already has a column '\(clash)': the enriched file would have it twice")
        }
        let byRow = Dictionary(enrichment.rows.map { ($0.row, $0.values) }, uniquingKeysWith: { first, _ in first })
        let empty = [String](repeating: "", count: enrichment.columns.count)
        var text = record(table.columns + enrichment.columns)
        for (r, row) in table.rows.enumerated() {
            text += record(row + (byRow[table.rowNumber(r)] ?? empty))
        }
        try ResultOutput.writeAtomically(Data(text.utf8), to: path)
    }

    /// What `write` will need, checked before the session connects, so that a run never spends a
    /// session (and its place in `max_sessions`) on a result it cannot write: the path is not the
    /// input itself nor any other file the run reads or writes (`others`: the collaboration file,
    /// `--out`, the ledger), its directory exists and is writable, and no appended column is already
    /// in the input's header.
    /// - Throws: `RunnerError` (stage output) naming the problem.
    public static func check(dataPath: String, columns: [String], path: String, others: [String] = []) throws {
        // The atomic write renames within the path's own directory (a symlink there is replaced,
        // not followed), so that directory is the one that must exist and be writable.
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RunnerError(.output, "--enriched-out \(path): the directory \(directory) does not exist")
        }
        guard FileManager.default.isWritableFile(atPath: directory) else {
            throw RunnerError(.output, "--enriched-out \(path): the directory \(directory) is not writable")
        }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw RunnerError(.output, "--enriched-out \(path) is a directory")
        }
        for other in [dataPath] + others where sameFile(path, other) {
            throw RunnerError(.output, "--enriched-out \(path) is \(other), which this run also uses; choose another path")
        }
        let header: [String]
        do { header = try CSVReader.readHeader(path: dataPath) } catch { throw RunnerError(.output, "\(dataPath): \(error)") }
        if let clash = columns.first(where: { header.contains($0) }) {
            throw RunnerError(.output, "\(dataPath) already has a column '\(clash)': the enriched file would have it twice")
        }
    }

    /// Whether two paths name one file: the same device and inode when both exist, else the same
    /// path once the parent directory's symlinks are resolved.
    static func sameFile(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        if stat(a, &sa) == 0, stat(b, &sb) == 0 { return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino }
        func canonical(_ p: String) -> String {
            let url = URL(fileURLWithPath: p)
            return url.deletingLastPathComponent().resolvingSymlinksInPath().appendingPathComponent(url.lastPathComponent).path
        }
        return canonical(a) == canonical(b)
    }

    static func record(_ fields: [String]) -> String { fields.map(field).joined(separator: ",") + "\r\n" }

    static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
