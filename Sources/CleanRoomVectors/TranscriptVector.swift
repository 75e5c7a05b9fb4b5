@_spi(Deterministic) import CleanRoomCrypto
// Golden session transcripts: a whole two-party session replayed with seeded randomness, so a
// second implementation of the protocol can check itself byte for byte. Seeded randomness is SPI
// (`Deterministic`) and reachable only from here and the tests, never from a normal `cleanroom run`.
import CleanRoomCryptoVectors
import CleanRoomProtocol
import Foundation

/// One party's inputs in a transcript case.
public struct TranscriptParty: Codable, Equatable {
    public var name: String
    /// Seed of the party's deterministic random source, hex.
    public var seed: String
    public var columns: [String]
    public var rows: [[String]]

    public init(name: String, seed: String, columns: [String], rows: [[String]]) {
        self.name = name
        self.seed = seed
        self.columns = columns
        self.rows = rows
    }
}

/// One recorded frame.
public struct TranscriptMessage: Codable, Equatable {
    public var from: String
    /// Message type name, for readers (the byte at offset 1 is authoritative).
    public var type: String
    /// The frame: version, type, length, payload.
    public var hex: String

    public init(from: String, type: String, hex: String) {
        self.from = from
        self.type = type
        self.hex = hex
    }
}

/// A transcript case (kind `transcript` in Vectors/README.md).
public struct TranscriptCase: Codable {
    public var id: String
    public var source: String
    /// The collaboration file, verbatim.
    public var collaboration: String
    public var analysis: String
    public var batch_size: Int
    /// Exactly two parties; the first one's session is started first.
    public var parties: [TranscriptParty]
    public var messages: [TranscriptMessage]
    /// What each party learned, by party name.
    public var results: [String: SessionResult]

    public init(
        id: String, source: String, collaboration: String, analysis: String, batch_size: Int, parties: [TranscriptParty],
        messages: [TranscriptMessage], results: [String: SessionResult]
    ) {
        self.id = id
        self.source = source
        self.collaboration = collaboration
        self.analysis = analysis
        self.batch_size = batch_size
        self.parties = parties
        self.messages = messages
        self.results = results
    }
}

public enum TranscriptReplay {
    /// Runs the case's session with the recorded inputs and seeds.
    /// - Returns: the frames and both results, as the implementation produces them now.
    public static func replay(_ c: TranscriptCase) throws -> (messages: [TranscriptMessage], results: [String: SessionResult]) {
        guard c.parties.count == 2 else { throw VectorParseError(description: "a transcript needs exactly two parties") }
        let collaboration = try Collaboration(yaml: c.collaboration)
        var sessions: [PartySession] = []
        for p in c.parties {
            guard let seed = Hex.decode(p.seed), !seed.isEmpty else {
                throw VectorParseError(description: "party \(p.name): seed is not hex")
            }
            sessions.append(
                try PartySession(
                    collaboration: collaboration, analysis: c.analysis, party: p.name,
                    input: PartyTable(columns: p.columns, rows: p.rows), random: try SeededRandom(seed: seed), batchSize: c.batch_size,
                    parallelism: 1))
        }
        let (r0, r1, transcript) = try InMemorySession.run(sessions[0], sessions[1])
        let messages = transcript.map { e in
            TranscriptMessage(from: e.from, type: MessageType(rawValue: e.bytes[1])?.description ?? "?", hex: Hex.encode(e.bytes))
        }
        return (messages, [r0.party: r0, r1.party: r1])
    }

    /// Compares a replay with the recorded case; nil when identical, else the first difference.
    static func check(_ c: TranscriptCase) -> String? {
        do {
            let (messages, results) = try replay(c)
            for (i, (got, want)) in zip(messages, c.messages).enumerated() where got != want {
                return "message \(i) (\(want.from) \(want.type)) differs: got \(got.from) \(got.type) \(got.hex.prefix(64))…"
            }
            guard messages.count == c.messages.count else { return "\(messages.count) messages, recorded \(c.messages.count)" }
            for (party, want) in c.results where results[party] != want {
                return "result of \(party) differs: got \(String(describing: results[party]))"
            }
            guard Set(results.keys) == Set(c.results.keys) else { return "results recorded for \(c.results.keys.sorted())" }
            return nil
        } catch {
            return "\(error)"
        }
    }
}
