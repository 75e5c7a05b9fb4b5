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
            let v = raw.trimmingCharacters(in: .whitespacesAndNewlines).precomposedStringWithCanonicalMapping.lowercased()
            guard !v.isEmpty else { return .failure(.empty) }
            guard let at = v.firstIndex(of: "@"), at != v.startIndex, v.index(after: at) != v.endIndex,
                v[v.index(after: at)...].firstIndex(of: "@") == nil, !v.contains(where: { $0.isWhitespace })
            else { return .failure(.notAnEmail) }
            return .success(Array(v.utf8))
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
