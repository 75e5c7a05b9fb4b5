// `cleanroom bench`: performance measurements, reported as ratios within one run so that
// machine noise cancels.
import ArgumentParser
import CleanRoomCSV
import CleanRoomCrypto
import CleanRoomRunner
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (build with -c release for meaningful numbers).",
        subcommands: [Crypto.self, CSV.self, PSI.self, X25519Check.self, HashCheck.self]
    )

    struct Crypto: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per-operation cost of the primitives beside raw OpenSSL X25519 and textbook Paillier."
        )

        @Option(help: "Minimum seconds to spend on each measurement.")
        var seconds: Double = 1.0

        @Option(help: "Paillier modulus sizes to measure (2048, 3072).")
        var paillierBits: [Int] = [2048, 3072]

        @Option(help: "Fixed-base window width for key-owner Paillier encryption.")
        var window: Int = 8

        @Flag(help: "Print the table as JSON instead of text.")
        var json = false

        func run() throws {
            var rows: [BenchRow] = []
            func add(_ name: String, _ perOp: Double, _ note: String = "") {
                rows.append(BenchRow(operation: name, microseconds: perOp * 1e6, note: note))
                if !json {
                    let padded = name.padding(toLength: max(60, name.count), withPad: " ", startingAt: 0)
                    print(padded + String(format: "%12.2f µs/op %10.0f op/s  ", perOp * 1e6, 1 / perOp) + note)
                }
            }
            if !json { print("cleanroom bench crypto — single thread; X25519 rows: medians of 5 interleaved rounds in \(seconds) s\n") }

            // X25519 baselines, hash-to-curve and blinding, measured in interleaved rounds so that
            // each ratio compares runs made moments apart (the median of the per-round ratios).
            let key = try BlindingKey()
            let portableKey = try BlindingKey(accelerated: false)
            let batch = 4096
            let hasher = try HashToCurve25519()
            let gmpHasher = try HashToCurve25519(accelerated: false)
            let messages = (0..<batch).map { Array("user\($0)@example.com".utf8) }
            let flat = messages.flatMap { $0 }
            var offsets = [0]
            for m in messages { offsets.append(offsets.last! + m.count) }
            var points = [UInt64](repeating: 0, count: 4 * batch)
            var scratch = [UInt64](repeating: 0, count: 8 * batch)
            var blinded = [UInt8](repeating: 0, count: 32 * batch)
            let rounds = 5
            var samples = [[Double]](repeating: [], count: 7)
            for _ in 0..<rounds {
                let slice = seconds / Double(rounds)
                samples[0].append(try measure(slice) { n in _ = try X25519Baseline.deriveFixedPeer(iterations: n) })
                samples[1].append(try measure(slice) { n in _ = try X25519Baseline.deriveNewPeer(iterations: n) })
                for (slot, h) in [(2, hasher), (6, gmpHasher)] {
                    samples[slot].append(
                        try measure(slice, unit: batch) { n in
                            try flat.withUnsafeBytes { all in
                                try points.withUnsafeMutableBytes { out in
                                    try scratch.withUnsafeMutableBytes { scr in
                                        for _ in 0..<n {
                                            try h.hashToUBatch(
                                                count: batch,
                                                message: { UnsafeRawBufferPointer(rebasing: all[offsets[$0]..<offsets[$0 + 1]]) },
                                                output: out,
                                                scratch: scr)
                                        }
                                    }
                                }
                            }
                        })
                }
                samples[3].append(try measure(slice) { n in for i in 0..<n { _ = try hasher.hashToU(messages[i % batch]) } })
                for (slot, k) in [(4, key), (5, portableKey)] {
                    samples[slot].append(
                        try measure(slice, unit: batch) { n in
                            for _ in 0..<n {
                                try points.withUnsafeBytes { i in try blinded.withUnsafeMutableBytes { try k.blindBatch(i, into: $0) } }
                            }
                        })
                }
            }
            func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
            func ratio(_ i: Int) -> Double { median(zip(samples[i], samples[0]).map { $0 / $1 }) }
            add("x25519 raw (openssl speed ecdhx25519 loop)", median(samples[0]))
            add("x25519 raw, new peer key per op", median(samples[1]), String(format: "%.3f× raw x25519", ratio(1)))
            if hasher.isAccelerated {
                add(
                    "hash_to_curve (RO, AVX-512 IFMA 8 lanes), batch of \(batch)", median(samples[2]),
                    String(format: "%.3f× raw x25519 (target ≤ 0.25×)", ratio(2)))
            } else {
                add(
                    "hash_to_curve (RO, GMP; IFMA unavailable or disabled), batch of \(batch)", median(samples[2]),
                    String(format: "%.3f× raw x25519", ratio(2)))
            }
            add(
                "hash_to_curve (RO, GMP, accelerated: false), batch of \(batch)", median(samples[6]),
                String(format: "%.3f× raw x25519", ratio(6)))
            add("hash_to_curve (RO), one at a time", median(samples[3]), String(format: "%.3f× raw x25519", ratio(3)))
            if key.isAccelerated {
                add(
                    "blind (X25519, AVX-512 IFMA 8 lanes), batch of \(batch)", median(samples[4]),
                    String(format: "%.3f× raw x25519 (target ≤ 0.45×)", ratio(4)))
            } else {
                add(
                    "blind (X25519 via EVP; IFMA unavailable or disabled), batch of \(batch)", median(samples[4]),
                    String(format: "%.3f× raw x25519", ratio(4)))
            }
            add(
                "blind (X25519 via EVP, accelerated: false), batch of \(batch)", median(samples[5]),
                String(format: "%.3f× raw x25519", ratio(5)))

            // RFC 9497 OPRF on ristretto255 (enrichment), per element, batches of 1,024, on the
            // IFMA kernels (when the CPU has them) and on libsodium.
            let oprfBatch = 1024
            let oprfInputs = (0..<oprfBatch).map { Array("user\($0)@example.com".utf8) }
            for accelerated in X25519Lanes.isAvailable ? [true, false] : [false] {
                let path = accelerated ? "AVX-512 IFMA 8 lanes" : "libsodium"
                let oprfKey = try OPRFServerKey(accelerated: accelerated)
                let oprfClient = try OPRFClientBatch(inputs: oprfInputs, accelerated: accelerated)
                let evaluatedElements = try oprfKey.blindEvaluate(oprfClient.blindedElements)
                let blindCost = try measure(seconds, unit: oprfBatch) { n in
                    for _ in 0..<n { _ = try OPRFClientBatch(inputs: oprfInputs, accelerated: accelerated) }
                }
                let evalCost = try measure(seconds, unit: oprfBatch) { n in
                    for _ in 0..<n { _ = try oprfKey.blindEvaluate(oprfClient.blindedElements) }
                }
                let finalizeCost = try measure(seconds, unit: oprfBatch) { n in
                    for _ in 0..<n { _ = try oprfClient.finalize(evaluatedElements) }
                }
                let directCost = try measure(seconds, unit: oprfBatch) { n in for _ in 0..<n { _ = try oprfKey.evaluate(oprfInputs) } }
                for (name, cost) in [
                    ("oprf blind (hash_to_group, r·P, r⁻¹), \(path), batch of \(oprfBatch)", blindCost),
                    ("oprf blind-evaluate (validate, k·P), \(path), batch of \(oprfBatch)", evalCost),
                    ("oprf finalize (validate, r⁻¹·Z, SHA-512), \(path), batch of \(oprfBatch)", finalizeCost),
                    ("oprf evaluate (sender's own rows), \(path), batch of \(oprfBatch)", directCost),
                ] {
                    add(name, cost, String(format: "%.3f× raw x25519", cost / median(samples[0])))
                }
            }
            let recordCipher = try EnrichmentRecordCipher(context: Array("bench".utf8), payloadWidth: 32)
            let prfOutput = try SecureRandom.bytes(64)
            let payload = [UInt8](repeating: 0x61, count: 20)
            let sealCost = try measure(seconds) { n in for _ in 0..<n { _ = try recordCipher.seal(payload, prfOutput: prfOutput) } }
            add(
                "enrichment record seal (HKDF + AES-256-GCM, width 32)", sealCost,
                String(format: "%.3f× raw x25519", sealCost / median(samples[0])))

            // Group tags of grouped intersection-sum (EC-ElGamal on ristretto255): P1 seals and
            // opens one per own element, P2 re-randomises one per P1 element. Batches of 256 tags,
            // as sessions hand them over, on the IFMA kernels (when the CPU has them) and libsodium.
            let tagBatch = 256
            for accelerated in GroupTag.isAccelerated ? [true, false] : [false] {
                let path = accelerated ? "AVX-512 IFMA 8 lanes" : "libsodium"
                let tagKey = try GroupTagKey(groupCount: 16, accelerated: accelerated)
                let rerandomizer = try GroupTagRerandomizer(publicKey: tagKey.publicKey, accelerated: accelerated)
                var tags = [UInt8](repeating: 0, count: GroupTag.tagBytes * tagBatch)
                let groups = (0..<tagBatch).map { UInt32($0 & 15) }
                let tagSeal = try measure(seconds, unit: tagBatch) { n in
                    try tags.withUnsafeMutableBufferPointer { t in
                        try groups.withUnsafeBufferPointer { g in
                            for _ in 0..<n { try tagKey.seal(groups: g, into: t.baseAddress!, stride: GroupTag.tagBytes) }
                        }
                    }
                }
                let tagRerandomize = try measure(seconds, unit: tagBatch) { n in
                    try tags.withUnsafeMutableBufferPointer { t in
                        for _ in 0..<n { try rerandomizer.rerandomize(t.baseAddress!, stride: GroupTag.tagBytes, count: tagBatch) }
                    }
                }
                let tagOpen = try measure(seconds, unit: tagBatch) { n in
                    try tags.withUnsafeBufferPointer { t in
                        for _ in 0..<n { _ = try tagKey.open(t.baseAddress!, stride: GroupTag.tagBytes, count: tagBatch) }
                    }
                }
                for (name, cost) in [
                    ("group tag seal (P1; r·B and k·B, \(path))", tagSeal),
                    ("group tag re-randomise (P2; decode 2, s·B + s·Y, encode 2, \(path))", tagRerandomize),
                    ("group tag open (P1; decode 2, c2 − y·c1, encode, look up, \(path))", tagOpen),
                ] {
                    add(name, cost, String(format: "%.3f× raw x25519", cost / median(samples[0])))
                }
            }

            // Paillier.
            for bits in paillierBits {
                let start = ContinuousClock.now
                let sk = try PaillierPrivateKey.generate(bits: bits, window: window)
                let keygen = (ContinuousClock.now - start).seconds
                add("paillier-\(bits) keygen + tables (once per session)", keygen)
                let pk = sk.publicKey
                let m = BigInteger(123_456_789)
                let textbook = try measure(seconds) { n in for _ in 0..<n { _ = try pk.encrypt(m) } }
                add("paillier-\(bits) encrypt, textbook (1+mn)·r^n", textbook)
                let owner = try measure(seconds) { n in for _ in 0..<n { _ = try sk.encrypt(m, variableTime: true) } }
                add(
                    "paillier-\(bits) encrypt, key owner\(sk.isAccelerated ? ", IFMA" : "") (CRT + fixed base)", owner,
                    String(format: "%.1f× faster than textbook", textbook / owner))
                if sk.isAccelerated {
                    let primes = sk.secretPrimes
                    let portable = try PaillierPrivateKey(p: primes.p, q: primes.q, window: window, accelerated: false)
                    let ownerBN = try measure(seconds) { n in for _ in 0..<n { _ = try portable.encrypt(m, variableTime: true) } }
                    add(
                        "paillier-\(bits) encrypt, key owner, portable (OpenSSL BN)", ownerBN,
                        String(format: "%.1f× faster than textbook", textbook / ownerBN))
                }
                let ownerCT = try measure(seconds) { n in for _ in 0..<n { _ = try sk.encrypt(m, variableTime: false) } }
                add(
                    "paillier-\(bits) encrypt, key owner, constant time", ownerCT,
                    String(format: "%.1f× faster than textbook", textbook / ownerCT))
                let c1 = try sk.encrypt(m, variableTime: true), c2 = try sk.encrypt(m, variableTime: true)
                let addT = try measure(seconds) { n in for _ in 0..<n { _ = pk.add(c1, c2) } }
                add("paillier-\(bits) add", addT)
                // P1's unit check on every received ciphertext (running product mod n).
                let unitCheck = try PaillierUnitCheck(key: pk)
                let c1Bytes = pk.serialize(c1)
                let unitT = try measure(seconds) { n in c1Bytes.withUnsafeBytes { for _ in 0..<n { unitCheck.add($0) } } }
                add("paillier-\(bits) unit check, per received ciphertext", unitT)
                let dec = try measure(seconds) { n in for _ in 0..<n { _ = try sk.decrypt(c1) } }
                add("paillier-\(bits) decrypt (CRT, powm_sec)", dec)
                let rer = try measure(seconds) { n in for _ in 0..<n { _ = try pk.rerandomize(c1) } }
                add("paillier-\(bits) re-randomise (public)", rer)
                // The key owner's proof that gcd(n, φ(n)) = 1, made and checked once per key.
                let context = [UInt8](repeating: 0xa5, count: 32)
                let rounds = PaillierModulusProof.rounds
                let size = PaillierModulusProof.encodedLength(modulusBytes: pk.modulusBytes)
                let proveT = try measure(seconds) { n in
                    for _ in 0..<n { _ = try PaillierModulusProof.prove(privateKey: sk, context: context) }
                }
                add("paillier-\(bits) modulus proof: prove (\(rounds) CRT roots + self-check)", proveT, "once per key; \(size) bytes")
                let proof = try PaillierModulusProof.prove(privateKey: sk, context: context)
                let verifyT = try measure(seconds) { n in for _ in 0..<n { try proof.verify(publicKey: pk, context: context) } }
                add("paillier-\(bits) modulus proof: verify (\(rounds) × σ^n mod n)", verifyT, "once per peer key")
            }
            if json {
                let data = try JSONEncoder().encode(rows)
                print(String(decoding: data, as: UTF8.self))
            }
        }
    }
}

extension BenchCommand {
    struct CSV: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "csv",
            abstract: "CSV ingest rate on a generated 3-column file (email, purchase_amount, quantity)."
        )

        @Option(help: "Rows to generate.")
        var rows: Int = 1_000_000

        func run() throws {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("cleanroom-bench-\(getpid()).csv").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            var text = "email,purchase_amount,quantity\r\n"
            text.reserveCapacity(rows * 40)
            for i in 0..<rows {
                text += i % 10 == 0 ? "\"User \(i), \"\"Jr\"\"@example.com\"" : "user\(i)@example.com"
                text += ",\(i % 10000).\(i % 100),\(i % 7)\r\n"
            }
            try text.write(toFile: path, atomically: false, encoding: .utf8)
            let bytes = text.utf8.count
            text = ""
            var best = Double.infinity
            var count = 0
            for _ in 0..<3 {
                let start = ContinuousClock.now
                let table = try CSVReader.read(path: path, columns: ["email", "purchase_amount", "quantity"])
                best = min(best, (ContinuousClock.now - start).seconds)
                count = table.rows.count
            }
            print(
                String(
                    format: "csv: %d rows (%.1f MB) in %.3f s: %.0f rows/s (best of 3)", count, Double(bytes) / 1e6, best,
                    Double(count) / best))
        }
    }
}

struct BenchRow: Codable {
    let operation: String
    let microseconds: Double
    let note: String
}

/// Seconds per operation: runs `body(n)` with growing n until `minSeconds` have passed.
/// `unit` is the number of operations one count of `n` performs.
func measure(_ minSeconds: Double, unit: Int = 1, _ body: (Int) throws -> Void) throws -> Double {
    try body(1)  // warm-up
    var n = 1
    while true {
        let start = ContinuousClock.now
        try body(n)
        let elapsed = (ContinuousClock.now - start).seconds
        if elapsed >= minSeconds { return elapsed / Double(n * unit) }
        n = elapsed <= 0 ? n * 10 : max(n * 2, Int(Double(n) * minSeconds / elapsed * 1.1) + 1)
    }
}
