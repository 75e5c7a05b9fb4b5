// Errors of the CleanRoomCrypto module. Messages name what was wrong; they never carry secrets.

/// Every failure the crypto layer reports. Bad input from a user or a peer surfaces as one of
/// these, never as a crash.
public enum CleanRoomCryptoError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An OpenSSL call failed; `operation` names the call.
    case openSSLFailure(operation: String)
    /// A byte string had the wrong length.
    case wrongLength(what: String, got: Int, expected: Int)
    /// X25519 produced the all-zero output: the peer's value is a low-order point
    /// (RFC 7748 §6.1). The element is rejected rather than silently mapped to zero.
    case lowOrderPoint(index: Int)
    /// An integer encoding was malformed (for example, not hexadecimal).
    case malformedInteger(what: String)
    /// A Paillier ciphertext was outside (0, n²) or shared a factor with n.
    case invalidCiphertext(reason: String)
    /// A Paillier public key failed validation.
    case invalidPublicKey(reason: String)
    /// A plaintext was outside the range the operation accepts.
    case plaintextOutOfRange(reason: String)
    /// A slot value did not fit the slot width, or the layout does not fit the key.
    case slotOverflow(slot: Int, bits: Int, slotBits: Int)
    /// The packing layout cannot fit into the plaintext space of the key.
    case layoutTooWide(totalBits: Int, availableBits: Int)
    /// Two values that must match (keys, layouts) did not.
    case mismatch(what: String)
    /// A parameter was outside what the primitive supports.
    case unsupportedParameter(what: String)
    /// A group tag is malformed (a point off the curve) or decrypts to no known group.
    case invalidGroupTag
    /// A ristretto255 element from the peer (element `index` of its batch) is not a canonical
    /// encoding of a group element, or is the identity (RFC 9496 §4.3.1, RFC 9497 §4.1).
    case invalidGroupElement(index: Int, reason: String)
    /// A scalar given to the OPRF is not canonical (not below the group order) or is zero.
    case invalidScalar(reason: String)
    /// An OPRF input cannot be evaluated: longer than 65,534 bytes (RFC 9497 §5.1: shorter than
    /// 2¹⁶ − 1), or hashed to the identity (probability about 2⁻²⁵²).
    case invalidOPRFInput(index: Int, reason: String)
    /// A libsodium call failed where it cannot on valid input; `operation` names the call.
    case libsodiumFailure(operation: String)
    /// An enrichment payload does not fit the record's fixed width.
    case payloadTooLong(length: Int, width: Int)
    /// A sealed payload did not authenticate (AES-256-GCM tag mismatch: a tampered record or the
    /// wrong key), or its padding is malformed.
    case payloadAuthenticationFailed

    public var description: String {
        switch self {
        case .openSSLFailure(let operation):
            return "OpenSSL call failed: \(operation)"
        case .wrongLength(let what, let got, let expected):
            return "\(what): got \(got) bytes, expected \(expected)"
        case .lowOrderPoint(let index):
            return "element \(index): X25519 result is all zero (low-order point from the peer)"
        case .malformedInteger(let what):
            return "\(what): malformed integer encoding"
        case .invalidCiphertext(let reason):
            return "invalid Paillier ciphertext: \(reason)"
        case .invalidPublicKey(let reason):
            return "invalid Paillier public key: \(reason)"
        case .plaintextOutOfRange(let reason):
            return "plaintext out of range: \(reason)"
        case .slotOverflow(let slot, let bits, let slotBits):
            return "slot \(slot): value has \(bits) bits, slot holds \(slotBits)"
        case .layoutTooWide(let totalBits, let availableBits):
            return "packing layout needs \(totalBits) bits, the key offers \(availableBits)"
        case .mismatch(let what):
            return "mismatch: \(what)"
        case .unsupportedParameter(let what):
            return "unsupported parameter: \(what)"
        case .invalidGroupTag:
            return "a group tag from the peer is malformed or names no known group"
        case .invalidGroupElement(let index, let reason):
            return "element \(index): not a valid ristretto255 element (\(reason))"
        case .invalidScalar(let reason):
            return "invalid ristretto255 scalar: \(reason)"
        case .invalidOPRFInput(let index, let reason):
            return "OPRF input \(index): \(reason)"
        case .libsodiumFailure(let operation):
            return "libsodium call failed: \(operation)"
        case .payloadTooLong(let length, let width):
            return "payload of \(length) bytes does not fit the record width of \(width) bytes"
        case .payloadAuthenticationFailed:
            return "a sealed payload did not authenticate (tampered record or wrong key)"
        }
    }
}
