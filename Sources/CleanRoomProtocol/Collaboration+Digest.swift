// The canonical digest that names a collaboration: SHA-256 over a domain tag and the canonical
// JSON of the validated model (keys sorted, no whitespace, lists that have no order sorted).
// It is stable under key order, whitespace, comments, quoting and number formatting of the file,
// and changes with anything that changes the meaning.
import CleanRoomCrypto
import Foundation

extension Collaboration {
    /// The canonical encoding the digest is computed over.
    public func canonicalEncoding() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self))
    }

    /// SHA-256("CLEANROOM-COLLABORATION-V1" ‖ 0x00 ‖ canonical encoding).
    public func digest() throws -> [UInt8] {
        try SHA256.hash(Array("CLEANROOM-COLLABORATION-V1".utf8) + [0] + canonicalEncoding())
    }

    /// The digest as 64 lowercase hex digits.
    public func digestHex() throws -> String { Hex.encode(try digest()) }
}
