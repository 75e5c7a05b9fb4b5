// `cleanroom vectors`: checks the implementation against the JSON test vectors.
import ArgumentParser
import CleanRoomVectors
import Foundation

struct VectorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vectors",
        abstract: "Test-vector tools.",
        subcommands: [Verify.self]
    )

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run every vector file in a folder and print one line per file, then a total.",
            discussion: "Exits non-zero when any case fails or any file cannot be parsed."
        )

        @Argument(help: "Folder of *.json vector files (default: the bundled Vectors/ folder).")
        var path: String?

        @Flag(name: .long, help: "Also print each failing case.")
        var verbose = false

        func run() throws {
            let directory = path.map { URL(fileURLWithPath: $0) } ?? VectorRunner.bundledDirectory
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("vector folder not found: \(directory.path)")
            }
            let results = try VectorRunner.verify(directory: directory)
            guard !results.isEmpty else { throw ValidationError("no *.json vector files in \(directory.path)") }
            for r in results {
                print(r.summaryLine)
                if verbose || r.failed > 0 && r.failures.count <= 20 {
                    for f in r.failures { print("  \(f)") }
                }
            }
            let passed = results.reduce(0) { $0 + $1.passed }
            let failed = results.reduce(0) { $0 + $1.failed }
            print("total: \(passed) passed, \(failed) failed")
            if failed > 0 { throw ExitCode(1) }
        }
    }
}
