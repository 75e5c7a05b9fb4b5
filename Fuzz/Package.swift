// swift-tools-version: 6.0
// libFuzzer targets for the code that parses peer and counterparty bytes: frames and every message
// payload, the collaboration loader, a session fed arbitrary frame sequences, and a party's CSV
// file with the input preparation after it (CleanRoomCSV, so no NIO is built). A package of its
// own, because libFuzzer's `main` clashes with the CLI's and the tests'; each target's own main
// calls libFuzzer's driver (CFuzzer). Build and run with Fuzz/run.sh (it passes
// -sanitize=fuzzer,address and -enable-testing to every Swift module).
import PackageDescription

let package = Package(
    name: "CleanRoomFuzz",
    dependencies: [.package(name: "CleanRoom", path: "..")],
    targets: [
        .target(name: "CFuzzer"),
        .executableTarget(name: "FuzzFrames", dependencies: ["CFuzzer", .product(name: "CleanRoomProtocol", package: "CleanRoom")]),
        .executableTarget(name: "FuzzCollaboration", dependencies: ["CFuzzer", .product(name: "CleanRoomProtocol", package: "CleanRoom")]),
        .executableTarget(name: "FuzzSession", dependencies: ["CFuzzer", .product(name: "CleanRoomProtocol", package: "CleanRoom")]),
        .executableTarget(
            name: "FuzzCSV",
            dependencies: [
                "CFuzzer", .product(name: "CleanRoomCSV", package: "CleanRoom"), .product(name: "CleanRoomProtocol", package: "CleanRoom"),
            ]),
    ],
    // Top-level fuzz entry points and their read-only globals, in the Swift 5 language mode.
    swiftLanguageModes: [.v5]
)
