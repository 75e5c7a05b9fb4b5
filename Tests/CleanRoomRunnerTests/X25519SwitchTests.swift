import CleanRoomCrypto
import Foundation
import Testing

/// `cleanroom bench x25519-check` as a process: the IFMA kernel agrees with OpenSSL, and
/// CLEANROOM_DISABLE_IFMA=1 switches the kernel off (the process reads it once, at first use).
@Suite struct X25519SwitchTests {
    static func run(_ args: [String], environment extra: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TwoProcessTests.binary)
        process.arguments = args
        process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test(.enabled(if: X25519Lanes.isAvailable, "this CPU lacks AVX-512 IFMA: the kernel cannot run here"))
    func checkCommandPassesWithTheKernel() throws {
        let r = try Self.run(["bench", "x25519-check", "--pairs", "3000"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains(" 0 mismatches"), "\(r.output)")
    }

    @Test func disableSwitchTurnsTheKernelOff() throws {
        let r = try Self.run(["bench", "x25519-check", "--pairs", "8"], environment: ["CLEANROOM_DISABLE_IFMA": "1"])
        #expect(r.status != 0)
        #expect(r.output.contains("not available"), "\(r.output)")
    }
}

/// `cleanroom bench h2c-check` as a process: the IFMA hash-to-curve kernel agrees with the GMP path,
/// and CLEANROOM_DISABLE_IFMA=1 switches it off.
@Suite struct HashToCurveSwitchTests {
    @Test(
        .enabled(if: X25519Lanes.isAvailable, "this CPU lacks AVX-512 IFMA (or CLEANROOM_DISABLE_IFMA is set): the kernel cannot run here"))
    func checkCommandPassesWithTheKernel() throws {
        let r = try X25519SwitchTests.run(["bench", "h2c-check", "--messages", "3000"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains(" 0 mismatches"), "\(r.output)")
    }

    @Test func disableSwitchTurnsTheKernelOff() throws {
        let r = try X25519SwitchTests.run(["bench", "h2c-check", "--messages", "8"], environment: ["CLEANROOM_DISABLE_IFMA": "1"])
        #expect(r.status != 0)
        #expect(r.output.contains("not available"), "\(r.output)")
    }
}
