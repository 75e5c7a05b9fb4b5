// Intersection-sum, P1 (Private Join and Compute, Ion et al. EuroS&P 2020): adds P2's Paillier
// ciphertexts over the overlap as they stream in (per group when P1 groups, with group tags that
// P2 re-randomises, EC-ElGamal), then sends the re-randomised sums: labelled with counts when P2
// receives, or masked with uniform values and padded to one entry per label when only P1 does,
// so that P2 learns neither which groups passed nor their sizes. P1 then unmasks P2's decryptions.
import CleanRoomCrypto

/// P1 of an intersection-sum: the peer's public key, the group-tag key, the running sums, and the
/// masks of what P2 decrypts for it.
final class IntersectionSumP1: P1Strategy {
    private let context: SessionContext
    private let spec: IntersectionSumSpec
    private let layout: PaillierSlotLayout
    private var peerKey: PaillierPublicKey?
    /// Every P2_ELEMENTS ciphertext multiplied in, matched or not (gcd checked once at the end).
    private var units: PaillierUnitCheck?
    private var tagKey: GroupTagKey?
    /// Group of each P2_REBLINDED position (grouped sums); `unknownGroup` where a tag opened to
    /// no group.
    private var groupOf: [UInt32] = []
    private static let unknownGroup = UInt32.max
    /// One running sum per group index (one when ungrouped), each starting at the trivial
    /// encryption of 0, and a dummy that every unmatched P2_ELEMENTS ciphertext (and every match
    /// whose tag opened to no group) is added to: each arriving ciphertext costs one decode and one
    /// multiplication, matched or not, so P1's timing does not count the overlap.
    private var groupSums: [PaillierCiphertext] = []
    private var dummySum: PaillierCiphertext?
    private var groupCounts: [UInt32: Int] = [:]
    /// P2_REBLINDED tags that opened to no group of ours.
    private var unknownTags = 0
    /// Deviations in DECRYPTED_SUMS found without aborting.
    private var decodeAnomalies: [String] = []
    /// Deviations found without aborting so far (`SessionResult.anomalies`); they outlive `wipe`,
    /// so a session that fails afterwards still reports them.
    var anomalies: [String] {
        (unknownTags > 0
            ? [
                "\(unknownTags) group tag(s) in P2_REBLINDED opened to no group of this party: the peer altered them; those identifiers were counted in no group"
            ] : []) + decodeAnomalies
    }
    /// What ENCRYPTED_SUMS carried, in order, with the mask of each entry (masked mode).
    private var sent: [(group: UInt32, count: Int, real: Bool)] = []
    private var masks: [BigInteger] = []
    /// With privacy, unmasked: the pad above the layout added to each entry sent (`SumNoise.pad`).
    private var pads: [BigInteger] = []
    private var pending: SessionResult?
    /// Differential privacy (docs/privacy.md): the plan, and this party's noise per candidate
    /// group — on its count, and packed on its sum's slots when P2 receives the sums — drawn when
    /// the session is created, before any element flows (the samplers' running time depends on
    /// the value drawn).
    private let noise: SumNoise?
    private var countNoise: [UInt32: Int64] = [:]
    private var slotNoise: [UInt32: BigInteger] = [:]

    init(context: SessionContext, spec: IntersectionSumSpec) throws {
        self.context = context
        self.spec = spec
        layout = try context.analysis.sumLayout()
        noise = try context.analysis.sumNoise()
        if let noise {
            for g in candidateGroups {
                countNoise[g] = try noise.count.draw(using: context.random)
                if let slots = noise.p1Slots { slotNoise[g] = try SumNoise.packedDraw(slots, layout: layout, using: context.random) }
            }
        }
    }

    var tagBytes: Int { spec.grouping == nil ? 0 : GroupTag.tagBytes }
    var peerExtraBytes: Int { peerKey?.ciphertextBytes ?? 0 }
    var matchesOnArrival: Bool { true }
    var expectsPaillierKey: Bool { true }
    var awaitingDescription: String { "waiting for DECRYPTED_SUMS" }

    private func key() throws -> PaillierPublicKey {
        guard let peerKey else { throw CleanRoomProtocolError.unexpectedMessage(type: "elements", state: "no Paillier key yet") }
        return peerKey
    }

    func setSizeKeys() throws -> SetSizeKeys {
        guard spec.grouping != nil else { return SetSizeKeys() }
        let key = try GroupTagKey(groupCount: context.prepared.groupLabels.count, using: context.random)
        tagKey = key
        return SetSizeKeys(groupKey: key.publicKey)
    }

    func acceptSetSize(_ m: SetSizeMessage, binding: HandshakeBinding) throws {
        guard let bytes = m.paillierKey else { return }
        let key: PaillierPublicKey
        do { key = try PaillierPublicKey.deserialize(bytes) } catch {
            throw CleanRoomProtocolError.invalidPeerCryptography(problem: "Paillier public key: \(error)")
        }
        guard key.bits == spec.keyBits else {
            throw CleanRoomProtocolError.invalidPeerCryptography(
                problem: "Paillier key of \(key.bits) bits; the collaboration says \(spec.keyBits)")
        }
        // The key owner proves gcd(n, φ(n)) = 1 for this handshake before the key is used: without
        // it, a modulus n = r·R with r | R − 1 hides a label in every ciphertext.
        do {
            guard let proofBytes = m.paillierProof else { throw CleanRoomCryptoError.invalidPublicKey(reason: "no modulus proof") }
            try PaillierModulusProof(decoding: proofBytes, publicKey: key).verify(publicKey: key, context: try binding.bytes())
        } catch let error as CleanRoomCryptoError {
            throw CleanRoomProtocolError.invalidPeerCryptography(problem: "Paillier public key: \(error)")
        }
        try layout.check(fitsIn: key)
        peerKey = key
        units = try PaillierUnitCheck(key: key)
        var one = [UInt8](repeating: 0, count: key.ciphertextBytes)
        one[one.count - 1] = 1
        let zero = try key.ciphertext(bytes: one)
        groupSums = Array(repeating: zero, count: spec.grouping == nil ? 1 : max(1, context.prepared.groupLabels.count))
        dummySum = zero
    }

    func sealTags(ids: ArraySlice<Int>, records: inout [UInt8], width: Int) throws {
        guard let tagKey else { return }
        let groups = ids.map { context.prepared.groupOf[$0] }
        let random = context.random
        try records.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            let out = UnsafeSendable(base)
            try parallelFor(ids.count, parallelism: context.parallelism) { chunk, _ in
                try groups[chunk].withUnsafeBufferPointer {
                    try tagKey.seal(groups: $0, into: out.value + width * chunk.lowerBound + 32, stride: width, using: random)
                }
            }
        }
    }

    func openTags(_ records: [UInt8], count: Int, width: Int) throws {
        guard let tagKey else { return }
        var groups = [UInt32](repeating: 0, count: count)
        try records.withUnsafeBufferPointer { raw in
            try groups.withUnsafeMutableBufferPointer { g in
                guard let input = raw.baseAddress, let output = g.baseAddress else { return }
                let (i, o) = (UnsafeSendable(input), UnsafeSendable(output))
                try parallelFor(count, parallelism: context.parallelism) { chunk, _ in
                    let opened = try tagKey.open(i.value + width * chunk.lowerBound + 32, stride: width, count: chunk.count)
                    for (k, group) in zip(chunk, opened) { o.value[k] = group ?? Self.unknownGroup }
                }
            }
        }
        // A tag that opens to no group was altered by the peer. No reaction now: whether a shifted
        // tag still lands on a group depends on the group's secret index.
        unknownTags += groups.reduce(0) { $0 + ($1 == Self.unknownGroup ? 1 : 0) }
        groupOf += groups
    }

    func checkPeerRecords(_ records: [UInt8], count: Int, width: Int) throws {
        // Every ciphertext is range-checked on arrival, matched or not (on the bytes; only
        // matched ones are decoded).
        let key = try key()
        try records.withUnsafeBytes { raw in
            for k in 0..<count {
                let ciphertext = UnsafeRawBufferPointer(rebasing: raw[(width * k + 32)..<(width * k + width)])
                do { try key.checkRange(ciphertext) } catch {
                    throw CleanRoomProtocolError.invalidPeerCryptography(problem: "a ciphertext in P2_ELEMENTS: \(error)")
                }
                units?.add(ciphertext)
            }
        }
    }

    /// The ciphertext of the P2_ELEMENTS record at `offset`.
    private func ciphertext(_ records: [UInt8], offset: Int, key: PaillierPublicKey) throws -> PaillierCiphertext {
        let width = 32 + key.ciphertextBytes
        return try records.withUnsafeBytes {
            try key.ciphertext(bytes: UnsafeRawBufferPointer(rebasing: $0[(offset + 32)..<(offset + width)]), requireUnit: false)
        }
    }

    func matched(ownPosition: Int, peerPosition: Int, records: [UInt8], offset: Int) throws {
        let key = try key()
        let c = try ciphertext(records, offset: offset, key: key)
        let group = tagKey != nil ? groupOf[ownPosition] : 0
        if group == Self.unknownGroup || Int(group) >= groupSums.count {
            dummySum = dummySum.map { key.add($0, c) }
        } else {
            groupSums[Int(group)] = key.add(groupSums[Int(group)], c)
            groupCounts[group, default: 0] += 1
        }
    }

    func unmatched(peerPosition: Int, records: [UInt8], offset: Int) throws {
        let key = try key()
        let c = try ciphertext(records, offset: offset, key: key)
        dummySum = dummySum.map { key.add($0, c) }
    }

    /// The groups this party puts in the session, in label order (so the order reveals nothing
    /// about P1's file): those with at least `min_group_size` of its own identifiers. Smaller
    /// groups are never released, whatever the overlap: a threshold on released counts cannot
    /// protect a group that P1 itself knows to be tiny.
    private var candidateGroups: [UInt32] {
        guard let grouping = spec.grouping else { return [0] }
        let labels = context.prepared.groupLabels
        // With privacy every group is a candidate: whether a group reaches min_group_size of this
        // party's own identifiers depends on one person, and would show in what is released.
        let floor = context.analysis.privacy == nil ? grouping.minGroupSize : 1
        return context.prepared.groups(withAtLeast: floor).sorted { labels[Int($0)] < labels[Int($1)] }
    }

    func finish(_ outcome: P1Outcome) throws -> P1Step {
        let key = try key()
        // Every ciphertext was multiplied in, matched or not: this abort does not depend on
        // membership.
        guard let units, units.count == outcome.peerCount, units.allUnits else {
            throw CleanRoomProtocolError.invalidPeerCryptography(problem: "a ciphertext in P2_ELEMENTS is not a unit mod n")
        }
        let release = Release(analysis: context.analysis)
        var result = context.baseResult(peerCount: outcome.peerCount)
        let candidates = candidateGroups
        let overlap: RevealedCount?
        let reportable: [UInt32]
        if let noise {
            // Released counts are noisy (clamped to [0, min(|X|, |Y|)]), and every release
            // decision is made on them: no threshold looks at an exact count.
            let ceiling = min(context.ownCount, outcome.peerCount)
            for g in candidates {
                groupCounts[g] = Release.noisy(groupCounts[g] ?? 0, noise: countNoise[g] ?? 0, ceiling: ceiling)
            }
            if spec.grouping == nil {
                overlap = release.overlap(groupCounts[0] ?? 0)
                reportable = overlap?.value == nil ? [] : [0]
            } else {
                // The overlap of a grouped sum is not released (each group passes on its own noisy
                // count, τ calibrated to δ), so min_intersection has nothing to gate here.
                overlap = nil
                reportable = candidates.filter { (groupCounts[$0] ?? 0) >= noise.threshold }
            }
            result.privacy = try noise.report(role: .p1, grouped: spec.grouping != nil, p1Added: noise.p1Slots != nil)
        } else {
            let exact = release.overlap(outcome.overlap)
            overlap = exact
            reportable = release.groups(candidates, counts: groupCounts, overlap: exact)
        }
        // Only a receiver's result shows what P1 computed; docs/protocol.md says what P1's process
        // necessarily knows regardless.
        result.intersectionSize = context.receives ? overlap : nil
        if context.receives && spec.grouping != nil {
            result.suppressedGroups = candidates.count - reportable.count
            result.ownGroupsBelowMinimum = context.prepared.groupLabels.count - candidates.count
        }

        let masked = !context.peerReceives
        var message = EncryptedSumsMessage(suppressed: false, masked: masked, intersection: nil, groups: [])
        if masked {
            // A fixed-length list: one entry per group label of P1 (one when ungrouped), reported
            // sums masked with a uniform value mod n, everything else a fresh random encryption,
            // so P2 learns neither the suppression nor how many groups passed.
            // With privacy the list is padded to max_groups (1 ungrouped): how many groups P1 has
            // depends on one person too.
            let padding = noise.map { max(0, $0.entries - candidates.count) } ?? 0
            for (g, real) in candidates.map({ ($0, reportable.contains($0)) }) + Array(repeating: (0, false), count: padding) {
                let mask = try BigInteger.random(below: key.n, using: context.random)
                let c: PaillierCiphertext
                if real {
                    c = try key.addPlaintext(try key.rerandomize(groupSums[Int(g)], using: context.random), key.decodeSigned(mask))
                } else {
                    c = try key.encrypt(key.decodeSigned(mask), using: context.random)
                }
                masks.append(mask)
                sent.append((group: g, count: groupCounts[g] ?? 0, real: real))
                message.groups.append(EncryptedSumsMessage.Group(label: nil, count: nil, ciphertext: key.serialize(c)))
            }
        } else if overlap?.value == nil && (noise == nil || spec.grouping == nil) {
            message.suppressed = true
        } else {
            for g in reportable {
                guard let count = groupCounts[g] else { continue }
                var c = try key.rerandomize(groupSums[Int(g)], using: context.random)
                // This party's noise on each slot, so P2 reads a noisy sum, and a pad above the
                // layout, so P2 reads nothing it placed there (docs/privacy.md).
                if let eta = slotNoise[g] {
                    let pad = try SumNoise.pad(layout: layout, n: key.n, using: context.random)
                    pads.append(pad)
                    c = try key.addPlaintext(c, key.decodeSigned((eta + pad).mod(key.n)))
                }
                sent.append((group: g, count: count, real: true))
                message.groups.append(
                    EncryptedSumsMessage.Group(
                        label: spec.grouping != nil ? context.prepared.groupLabels[Int(g)] : nil, count: UInt64(count),
                        ciphertext: key.serialize(c)))
            }
            // The total is withheld when a group was suppressed: total − Σ reported would reveal it.
            // It is also withheld whenever a tag opened to no group (known before any matching):
            // otherwise its absence would tell P2 whether an element it altered matched.
            // With privacy the total is the noisy count when ungrouped and withheld when grouped.
            let reportedTotal = reportable.reduce(0) { $0 + (groupCounts[$1] ?? 0) }
            if let noise {
                if spec.grouping == nil, let v = overlap?.value { message.intersection = UInt64(v) }
            } else if reportedTotal == outcome.overlap && unknownTags == 0 {
                message.intersection = UInt64(outcome.overlap)
            }
        }
        groupSums = []
        dummySum = nil
        slotNoise = [:]
        let frames = [message.frame(ciphertextBytes: key.ciphertextBytes)]
        if context.receives && !message.suppressed && !message.groups.isEmpty {
            pending = result
            return .awaiting(frames)
        }
        if context.receives && (overlap?.value != nil || (noise != nil && spec.grouping != nil)) { result.groups = [] }
        result.anomalies = anomalies.isEmpty ? nil : anomalies
        return .finished(result, frames)
    }

    func onPeerAnswer(_ frame: Frame) throws -> SessionResult {
        guard frame.type == .decryptedSums, var result = pending else {
            throw CleanRoomProtocolError.unexpectedMessage(type: frame.type.description, state: awaitingDescription)
        }
        let key = try key()
        let m = try DecryptedSumsMessage.decode(frame, plaintextBytes: key.modulusBytes, expected: sent.count)
        var groups: [GroupResult] = []
        // Every entry gets the same public check (below n). What only real entries get — unmasking
        // and decoding — never aborts: a decoding failure is an anomaly in this party's own result,
        // since an abort would tell P2 which entries were real.
        for (i, plaintext) in m.plaintexts.enumerated() where BigInteger(bigEndian: plaintext) >= key.n {
            throw CleanRoomProtocolError.malformedMessage(type: "DECRYPTED_SUMS", problem: "plaintext \(i) is not below n")
        }
        // Every entry is unmasked and decoded, real or not (a fake entry decodes to zeros), so the
        // time until this party closes the connection does not count the real ones.
        var undecodable = 0
        for (i, g) in sent.enumerated() {
            var plain = BigInteger(bigEndian: m.plaintexts[i])
            if !masks.isEmpty { plain = (plain - masks[i]).mod(key.n) }
            if i < pads.count { plain = (plain - pads[i]).mod(key.n) }
            // With privacy only the layout's bits are read: above them is P2's pad.
            if noise != nil { plain = plain.lowBits(layout.totalBits) }
            let label = spec.grouping != nil && g.real ? context.prepared.groupLabels[Int(g.group)] : nil
            let decoded = try? spec.groupResult(
                label: label, count: max(1, g.count), plaintext: plain, layout: layout,
                offsets: noise?.offsets(p1Added: masks.isEmpty) ?? [])
            guard g.real else { continue }
            if let decoded {
                groups.append(decoded)
            } else {
                undecodable += 1
            }
        }
        if undecodable > 0 {
            decodeAnomalies.append(
                "\(undecodable) sum(s) in DECRYPTED_SUMS do not fit the slot layout: the peer altered them; those groups are left out")
        }
        // A suppressed overlap reports no groups at all, masked or not.
        if result.intersectionSize?.suppressedBelow == nil { result.groups = groups }
        result.anomalies = anomalies.isEmpty ? nil : anomalies
        wipe()
        return result
    }

    func wipe() {
        units = nil
        tagKey = nil
        masks = []
        pads = []
        groupSums = []
        dummySum = nil
        groupCounts = [:]
        groupOf = []
        sent = []
        pending = nil
        countNoise = [:]
        slotNoise = [:]
    }
}
