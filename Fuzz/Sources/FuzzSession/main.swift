import CleanRoomCrypto

// Fuzz target: a session of each role and kind fed an arbitrary sequence of frames from a peer.
// The input is a stream of frames (as on the wire); the first byte picks the analysis and role.
// After every frame the session's outbound frames are drained, as the runner does. A session may
// fail with a typed error; it must never trap, and once failed or finished it must send nothing
// but the frames it released with its result.
@testable import CleanRoomProtocol

let fixture = """
    collaboration: fuzz
    parties:
      - { name: a, certificate_sha256: "\(String(repeating: "ab", count: 32))", listen: "127.0.0.1:7443" }
      - { name: b, certificate_sha256: "\(String(repeating: "cd", count: 32))" }
    analyses:
      - name: overlap
        kind: cardinality
        join: { a: { column: id, normalize: none }, b: { column: id, normalize: none } }
        receivers: [a, b]
        min_intersection: 1
        set_size: { a: { min: 1, max: 8 }, b: { min: 1, max: 8 } }
      - name: shared
        kind: intersection
        join: { a: { column: id, normalize: none }, b: { column: id, normalize: none } }
        receivers: [a, b]
        min_intersection: 1
        set_size: { a: { min: 1, max: 8 }, b: { min: 1, max: 8 } }
      - name: sums
        kind: intersection-sum
        join: { a: { column: id, normalize: none }, b: { column: id, normalize: none } }
        values: { owner: b, columns: [ { name: v, max: 100 } ] }
        group_by: { party: a, column: g }
        min_group_size: 1
        receivers: [a, b]
        min_intersection: 1
        set_size: { a: { min: 1, max: 8 }, b: { min: 1, max: 8 } }
    """
// Loaded once; a fuzz run that cannot load its own fixture stops at the first input.
nonisolated(unsafe) let collaboration = try? Collaboration(yaml: fixture)
let tableA = PartyTable(columns: ["id", "g"], rows: (0..<4).map { ["id\($0)", "g\($0 % 2)"] })
let tableB = PartyTable(columns: ["id", "v"], rows: (2..<6).map { ["id\($0)", "\($0)"] })

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSession(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let collaboration, size > 0 else { return 0 }
    // Which session: cardinality/intersection as either party; intersection-sum as P1 only (the
    // value owner generates a Paillier key per session, too slow to fuzz).
    let choices: [(String, String, PartyTable)] = [
        ("overlap", "a", tableA), ("overlap", "b", tableB), ("shared", "a", tableA), ("shared", "b", tableB), ("sums", "a", tableA),
    ]
    let (analysis, party, table) = choices[Int(data[0]) % choices.count]
    guard let random = try? SeededRandom(seed: [7]),
        let session = try? PartySession(
            collaboration: collaboration, analysis: analysis, party: party, input: table, random: random, batchSize: 2,
            parallelism: 1)
    else { return 0 }
    _ = try? session.begin()
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
    return 0
}
