// Intersection-sum, P2 (Private Join and Compute): owns the Paillier key and the values; returns
// P1's set shuffled (with re-randomised group tags), then streams its own blinded identifiers,
// each with the key owner's encryption of its packed values. It decrypts the sums P1 returns:
// reading them when it receives the result, and sending the plaintexts back when P1 does.
import CleanRoomCrypto

/// P2 of an intersection-sum: the Paillier private key and the group-tag re-randomiser.
final class IntersectionSumP2: P2Strategy {
    private let context: SessionContext
    private let spec: IntersectionSumSpec
    private let layout: PaillierSlotLayout
    private var key: PaillierPrivateKey?
    private var rerandomizer: GroupTagRerandomizer?
    /// Deviations found without aborting (`SessionResult.anomalies`).
    private(set) var anomalies: [String] = []
    /// Differential privacy (docs/privacy.md): the plan, and this party's noise for every entry it
    /// may decrypt (`max_groups`, 1 ungrouped), packed with offsets, drawn when the session is
    /// created, before any element flows (the samplers' running time depends on the value drawn).
    private let noise: SumNoise?
    private var entryNoise: [BigInteger] = []

    init(context: SessionContext, spec: IntersectionSumSpec) throws {
        self.context = context
        self.spec = spec
        layout = try context.analysis.sumLayout()
        noise = try context.analysis.sumNoise()
        if let noise {
            entryNoise = try (0..<noise.entries).map { _ in try SumNoise.packedDraw(noise.owner, layout: layout, using: context.random) }
        }
    }

    var peerTagBytes: Int { spec.grouping == nil ? 0 : GroupTag.tagBytes }
    var ownExtraBytes: Int { key?.publicKey.ciphertextBytes ?? 0 }
    var sendsOwnAfterPeer: Bool { true }
    var expectsGroupKey: Bool { spec.grouping != nil }

    private func liveKey() throws -> PaillierPrivateKey {
        guard let key else { throw CleanRoomProtocolError.sessionClosed }
        return key
    }

    var repliesToSetSize: Bool { true }

    /// A fresh Paillier key and the proof that gcd(n, φ(n)) = 1, bound to this handshake.
    func setSizeKeys(binding: HandshakeBinding?) throws -> SetSizeKeys {
        guard let binding else { throw CleanRoomProtocolError.unexpectedMessage(type: "SET_SIZE", state: "no handshake binding") }
        let key = try PaillierPrivateKey.generate(bits: spec.keyBits, using: context.random)
        try layout.check(fitsIn: key.publicKey)
        self.key = key
        let proof = try PaillierModulusProof.prove(privateKey: key, context: try binding.bytes())
        return SetSizeKeys(
            paillierKey: key.publicKey.serialized(), paillierProof: try proof.encoded(modulusBytes: key.publicKey.modulusBytes))
    }

    func acceptSetSize(_ m: SetSizeMessage) throws {
        guard let groupKey = m.groupKey else { return }
        do { rerandomizer = try GroupTagRerandomizer(publicKey: groupKey) } catch {
            throw CleanRoomProtocolError.invalidPeerCryptography(problem: "group-tag key: \(error)")
        }
    }

    func rerandomizeTags(_ records: inout [UInt8], count: Int, width: Int) throws {
        guard let rerandomizer else { return }
        // Fresh randomness in every tag, so P1 cannot link returned tags to the ones it sent.
        let random = context.random
        do {
            try records.withUnsafeMutableBufferPointer { raw in
                guard let base = raw.baseAddress else { return }
                let shared = UnsafeSendable(base)
                try parallelFor(count, parallelism: context.parallelism) { chunk, _ in
                    try rerandomizer.rerandomize(
                        shared.value + width * chunk.lowerBound + 32, stride: width, count: chunk.count, using: random)
                }
            }
        } catch CleanRoomCryptoError.invalidGroupTag {
            throw CleanRoomProtocolError.invalidPeerCryptography(problem: "P1_ELEMENTS holds a malformed group tag")
        }
    }

    func fillOwnRecords(ids: ArraySlice<Int>, records: inout [UInt8], width: Int) throws {
        let key = try liveKey(), layout = self.layout, random = context.random
        let plaintexts = try ids.map { try layout.pack(context.prepared.slots(of: $0)) }
        try records.withUnsafeMutableBytes { buffer in
            let out = UnsafeSendable(buffer)
            try parallelFor(ids.count, parallelism: context.parallelism) { chunk, _ in
                for k in chunk {
                    let c = try key.encrypt(plaintexts[k], variableTime: true, using: random)
                    try key.publicKey.serialize(
                        c, into: UnsafeMutableRawBufferPointer(rebasing: out.value[(width * k + 32)..<(width * k + width)]))
                }
            }
        }
    }

    func onAnswer(_ frame: Frame, ownOrder: [Int], peerCount: Int) throws -> ExchangeStep {
        guard frame.type == .encryptedSums else {
            throw CleanRoomProtocolError.unexpectedMessage(type: frame.type.description, state: "waiting for the result")
        }
        let key = try liveKey()
        let receives = context.receives
        var result = context.baseResult(peerCount: peerCount)
        let grouped = spec.grouping != nil
        let smaller = min(peerCount, context.ownCount)
        // Masked lists have one entry per P1 group label (at most P1's set size); unmasked lists
        // only groups that reached the threshold. Either way no more than max_groups: P2 decrypts
        // every entry, so this bounds what P1 can have decrypted in one session.
        var maxGroups = !receives ? (grouped ? peerCount : 1) : (grouped ? smaller / (spec.grouping?.minGroupSize ?? 1) : 1)
        // With privacy a masked list is padded to max_groups, and noisy counts bound nothing.
        if noise != nil && grouped { maxGroups = spec.grouping?.maxGroups ?? 1 }
        if let grouping = spec.grouping { maxGroups = min(maxGroups, grouping.maxGroups) }
        let m = try EncryptedSumsMessage.decode(frame, ciphertextBytes: key.publicKey.ciphertextBytes, maxGroups: maxGroups)
        guard m.masked == !receives else {
            throw CleanRoomProtocolError.malformedMessage(
                type: "ENCRYPTED_SUMS",
                problem: m.masked ? "masked, but we receive the result" : "unmasked, but we do not receive the result")
        }
        let minimum = context.analysis.minIntersection
        if m.suppressed {
            result.intersectionSize = .suppressed(below: minimum)
            return .finished(result, [])
        }
        if receives {
            guard grouped || m.groups.count == 1 else {
                throw CleanRoomProtocolError.malformedMessage(type: "ENCRYPTED_SUMS", problem: "an ungrouped sum must carry one result")
            }
            guard m.groups.allSatisfy({ ($0.label != nil) == grouped && $0.count != nil }) else {
                throw CleanRoomProtocolError.malformedMessage(type: "ENCRYPTED_SUMS", problem: "labels or counts do not match the analysis")
            }
        }
        var plaintexts: [[UInt8]] = []
        var groups: [GroupResult] = []
        var undecodable = 0
        var total: UInt64 = 0
        var labels = Set<String>()
        // With privacy every entry this party decrypts gets its own noise: what it reads itself and
        // what it returns (P1 sees its sum only with this noise, once it removes its mask).
        let offsets = noise?.offsets(p1Added: true) ?? []
        for (i, g) in m.groups.enumerated() {
            let c: PaillierCiphertext
            do { c = try key.publicKey.ciphertext(bytes: g.ciphertext) } catch {
                throw CleanRoomProtocolError.invalidPeerCryptography(problem: "a ciphertext in ENCRYPTED_SUMS: \(error)")
            }
            var plain = try key.decrypt(c)
            var returned = plain
            if noise != nil {
                guard i < entryNoise.count else {
                    throw CleanRoomProtocolError.malformedMessage(type: "ENCRYPTED_SUMS", problem: "more entries than max_groups")
                }
                plain = (plain + entryNoise[i]).mod(key.publicKey.n)
                // Returned with a pad above the layout: P1 reads nothing it placed there. This
                // party reads only the layout's bits itself (above them is P1's pad).
                returned = (plain + (try SumNoise.pad(layout: layout, n: key.publicKey.n, using: context.random))).mod(key.publicKey.n)
                plain = plain.lowBits(layout.totalBits)
            } else {
                returned = plain
            }
            if receives {
                let floor = UInt64(noise?.threshold ?? spec.grouping?.minGroupSize ?? minimum)
                guard let count = g.count, count >= floor, count <= UInt64(smaller) else {
                    throw CleanRoomProtocolError.malformedMessage(
                        type: "ENCRYPTED_SUMS", problem: "a group count is outside what the policy and the set sizes allow")
                }
                if let label = g.label, !labels.insert(label).inserted {
                    throw CleanRoomProtocolError.malformedMessage(type: "ENCRYPTED_SUMS", problem: "a group label appears twice")
                }
                total += count
                // The exact label, as P1 reports it (JSON escapes it; displays sanitise it). A sum
                // that does not decode is an anomaly here, never an abort: P1 can shift a sum by a
                // chosen amount, and whether it then overflows depends on P2's own values.
                if let group = try? spec.groupResult(label: g.label, count: Int(count), plaintext: plain, layout: layout, offsets: offsets)
                {
                    groups.append(group)
                } else {
                    undecodable += 1
                    // Decoding work again, as for a sum that fits (so a failure costs at least as
                    // much; the time until this party closes does not single out the failures).
                    _ = try? spec.groupResult(label: g.label, count: Int(count), plaintext: BigInteger(0), layout: layout, offsets: offsets)
                }
            }
            if context.peerReceives { plaintexts.append(try returned.bigEndianBytes(width: key.publicKey.modulusBytes)) }
        }
        if receives {
            // Noisy counts are each clamped to the smaller set, not their sum.
            guard noise != nil || total <= UInt64(smaller), m.intersection.map({ $0 == total && $0 >= UInt64(minimum) }) ?? true else {
                throw CleanRoomProtocolError.malformedMessage(type: "ENCRYPTED_SUMS", problem: "the total does not match the groups")
            }
            guard grouped || total >= UInt64(minimum) else {
                throw CleanRoomProtocolError.malformedMessage(
                    type: "ENCRYPTED_SUMS", problem: "overlap below the threshold, yet not suppressed")
            }
            result.intersectionSize = m.intersection.map { .revealed(Int($0)) }
            result.groups = groups
            result.privacy = try noise?.report(role: .p2, grouped: grouped, p1Added: true)
            if undecodable > 0 {
                anomalies = [
                    "\(undecodable) sum(s) in ENCRYPTED_SUMS do not fit the slot layout: the peer altered them; those groups are left out"
                ]
                result.anomalies = anomalies
            }
        }
        let answer = context.peerReceives && !m.groups.isEmpty ? [DecryptedSumsMessage(plaintexts: plaintexts).frame()] : []
        return .finished(result, answer)
    }

    func wipe() {
        key = nil
        rerandomizer = nil
        entryNoise = []
    }
}
