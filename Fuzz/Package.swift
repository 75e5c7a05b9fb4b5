// swift-tools-version: 6.0
// libFuzzer targets for the code that parses peer and counterparty bytes: frames and every message
// payload, the collaboration loader, and a session fed arbitrary frame sequences. A package of its
// own, because libFuzzer's `main` clashes with the CLI's and the tests'. Build and run with
// Fuzz/run.sh (it passes -sanitize=fuzzer,address and -enable-testing to every Swift module).
import PackageDescription

let package = Package(
    name: "CleanRoomFuzz",
    dependencies: [.package(name: "CleanRoom", path: "..")],
    targets: [
        .executableTarget(name: "FuzzFrames", dependencies: [.product(name: "CleanRoomProtocol", package: "CleanRoom")]),
        .executableTarget(name: "FuzzCollaboration", dependencies: [.product(name: "CleanRoomProtocol", package: "CleanRoom")]),
        .executableTarget(name: "FuzzSession", dependencies: [.product(name: "CleanRoomProtocol", package: "CleanRoom")]),
    ]
)
