// Runs vector files in the CleanRoom schema (Vectors/README.md): reads the envelope, hands the file
// to the runner of its kind and counts the cases. The kinds are passed in, so that this module
// needs nothing above CleanRoomCrypto: CryptoVectorRunner brings the cryptographic kinds, and
// CleanRoomVectors adds the transcripts, which replay whole sessions.
import Foundation

/// The outcome of one vector file.
public struct VectorFileResult: Sendable {
    /// File name (without folder).
    public let name: String
    public let passed: Int
    public let failed: Int
    /// One line per failed case (or the parse error), naming the case id.
    public let failures: [String]
    /// The line `cleanroom vectors verify` prints for this file.
    public var summaryLine: String { "\(name): \(passed) passed, \(failed) failed" }
}

/// Runs every case of one kind of file: decodes the whole file and returns each case's id with
/// nil when it passes, else the problem.
public typealias VectorKindRunner = @Sendable (_ file: Data) throws -> [(String, String?)]

/// Verifies vector files with the runners of the kinds it is given.
public enum VectorFileRunner {
    /// Every `*.json` file in `directory`, sorted by name.
    /// - Throws: when the folder cannot be listed.
    public static func verify(directory: URL, kinds: [String: VectorKindRunner]) throws -> [VectorFileResult] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".json") }
            .sorted()
        return names.map { verify(file: directory.appendingPathComponent($0), kinds: kinds) }
    }

    /// Verifies one file. A file that cannot be read or parsed, or whose kind is not in `kinds`,
    /// counts as one failure.
    public static func verify(file: URL, kinds: [String: VectorKindRunner]) -> VectorFileResult {
        let name = file.lastPathComponent
        do {
            let data = try Data(contentsOf: file)
            let envelope = try JSONDecoder().decode(VectorEnvelope.self, from: data)
            guard envelope.schema == "cleanroom-vectors/v1" else {
                throw VectorParseError(description: "unknown schema '\(envelope.schema)'")
            }
            guard let run = kinds[envelope.kind] else { throw VectorParseError(description: "unknown kind '\(envelope.kind)'") }
            let outcomes = try run(data)
            guard !outcomes.isEmpty else { throw VectorParseError(description: "no cases") }
            var seen = Set<String>()
            var failures = [String]()
            for (id, problem) in outcomes {
                if !seen.insert(id).inserted { failures.append("\(id): duplicate case id") }
                if let problem { failures.append("\(id): \(problem)") }
            }
            return VectorFileResult(name: name, passed: outcomes.count - failures.count, failed: failures.count, failures: failures)
        } catch {
            return VectorFileResult(name: name, passed: 0, failed: 1, failures: ["cannot parse: \(describe(error))"])
        }
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let ctx):
            return "missing field '\(key.stringValue)' at \(ctx.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.typeMismatch(_, let ctx), DecodingError.valueNotFound(_, let ctx):
            return "wrong type at \(ctx.codingPath.map(\.stringValue).joined(separator: ".")): \(ctx.debugDescription)"
        case DecodingError.dataCorrupted(let ctx):
            return "malformed JSON: \(ctx.debugDescription)"
        default:
            return "\(error)"
        }
    }

    /// The `Vectors/` folder of the source checkout this binary was built from.
    public static var bundledDirectory: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // CleanRoomCryptoVectors
            .deletingLastPathComponent()  // Sources
            .deletingLastPathComponent()  // package root
            .appendingPathComponent("Vectors")
    }
}
