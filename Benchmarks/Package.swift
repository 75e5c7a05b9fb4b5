// swift-tools-version: 6.1
// Micro-benchmarks for CleanRoom on ordo-one/package-benchmark, kept in their own package so the
// harness (and its malloc interposer) stays out of the main build.
// Run from this folder: swift package benchmark   (or: swift package benchmark --filter blind)
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its folder, so find out what the checkout is called.
let rootIdentity = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent.lowercased()

let package = Package(
    name: "CleanRoomBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "CryptoBenchmarks",
            dependencies: [
                .product(name: "CleanRoomCrypto", package: rootIdentity),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/CryptoBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
