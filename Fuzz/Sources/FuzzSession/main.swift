// Fuzz target: one party's session fed an arbitrary sequence of frames from its peer. The sessions
// are those of the golden transcripts (Vectors/transcripts.json: same collaboration, data and
// seeded randomness), so a seed made of the peer's recorded frames drives a session to its end and
// mutations explore every state. The first input byte picks the transcript and the party; the rest
// is a byte stream split into frames as the transport splits it. After every frame the session's
// outbound frames are drained, as the runner does. A session may fail with a typed error; it must
// never trap, and once failed it must send nothing more.
import CFuzzer
@_spi(Deterministic) import CleanRoomCrypto
import Foundation

@testable import CleanRoomProtocol

struct TranscriptSession {
    let collaboration: Collaboration
    let analysis: String
    let batchSize: Int
    let party: String
    let table: PartyTable
    let seed: [UInt8]
}

/// Every (transcript, party) pair, loaded once from the bundled vectors.
let sessions: [TranscriptSession] = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../Vectors/transcripts.json")
    guard let data = try? Data(contentsOf: url), let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
        let cases = root["cases"] as? [[String: Any]]
    else { fatalError("cannot read \(url.path)") }
    var out: [TranscriptSession] = []
    for c in cases {
        guard let yaml = c["collaboration"] as? String, let collaboration = try? Collaboration(yaml: yaml),
            let analysis = c["analysis"] as? String, let batch = c["batch_size"] as? Int, let parties = c["parties"] as? [[String: Any]]
        else { fatalError("malformed transcript case") }
        for p in parties {
            guard let name = p["name"] as? String, let columns = p["columns"] as? [String], let rows = p["rows"] as? [[String]],
                let seedHex = p["seed"] as? String, let seed = Hex.decode(seedHex)
            else { fatalError("malformed transcript party") }
            out.append(
                TranscriptSession(
                    collaboration: collaboration, analysis: analysis, batchSize: batch, party: name,
                    table: PartyTable(columns: columns, rows: rows), seed: seed))
        }
    }
    return out
}()

func fuzzSession(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data = bytes else { return 0 }
    guard size > 0 else { return 0 }
    let s = sessions[Int(data[0]) % sessions.count]
    guard let random = try? SeededRandom(seed: s.seed),
        let session = try? PartySession(
            collaboration: s.collaboration, analysis: s.analysis, party: s.party, input: s.table, random: random,
            batchSize: s.batchSize, parallelism: 1)
    else { return 0 }
    do { try session.begin() } catch { return 0 }
    while (try? session.nextOutbound()) != nil {}
    var decoder = FrameDecoder(maxPayloadBytes: 1 << 20)
    decoder.append(UnsafeBufferPointer(start: data + 1, count: size - 1))
    while let frame = try? decoder.next() {
        do { try session.receive(frame) } catch {
            // A failed session sends nothing more (the transport sends its ABORT).
            if let out = try? session.nextOutbound() { fatalError("a failed session sent \(out.type)") }
            return 0
        }
        while (try? session.nextOutbound()) != nil {}
    }
    // Work left for after the connection closes (the enrichment receiver's matching and opening of
    // the peer's records) runs here too.
    if session.isFinished { _ = try? session.conclude() }
    return 0
}

var arguments = CommandLine.argc
var vector: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&arguments, &vector, fuzzSession))
