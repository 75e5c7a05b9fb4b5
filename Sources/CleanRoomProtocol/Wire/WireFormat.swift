// The CleanRoom wire format, version 1 (docs/protocol.md has the byte layout of every message).
// A frame is: version (1 byte) ‖ type (1 byte) ‖ payload length (4 bytes, big-endian) ‖ payload.
// Element batches are fixed-width arrays with a 4-byte count; nothing is framed per element.
// Every decoder checks lengths before reading and is bounded by limits the session derives from
// the policy, so a hostile peer cannot make a party allocate without limit.

/// The protocol version this implementation speaks.
public let cleanRoomProtocolVersion: UInt8 = 1

/// Message types.
public enum MessageType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case hello = 0x01
    case setSize = 0x02
    case p1Elements = 0x10
    case p2Reblinded = 0x11
    case p2Elements = 0x12
    /// Enrichment: the receiver's RFC 9497 blinded elements, the sender's evaluations of them (in
    /// order), and the sender's sealed records (match tag ‖ record, sorted by tag).
    case oprfBlinded = 0x13
    case oprfEvaluated = 0x14
    case enrichmentRecords = 0x15
    case cardinality = 0x20
    case matches = 0x21
    case encryptedSums = 0x22
    case decryptedSums = 0x23
    case done = 0x30
    case abort = 0x7f

    public var description: String {
        switch self {
        case .hello: return "HELLO"
        case .setSize: return "SET_SIZE"
        case .p1Elements: return "P1_ELEMENTS"
        case .p2Reblinded: return "P2_REBLINDED"
        case .p2Elements: return "P2_ELEMENTS"
        case .oprfBlinded: return "OPRF_BLINDED"
        case .oprfEvaluated: return "OPRF_EVALUATED"
        case .enrichmentRecords: return "ENRICHMENT_RECORDS"
        case .cardinality: return "CARDINALITY"
        case .matches: return "MATCHES"
        case .encryptedSums: return "ENCRYPTED_SUMS"
        case .decryptedSums: return "DECRYPTED_SUMS"
        case .done: return "DONE"
        case .abort: return "ABORT"
        }
    }
}

/// One frame on the wire.
public struct Frame: Sendable, Equatable {
    public var type: MessageType
    public var payload: [UInt8]

    public init(type: MessageType, payload: [UInt8]) {
        self.type = type
        self.payload = payload
    }

    /// Header size in bytes.
    public static let headerBytes = 6
    /// Largest payload any message may have (64 MiB). Within it, every decoder bounds counts by
    /// what the session announced and the policy allows before it allocates.
    public static let maxPayloadBytes = 64 << 20

    /// The frame's bytes: header then payload.
    /// The 6 header bytes: version, type, payload length (big-endian).
    public var header: [UInt8] {
        let n = UInt32(payload.count)
        return [
            cleanRoomProtocolVersion, type.rawValue, UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16),
            UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n),
        ]
    }

    public func encoded() -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(Frame.headerBytes + payload.count)
        out += header
        out += payload
        return out
    }
}

/// Splits a byte stream into frames; feed it bytes as they arrive.
public struct FrameDecoder: Sendable {
    private var buffer: [UInt8] = []
    private var start = 0
    /// Largest payload accepted (default: `Frame.maxPayloadBytes`).
    public var maxPayloadBytes: Int

    public init(maxPayloadBytes: Int = Frame.maxPayloadBytes) { self.maxPayloadBytes = maxPayloadBytes }

    /// Appends received bytes.
    public mutating func append(_ bytes: some Collection<UInt8>) {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Bytes received but not yet returned as frames.
    public var pendingBytes: Int { buffer.count - start }

    /// The next complete frame, or nil when more bytes are needed.
    /// - Throws: `malformedMessage` for a wrong version, an unknown type or an oversized length —
    ///   checked from the header alone, before any payload is buffered.
    public mutating func next() throws -> Frame? {
        guard buffer.count - start >= Frame.headerBytes else { return nil }
        let version = buffer[start]
        guard version == cleanRoomProtocolVersion else {
            throw CleanRoomProtocolError.malformedMessage(
                type: "frame", problem: "protocol version \(version), expected \(cleanRoomProtocolVersion)")
        }
        guard let type = MessageType(rawValue: buffer[start + 1]) else {
            throw CleanRoomProtocolError.malformedMessage(
                type: "frame", problem: "unknown message type 0x\(String(buffer[start + 1], radix: 16))")
        }
        let length = Int(buffer[start + 2]) << 24 | Int(buffer[start + 3]) << 16 | Int(buffer[start + 4]) << 8 | Int(buffer[start + 5])
        guard length <= maxPayloadBytes else {
            throw CleanRoomProtocolError.malformedMessage(
                type: type.description, problem: "payload of \(length) bytes exceeds the limit of \(maxPayloadBytes)")
        }
        guard buffer.count - start - Frame.headerBytes >= length else { return nil }
        let payloadStart = start + Frame.headerBytes
        let frame = Frame(type: type, payload: Array(buffer[payloadStart..<(payloadStart + length)]))
        start = payloadStart + length
        if start > 1 << 20 && start * 2 > buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
        return frame
    }
}

/// Appends big-endian fields to a payload.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes += [UInt8(v >> 8), UInt8(truncatingIfNeeded: v)] }
    mutating func u32(_ v: UInt32) {
        bytes += [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }
    mutating func u64(_ v: UInt64) {
        u32(UInt32(v >> 32))
        u32(UInt32(truncatingIfNeeded: v))
    }
    mutating func raw(_ b: some Collection<UInt8>) { bytes += b }
    /// A string of at most 255 UTF-8 bytes with a 1-byte length.
    mutating func str8(_ s: String) {
        let b = Array(s.utf8)
        precondition(b.count <= 255, "str8 longer than 255 bytes")
        u8(UInt8(b.count))
        raw(b)
    }
    /// A string of at most 65535 UTF-8 bytes with a 2-byte length.
    mutating func str16(_ s: String) {
        let b = Array(s.utf8.prefix(65535))
        u16(UInt16(b.count))
        raw(b)
    }
}

/// Reads big-endian fields from a payload, checking every length.
struct ByteReader {
    let bytes: [UInt8]
    var offset = 0
    let type: MessageType

    init(_ frame: Frame) {
        bytes = frame.payload
        type = frame.type
    }

    func fail(_ problem: String) -> CleanRoomProtocolError {
        .malformedMessage(type: type.description, problem: problem)
    }

    var remaining: Int { bytes.count - offset }

    mutating func take(_ n: Int, _ what: String) throws -> ArraySlice<UInt8> {
        guard n >= 0, remaining >= n else { throw fail("truncated: \(what) needs \(n) bytes, \(remaining) left") }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }

    mutating func u8(_ what: String) throws -> UInt8 { try take(1, what).first ?? 0 }
    mutating func u16(_ what: String) throws -> UInt16 {
        let b = try take(2, what)
        return UInt16(b[b.startIndex]) << 8 | UInt16(b[b.startIndex + 1])
    }
    mutating func u32(_ what: String) throws -> UInt32 {
        let b = try take(4, what)
        return b.reduce(0) { $0 << 8 | UInt32($1) }
    }
    mutating func u64(_ what: String) throws -> UInt64 {
        let b = try take(8, what)
        return b.reduce(0) { $0 << 8 | UInt64($1) }
    }
    mutating func str8(_ what: String) throws -> String {
        let n = Int(try u8(what))
        return try utf8(take(n, what), what)
    }
    mutating func str16(_ what: String) throws -> String {
        let n = Int(try u16(what))
        return try utf8(take(n, what), what)
    }
    func utf8(_ b: ArraySlice<UInt8>, _ what: String) throws -> String {
        guard let s = String(validating: b, as: UTF8.self) else { throw fail("\(what) is not UTF-8") }
        return s
    }
    func finish() throws {
        guard remaining == 0 else { throw fail("\(remaining) unexpected trailing bytes") }
    }
}
