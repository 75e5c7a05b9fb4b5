// Identifier normalisation, so that the same customer written differently by two parties still
// matches: emails are trimmed, NFC-normalised and lowercased; phone numbers keep only digits.
import Foundation

extension Normalization {
    /// The normalised identifier bytes, or a description of why the value is unusable.
    public func apply(_ raw: String) -> Result<[UInt8], NormalizationFailure> {
        switch self {
        case .none:
            return raw.isEmpty ? .failure(.empty) : .success(Array(raw.utf8))
        case .email:
            return Normalization.asciiEmail(raw) ?? Normalization.generalEmail(raw)
        case .phone:
            let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { return .failure(.empty) }
            guard trimmed.allSatisfy({ $0.isASCII && ($0.isNumber || " +-().".contains($0)) }) else { return .failure(.notAPhoneNumber) }
            var digits = trimmed.filter { $0.isNumber }
            if !trimmed.hasPrefix("+") && digits.hasPrefix("00") { digits.removeFirst(2) }
            guard (8...15).contains(digits.count) else { return .failure(.notAPhoneNumber) }
            return .success(Array(digits.utf8))
        }
    }
}

extension Normalization {
    /// The email rule for any text: trim Unicode whitespace, NFC, lowercase, one '@' inside.
    static func generalEmail(_ raw: String) -> Result<[UInt8], NormalizationFailure> {
        let v = raw.trimmingCharacters(in: .whitespacesAndNewlines).precomposedStringWithCanonicalMapping.lowercased()
        guard !v.isEmpty else { return .failure(.empty) }
        guard let at = v.firstIndex(of: "@"), at != v.startIndex, v.index(after: at) != v.endIndex,
            v[v.index(after: at)...].firstIndex(of: "@") == nil, !v.contains(where: { $0.isWhitespace })
        else { return .failure(.notAnEmail) }
        return .success(Array(v.utf8))
    }

    /// The email rule on plain-ASCII input without Foundation (NFC is the identity on ASCII and
    /// lowercasing is A–Z → a–z); nil when the input has non-ASCII bytes, which take the general
    /// path. Gives the same result as the general path on every ASCII string.
    static func asciiEmail(_ raw: String) -> Result<[UInt8], NormalizationFailure>? {
        guard raw.utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
        // ASCII whitespace as Unicode defines it: space and U+0009...U+000D.
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0d).contains(b) }
        var bytes = Array(raw.utf8)
        var start = 0, end = bytes.count
        while start < end && isSpace(bytes[start]) { start += 1 }
        while end > start && isSpace(bytes[end - 1]) { end -= 1 }
        guard start < end else { return .failure(.empty) }
        bytes = Array(bytes[start..<end])
        for i in bytes.indices where (0x41...0x5a).contains(bytes[i]) { bytes[i] |= 0x20 }
        guard let at = bytes.firstIndex(of: 0x40), at != 0, at != bytes.count - 1, bytes[(at + 1)...].firstIndex(of: 0x40) == nil,
            !bytes.contains(where: isSpace)
        else { return .failure(.notAnEmail) }
        return .success(bytes)
    }
}

/// Why an identifier could not be normalised (the value itself is never repeated).
public enum NormalizationFailure: Error, Equatable, Sendable, CustomStringConvertible {
    case empty, notAnEmail, notAPhoneNumber

    public var description: String {
        switch self {
        case .empty: return "identifier is empty"
        case .notAnEmail: return "not an email address (expected one '@' with text on both sides)"
        case .notAPhoneNumber: return "not a phone number with country code (8 to 15 digits)"
        }
    }
}
