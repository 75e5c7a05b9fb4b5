// Writes Vectors/transcripts.json: one golden session transcript per analysis kind, from small
// fixed inputs and fixed seeds. Run from the package root: swift run cleanroom-vectorgen [OUT]
// Regenerate only when the protocol changes on purpose, and say so in the change.
// The collaboration, inputs and seeds are in Sources/CleanRoomVectors/GoldenTranscripts.swift.
import CleanRoomVectors
import Foundation

let cases = try GoldenTranscripts.cases()

struct File: Encodable {
    let schema = "cleanroom-vectors/v1"
    let kind = "transcript"
    let description = "Full two-party sessions with seeded randomness: inputs, seeds, every frame in hex, and what each party learned"
    let source = "CleanRoom reference implementation; replay with the seeds and inputs to check a second implementation byte for byte"
    let cases: [TranscriptCase]
}

let out = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "Vectors/transcripts.json"
let encoder = JSONEncoder()
encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
try encoder.encode(File(cases: cases)).write(to: URL(fileURLWithPath: out), options: .atomic)
print("wrote \(cases.count) transcripts (\(cases.map { $0.messages.count }.reduce(0, +)) messages) to \(out)")
