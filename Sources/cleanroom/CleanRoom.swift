// The `cleanroom` command-line tool.
import ArgumentParser

@main
struct CleanRoomCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cleanroom",
        abstract: "A cryptographic data clean room: private set intersection and secure aggregation.",
        subcommands: [
            DemoCommand.self, RunCommand.self, KeysCommand.self, SampleCommand.self, CollaborationCommand.self,
            VectorsCommand.self, BenchCommand.self, AuditCommand.self, BudgetCommand.self,
        ]
    )
}
