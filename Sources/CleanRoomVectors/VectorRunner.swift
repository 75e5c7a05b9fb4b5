// Runs every kind of CleanRoom vector file: the cryptographic kinds (CleanRoomCryptoVectors) and
// the golden session transcripts, which need the protocol.
import CleanRoomCryptoVectors
import Foundation

/// Verifies vector files of every kind in the CleanRoom schema (Vectors/README.md).
public enum VectorRunner {
    /// The cryptographic kinds and `transcript`.
    public static let kinds: [String: VectorKindRunner] = CryptoVectorRunner.kinds.merging([
        "transcript": { data in
            try JSONDecoder().decode(CasesFile<TranscriptCase>.self, from: data).cases.map { ($0.id, TranscriptReplay.check($0)) }
        }
    ]) { crypto, _ in crypto }

    /// Every `*.json` file in `directory`, sorted by name.
    /// - Throws: when the folder cannot be listed.
    public static func verify(directory: URL) throws -> [VectorFileResult] {
        try VectorFileRunner.verify(directory: directory, kinds: kinds)
    }

    /// Verifies one file. A file that cannot be read or parsed counts as one failure.
    public static func verify(file: URL) -> VectorFileResult { VectorFileRunner.verify(file: file, kinds: kinds) }

    /// The `Vectors/` folder of the source checkout this binary was built from.
    public static var bundledDirectory: URL { VectorFileRunner.bundledDirectory }
}
