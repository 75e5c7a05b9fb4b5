// The payload of an enrichment record: the sender's allowed cells of one row, each as a 2-byte
// big-endian length and its UTF-8 bytes, in the policy's column order. The record cipher pads it to
// the policy's fixed width (`EnrichmentSpec.payloadWidth`).
import CleanRoomCrypto

enum EnrichmentPayload {
    /// The cells of an opened payload, or nil when it does not parse under `columns` (lengths beyond
    /// a column's width, bytes left over, or text that is not UTF-8): only a dishonest sender
    /// produces that.
    static func decode(_ payload: [UInt8], columns: [EnrichmentSpec.Column]) -> [String]? {
        var values: [String] = []
        var offset = 0
        for column in columns {
            guard offset + 2 <= payload.count else { return nil }
            let length = Int(payload[offset]) << 8 | Int(payload[offset + 1])
            offset += 2
            guard length <= column.maxBytes, offset + length <= payload.count else { return nil }
            guard let text = String(validating: payload[offset..<(offset + length)], as: UTF8.self) else { return nil }
            values.append(text)
            offset += length
        }
        return offset == payload.count ? values : nil
    }
}

/// A 16-byte match tag as two words, ordered like the bytes (big-endian loads), for sorting and
/// binary search.
struct MatchTag: Comparable {
    let hi: UInt64, lo: UInt64

    init(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        hi = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        lo = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
    }

    static func < (x: MatchTag, y: MatchTag) -> Bool { (x.hi, x.lo) < (y.hi, y.lo) }
}

extension EnrichmentSpec {
    /// Bytes of one ENRICHMENT_RECORDS record: match tag, sealed length prefix and padded payload,
    /// GCM tag.
    var recordWidth: Int { EnrichmentRecordCipher.matchTagBytes + 2 + payloadWidth + EnrichmentRecordCipher.gcmTagBytes }
}
