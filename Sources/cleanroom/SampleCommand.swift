// `cleanroom sample`: synthetic advertiser and publisher files.
import ArgumentParser
import CleanRoomRunner
import Foundation

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Write a synthetic advertiser.csv (email, purchase_amount, quantity) and publisher.csv (email, campaign)."
    )

    @Option(help: "Rows per file.")
    var rows: Int = 10_000

    @Option(help: "Fraction of the advertiser's customers the publisher also has (0...1).")
    var overlap: Double = 0.3

    @Option(help: "Folder to write into.")
    var out: String = "sample"

    @Option(help: "Seed; the same seed gives the same files.")
    var seed: UInt64 = 1

    func validate() throws {
        guard rows >= 1 else { throw ValidationError("--rows must be at least 1") }
        guard (0...1).contains(overlap) else { throw ValidationError("--overlap must be between 0 and 1") }
    }

    func run() throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let (a, p) = try SampleData.write(rows: rows, overlap: overlap, seed: seed, to: out)
        print("wrote \(a) and \(p) (\(rows) rows each, \(Int((Double(rows) * overlap).rounded())) shared customers)")
    }
}
