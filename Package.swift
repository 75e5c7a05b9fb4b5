// swift-tools-version: 6.0
// CleanRoom: a cryptographic data clean room engine.
// Layers (one direction of dependency): cleanroom (CLI) -> CleanRoomRunner -> CleanRoomCSV ->
// CleanRoomProtocol -> CleanRoomCrypto -> C system libraries (docs/architecture.md).
// The benchmark package lives in Benchmarks/ so that its harness stays out of the default build.
import PackageDescription

let package = Package(
    name: "CleanRoom",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "CleanRoomCrypto", targets: ["CleanRoomCrypto"]),
        .library(name: "CleanRoomProtocol", targets: ["CleanRoomProtocol"]),
        .library(name: "CleanRoomCSV", targets: ["CleanRoomCSV"]),
        .executable(name: "cleanroom", targets: ["cleanroom"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.30.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
    ],
    targets: [
        // OpenSSL 3 libcrypto (Debian: libssl-dev).
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]
        ),
        // GNU MP (Debian: libgmp-dev).
        .systemLibrary(
            name: "CGMP",
            providers: [.apt(["libgmp-dev"]), .brew(["gmp"])]
        ),
        // SQLite 3 (Debian: libsqlite3-dev): each party's own state (frozen collaborations; the
        // privacy ledger will live beside them).
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"]), .brew(["sqlite"])]
        ),
        // libsodium (Debian: libsodium-dev): ristretto255 for the RFC 9497 OPRF (enrichment).
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"]), .brew(["libsodium"])]
        ),
        // Small C shim: OpenSSL/GMP macros, a wiping allocator for GMP, and the AVX-512 IFMA kernels.
        // The kernels are compiled with -O2 in debug builds too: unoptimised, the X25519 kernel is
        // about 60 times slower (10× OpenSSL), which tripled the debug test suite, and its ladder's
        // stack frame grows from 2 KiB to hundreds of KiB. (unsafeFlags: fine for a root package.)
        .target(
            name: "CCleanRoomShim",
            dependencies: ["COpenSSL", "CGMP"],
            cSettings: [.unsafeFlags(["-O2"], .when(configuration: .debug))]
        ),
        .target(
            name: "CleanRoomCrypto",
            dependencies: ["COpenSSL", "CGMP", "CCleanRoomShim", "CSodium"]
        ),
        // Collaboration files, policy, wire format and session state machines (no I/O).
        .target(
            name: "CleanRoomProtocol",
            dependencies: ["CleanRoomCrypto", .product(name: "Yams", package: "Yams")]
        ),
        // The CSV reader: a party's data file into the protocol's tables. Apart from the runner so
        // that its fuzz target (Fuzz/) builds without NIO.
        .target(
            name: "CleanRoomCSV",
            dependencies: ["CleanRoomProtocol"]
        ),
        // Everything else that touches files, processes and the network: identities, transport, results.
        .target(
            name: "CleanRoomRunner",
            dependencies: [
                "CleanRoomCSV", "CleanRoomProtocol", "CleanRoomCrypto", "CCleanRoomShim", "CSQLite",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Runs the cryptographic JSON test vectors in Vectors/ (schema in Vectors/README.md), with
        // nothing above CleanRoomCrypto.
        .target(
            name: "CleanRoomCryptoVectors",
            dependencies: ["CleanRoomCrypto"]
        ),
        // Runs every vector file: the cryptographic kinds and the golden session transcripts.
        .target(
            name: "CleanRoomVectors",
            dependencies: ["CleanRoomCryptoVectors", "CleanRoomCrypto", "CleanRoomProtocol"]
        ),
        // Developer tool that writes the golden transcripts in Vectors/ (not shipped in the CLI).
        .executableTarget(
            name: "cleanroom-vectorgen",
            dependencies: ["CleanRoomVectors", "CleanRoomProtocol", "CleanRoomCrypto"]
        ),
        .executableTarget(
            name: "cleanroom",
            dependencies: [
                "CleanRoomCrypto",
                "CleanRoomProtocol",
                "CleanRoomCSV",
                "CleanRoomRunner",
                "CleanRoomCryptoVectors",
                "CleanRoomVectors",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Test-only helpers the test targets share: the fixture collaboration, synthetic datasets,
        // in-memory sessions. A regular target, since test targets cannot depend on one another; no
        // product or shipped target depends on it (the underscore says it is not API).
        .target(
            name: "_CleanRoomTestSupport",
            dependencies: ["CleanRoomProtocol", "CleanRoomCrypto"]
        ),
        .testTarget(
            name: "CleanRoomCSVTests",
            dependencies: ["CleanRoomCSV", "CleanRoomProtocol"]
        ),
        .testTarget(
            name: "CleanRoomRunnerTests",
            dependencies: ["CleanRoomRunner", "CleanRoomCSV", "CleanRoomProtocol", "CleanRoomCrypto", "cleanroom"]
        ),
        .testTarget(
            name: "CleanRoomProtocolTests",
            dependencies: ["CleanRoomProtocol", "CleanRoomCrypto", "CleanRoomCryptoVectors", "CleanRoomVectors", "_CleanRoomTestSupport"]
        ),
        // Nothing above CleanRoomCrypto: the transcript vectors are tested with the protocol.
        .testTarget(
            name: "CleanRoomCryptoTests",
            dependencies: ["CleanRoomCrypto", "CleanRoomCryptoVectors"]
        ),
    ]
)
