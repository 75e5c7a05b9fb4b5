// Per-operation benchmarks of CleanRoom's primitives beside the raw OpenSSL X25519 operation.
// `cleanroom bench crypto` prints the same operations as ratios from one run; this target gives
// package-benchmark's statistics (percentiles, allocations) for regression tracking.
import Benchmark
import CleanRoomCrypto

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        maxDuration: .seconds(2), maxIterations: 1_000_000)
    let batch = 1024

    Benchmark("x25519 raw derive (openssl speed loop)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try X25519Baseline.deriveFixedPeer(iterations: 1))
        }
    }

    Benchmark("blind batch of 1024 (per element)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let key = try BlindingKey()
        let hasher = try HashToCurve25519()
        let points = try (0..<batch).flatMap { try hasher.hashToU(Array("user\($0)@example.com".utf8)) }
        var out = [UInt8](repeating: 0, count: points.count)
        benchmark.startMeasurement()
        for _ in 0..<(benchmark.scaledIterations.count / batch + 1) {
            try points.withUnsafeBytes { i in try out.withUnsafeMutableBytes { try key.blindBatch(i, into: $0) } }
        }
        blackHole(out)
    }

    Benchmark("hash_to_curve one element", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let hasher = try HashToCurve25519()
        let message = Array("alice@example.com".utf8)
        for _ in benchmark.scaledIterations {
            blackHole(try hasher.hashToU(message))
        }
    }

    for bits in [2048, 3072] {
        // One key per size, built before any measurement and kept alive across them (key
        // generation and table teardown would otherwise land inside the measured region).
        let sk = try! PaillierPrivateKey.generate(bits: bits)
        let pk = sk.publicKey
        let a = try! sk.encrypt(BigInteger(1), variableTime: true)
        let b = try! sk.encrypt(BigInteger(2), variableTime: true)
        Benchmark("paillier-\(bits) encrypt textbook") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try pk.encrypt(BigInteger(42))) }
        }
        Benchmark("paillier-\(bits) encrypt key owner") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try sk.encrypt(BigInteger(42), variableTime: true)) }
        }
        Benchmark("paillier-\(bits) add", configuration: .init(scalingFactor: .kilo)) { benchmark in
            for _ in benchmark.scaledIterations { blackHole(pk.add(a, b)) }
        }
        Benchmark("paillier-\(bits) decrypt") { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try sk.decrypt(a)) }
        }
    }
}
