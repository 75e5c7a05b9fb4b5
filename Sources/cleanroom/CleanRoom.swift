// The `cleanroom` command-line tool.
import ArgumentParser

@main
struct CleanRoomCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cleanroom",
        abstract: "A cryptographic data clean room: private set intersection and secure aggregation.",
        subcommands: [VectorsCommand.self, BenchCommand.self]
    )
}
