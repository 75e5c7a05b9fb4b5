// Errors of the protocol layer: collaboration files, input data, wire messages and sessions.
// Messages name the field, row or message that was wrong and never carry identifiers or secrets.

/// Every failure the protocol layer reports.
public enum CleanRoomProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The collaboration file is malformed, incomplete or contradictory; `path` names the field.
    case invalidCollaboration(path: String, problem: String)
    /// The collaboration has no analysis of that name.
    case unknownAnalysis(name: String, available: [String])
    /// The party name is not one of the collaboration's two parties.
    case unknownParty(name: String)
    /// A row of the input data is unusable; `row` is the row number the caller supplied.
    case invalidRow(row: Int, column: String, problem: String)
    /// The input table lacks a column the analysis needs.
    case missingColumn(column: String, available: [String])
    /// A set size is outside the policy's bounds.
    case setSizeOutOfPolicy(party: String, size: Int, min: Int, max: Int)
    /// A frame or message could not be decoded.
    case malformedMessage(type: String, problem: String)
    /// A message arrived that the session did not expect now.
    case unexpectedMessage(type: String, state: String)
    /// The handshake found a difference between the parties.
    case handshakeMismatch(field: String, ours: String, theirs: String)
    /// The peer sent more elements than it announced.
    case tooManyElements(message: String, announced: Int)
    /// The peer sent the same blinded element twice.
    case duplicateBlindedElement(message: String)
    /// The peer's Paillier key or ciphertext failed validation.
    case invalidPeerCryptography(problem: String)
    /// The peer aborted the session and said why.
    case peerAborted(code: UInt16, reason: String)
    /// The session is over (finished or failed) and accepts no more messages.
    case sessionClosed
    /// P1 has more groups of at least `min_group_size` own identifiers than `max_groups` allows.
    case tooManyGroups(party: String, groups: Int, minGroupSize: Int, maxGroups: Int)
    /// P1 has no group of at least `min_group_size` own identifiers: nothing could be reported.
    case noGroupLargeEnough(party: String, minGroupSize: Int)
    /// A limit this party keeps across sessions (`privacy_budget.max_sessions`) is reached.
    case limitReached(reason: String)

    public var description: String {
        switch self {
        case .invalidCollaboration(let path, let problem):
            return "collaboration file: \(path): \(problem)"
        case .unknownAnalysis(let name, let available):
            return "no analysis named '\(name)' (available: \(available.joined(separator: ", ")))"
        case .unknownParty(let name):
            return "'\(name)' is not a party of this collaboration"
        case .invalidRow(let row, let column, let problem):
            return "row \(row): column '\(column)': \(problem)"
        case .missingColumn(let column, let available):
            return "input has no column '\(column)' (columns: \(available.joined(separator: ", ")))"
        case .setSizeOutOfPolicy(let party, let size, let min, let max):
            return "set size of \(party) is \(size); the collaboration allows \(min)...\(max)"
        case .malformedMessage(let type, let problem):
            return "malformed \(type) message: \(problem)"
        case .unexpectedMessage(let type, let state):
            return "unexpected \(type) message while \(state)"
        case .handshakeMismatch(let field, let ours, let theirs):
            return "handshake: \(field) differs (ours: \(ours), peer's: \(theirs))"
        case .tooManyElements(let message, let announced):
            return "\(message): more elements than the \(announced) announced"
        case .duplicateBlindedElement(let message):
            return "\(message): the same blinded element appears twice"
        case .invalidPeerCryptography(let problem):
            return "peer's cryptographic value rejected: \(problem)"
        case .peerAborted(let code, let reason):
            return "peer aborted (code \(code)): \(reason)"
        case .sessionClosed:
            return "the session is already closed"
        case .limitReached(let reason):
            return reason
        case .noGroupLargeEnough(let party, let minGroupSize):
            return "no group of \(party) has at least \(minGroupSize) identifiers (min_group_size): nothing could be reported"
        case .tooManyGroups(let party, let groups, let minGroupSize, let maxGroups):
            return
                "\(party) has \(groups) groups of at least \(minGroupSize) identifiers (min_group_size); the collaboration allows at most \(maxGroups) (max_groups)"
        }
    }
}
