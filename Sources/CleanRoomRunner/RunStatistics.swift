// Measurements of one `cleanroom run`, for `cleanroom bench psi`: stage times, traffic, CPU and
// peak memory of this process.
import Foundation

/// Collects stage transitions and traffic from progress reports.
public final class RunStatistics: @unchecked Sendable {
    private let lock = NSLock()
    private let start = ContinuousClock.now
    private var stage = "connecting and TLS handshake"
    private var stageStart = ContinuousClock.now
    private var stages: [Stage] = []
    private var last = RunProgress(stage: "", framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0)

    /// - Parameter stage: the name of the stage that starts now.
    public init(stage: String = "connecting and TLS handshake") {
        self.stage = stage
    }

    /// Ends the current stage and starts one named `next` (for stages before the session reports).
    public func mark(_ next: String) {
        record(RunProgress(stage: next, framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0))
    }

    /// Records a progress report (call from the progress callback).
    public func record(_ p: RunProgress) {
        lock.withLock {
            last = p
            if p.stage != stage {
                let now = ContinuousClock.now
                stages.append(Stage(stage: stage, seconds: (now - stageStart).seconds, peakResidentBytes: Self.peakResident()))
                stage = p.stage
                stageStart = now
            }
        }
    }

    /// The measurements so far, as a JSON-ready document.
    public func document() -> Document {
        lock.withLock {
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            let now = ContinuousClock.now
            let peak = Self.peakResident()
            let all = stages + [Stage(stage: stage, seconds: (now - stageStart).seconds, peakResidentBytes: peak)]
            return Document(
                wallSeconds: (now - start).seconds,
                cpuUserSeconds: Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6,
                cpuSystemSeconds: Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6,
                peakResidentBytes: peak,
                bytesIn: last.bytesIn, bytesOut: last.bytesOut, framesIn: last.framesIn, framesOut: last.framesOut,
                peakQueuedBytes: last.queuedBytesPeak,
                stages: all)
        }
    }

    /// Peak resident memory of this process so far, in bytes. On Linux this is VmHWM from
    /// /proc/self/status: `getrusage`'s ru_maxrss survives execve, so a process started by a
    /// large parent (as `bench psi` starts both parties) would report the parent's peak.
    public static func peakResident() -> Int {
        #if os(Linux)
            if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
                let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
                let kb = Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
            {
                return kb * 1024
            }
        #endif
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #if os(Linux)
            return Int(usage.ru_maxrss) * 1024
        #else
            return Int(usage.ru_maxrss)  // bytes on Darwin
        #endif
    }

    public struct Stage: Codable, Sendable {
        public var stage: String
        public var seconds: Double
        /// Peak resident memory when the stage ended (so the stage where the peak was reached
        /// is the first whose value equals the process's peak).
        public var peakResidentBytes: Int?

        enum CodingKeys: String, CodingKey {
            case stage, seconds
            case peakResidentBytes = "peak_resident_bytes"
        }
    }

    public struct Document: Codable, Sendable {
        public var wallSeconds: Double
        public var cpuUserSeconds: Double
        public var cpuSystemSeconds: Double
        public var peakResidentBytes: Int
        public var bytesIn: Int
        public var bytesOut: Int
        public var framesIn: Int
        public var framesOut: Int
        /// Most received bytes waiting to be processed at once.
        public var peakQueuedBytes: Int?
        public var stages: [Stage]

        enum CodingKeys: String, CodingKey {
            case wallSeconds = "wall_seconds"
            case cpuUserSeconds = "cpu_user_seconds"
            case cpuSystemSeconds = "cpu_system_seconds"
            case peakResidentBytes = "peak_resident_bytes"
            case bytesIn = "bytes_in"
            case bytesOut = "bytes_out"
            case framesIn = "frames_in"
            case framesOut = "frames_out"
            case peakQueuedBytes = "peak_queued_bytes"
            case stages
        }
    }
}

extension Duration {
    /// The duration in seconds.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
