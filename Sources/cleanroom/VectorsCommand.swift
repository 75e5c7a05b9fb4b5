// `cleanroom vectors`: checks the implementation against the JSON test vectors.
import ArgumentParser
import CleanRoomCrypto
import CleanRoomCryptoVectors
import CleanRoomVectors
import Foundation

struct VectorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vectors",
        abstract: "Test-vector tools.",
        subcommands: [Verify.self, PaillierExport.self]
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

    struct PaillierExport: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "paillier-export",
            abstract: "Write ciphertexts made by CleanRoom under throwaway keys, for an independent decryptor.",
            discussion: """
                The file holds each key's primes and, for every ciphertext, the signed plaintext it must \
                decrypt to. Check it with: python3 Vectors/tools/paillier_vectors.py crosscheck FILE
                """
        )

        @Option(help: "Output JSON file.")
        var out: String

        @Option(help: "Ciphertexts per key and encryption path.")
        var count: Int = 8

        func run() throws {
            var keys: [String: [String: String]] = [:]
            var items: [[String: String]] = []
            for bits in [2048, 3072] {
                let name = "k\(bits)"
                let sk = try PaillierPrivateKey.generate(bits: bits, window: 4)
                // The same key on the portable path, so both fixed-base kernels are cross-checked
                // where the CPU has IFMA.
                let portable =
                    sk.isAccelerated
                    ? try PaillierPrivateKey(p: sk.secretPrimes.p, q: sk.secretPrimes.q, window: 4, accelerated: false) : nil
                let pk = sk.publicKey
                keys[name] = ["p": sk.secretPrimes.p.hexString, "q": sk.secretPrimes.q.hexString]
                var sum = BigInteger(0)
                var all: [PaillierCiphertext] = []
                for i in 0..<count {
                    var m = try BigInteger.random(below: i == 0 ? pk.maxSignedMagnitude : BigInteger(1).shiftedLeft(64))
                    if i % 2 == 1 { m = -m }
                    var encryptions = [
                        try pk.encrypt(m),
                        try sk.encrypt(m, variableTime: true),
                        try sk.encrypt(m, variableTime: false),
                    ]
                    if let portable { encryptions.append(try portable.encrypt(m, variableTime: true)) }
                    for c in encryptions { items.append(["key": name, "c": c.value.hexString, "m": m.description]) }
                    if i > 0 { sum = sum + m; all.append(encryptions[1]) }
                }
                if let total = pk.sum(all) {
                    items.append(["key": name, "c": try pk.rerandomize(total).value.hexString, "m": sum.description])
                }
            }
            let object: [String: Any] = ["keys": keys, "ciphertexts": items]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            try data.write(to: URL(fileURLWithPath: out), options: .atomic)
            print(
                "wrote \(items.count) ciphertexts to \(out) (key-owner fixed base: "
                    + (PaillierPrivateKey.acceleratedEncryptionAvailable
                        ? "AVX-512 IFMA and portable OpenSSL BN both exported" : "portable OpenSSL BN; this CPU has no IFMA")
                    + ")")
        }
    }
}
