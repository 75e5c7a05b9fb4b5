import CleanRoomCrypto
import Foundation
import Testing
import _CleanRoomTestSupport

@testable import CleanRoomProtocol

/// Intersection-sum against a peer that deviates where a check could otherwise tell it a secret
/// (docs/protocol.md, "Against a malicious peer"): no abort or message shape may depend on a
/// decrypted value, a tag's content or whether an entry was real, and P2 decrypts at most
/// `max_groups` entries.
@Suite struct MaliciousPeerTests {
    typealias Tamper = (_ from: String, _ type: MessageType, _ bytes: [UInt8]) -> [UInt8]?

    /// Three campaigns: "big" (11 shared), "small" (3 shared; with `smallOnlyInOverlap`, also both
    /// publisher-only customers, so P1's own file holds 5 of it) and "tiny" (1 publisher-only).
    static func data(smallOnlyInOverlap: Bool = true) -> Dataset {
        var d = Dataset.make(advertiserOnly: 2, publisherOnly: 3, shared: 14, campaigns: ["big"])
        for i in 0..<3 { d.publisher.rows[i][1] = "small" }
        if smallOnlyInOverlap { for i in 14..<16 { d.publisher.rows[i][1] = "small" } }
        d.publisher.rows[16][1] = "tiny"
        return d
    }

    /// Runs `analysis` with `tamper`; both results and the transcript (throws `SessionFailure`).
    static func run(_ yaml: String, _ analysis: String, _ d: Dataset = data(), tamper: Tamper? = nil) throws -> (
        ad: SessionResult, pub: SessionResult, transcript: [TranscriptEntry]
    ) {
        let c = try Fixtures.collaboration(yaml)
        let ad = try PartySession(collaboration: c, analysis: analysis, party: "advertiser", input: d.advertiser, batchSize: 5)
        let pub = try PartySession(collaboration: c, analysis: analysis, party: "publisher", input: d.publisher, batchSize: 5)
        let (ra, rp, t) = try InMemorySession.run(ad, pub) { from, _, bytes in
            tamper?(from, MessageType(rawValue: bytes[1]) ?? .abort, bytes) ?? bytes
        }
        return (ra, rp, t)
    }

    /// What `party` put on the wire: each frame's type and length, in order.
    static func shape(_ t: [TranscriptEntry], of party: String) -> [String] {
        t.filter { $0.from == party }.map { "\(MessageType(rawValue: $0.bytes[1])?.description ?? "?")/\($0.bytes.count)" }
    }

    static func payload(_ bytes: [UInt8]) -> [UInt8] { Array(bytes[6...]) }

    // MARK: max_groups and P1's own groups

    @Test func p1WithMoreGroupsThanMaxGroupsRefusesBeforeTheSession() throws {
        let c = try Fixtures.collaboration(Fixtures.yaml(minGroup: 1, maxGroups: 2))
        #expect(throws: CleanRoomProtocolError.tooManyGroups(party: "publisher", groups: 3, minGroupSize: 1, maxGroups: 2)) {
            try PartySession(collaboration: c, analysis: "spend-by-campaign", party: "publisher", input: Self.data().publisher)
        }
        // Groups below min_group_size in P1's own file do not count: "tiny" (1) and "small" (5) stay out at 6.
        let strict = try Fixtures.collaboration(Fixtures.yaml(minGroup: 6, maxGroups: 1))
        _ = try PartySession(collaboration: strict, analysis: "spend-by-campaign", party: "publisher", input: Self.data().publisher)
    }

    /// A P1 that adds entries beyond max_groups is refused by P2, which decrypts every entry, in
    /// the masked shape (where P2 could otherwise only bound them by P1's set size) and unmasked.
    @Test(arguments: [["publisher"], ["advertiser", "publisher"]])
    func moreEntriesThanMaxGroupsAreRefusedByP2(receivers: [String]) throws {
        // Masked: one entry per P1 group (3 at min_group_size 1); unmasked: one per group that met
        // the threshold (2 at min_group_size 2, where "tiny" stays out).
        let limit = receivers.count == 1 ? 3 : 2
        let yaml = Fixtures.yaml(receiversSum: receivers, minGroup: receivers.count == 1 ? 1 : 2, maxGroups: limit)
        _ = try Self.run(yaml, "spend-by-campaign")  // as many entries as max_groups: accepted
        do {
            _ = try Self.run(yaml, "spend-by-campaign") { from, type, bytes in
                guard from == "publisher", type == .encryptedSums else { return bytes }
                var m = try! EncryptedSumsMessage.decode(
                    Frame(type: type, payload: Self.payload(bytes)), ciphertextBytes: 512, maxGroups: 100)
                var extra = m.groups[0]
                if extra.label != nil { extra.label = "zzz-extra" }
                m.groups.append(extra)
                m.intersection = nil
                return m.frame(ciphertextBytes: 512).encoded()
            }
            Issue.record("\(limit + 1) entries were accepted under max_groups: \(limit)")
        } catch let f as SessionFailure {
            #expect(f.party == "advertiser")
            guard case .malformedMessage("ENCRYPTED_SUMS", let problem) = f.error as? CleanRoomProtocolError else {
                Issue.record("got \(f.error)"); return
            }
            #expect(problem.contains("\(limit + 1) groups, at most \(limit)"), "\(problem)")
        }
    }

    // MARK: no abort that depends on a secret

    /// P2 swaps the two points of one group tag it returns: the tag then opens to no group. Before,
    /// P1 aborted exactly when that happened, and whether a shifted tag lands on a group depends on
    /// the group's secret index. Now the session completes with the same messages, and P1's own
    /// result records the anomaly.
    @Test(arguments: [0, 7])
    func anAlteredGroupTagIsAnAnomalyNotAnAbort(record: Int) throws {
        let yaml = Fixtures.yaml(receiversSum: ["publisher"], minGroup: 1)
        let honest = try Self.run(yaml, "spend-by-campaign")
        var first = true
        let tampered = try Self.run(yaml, "spend-by-campaign") { from, type, bytes in
            guard from == "advertiser", type == .p2Reblinded, first else { return bytes }
            first = false
            var b = bytes
            let tag = 6 + 4 + (32 + GroupTag.tagBytes) * (record % 5) + 32
            let half = GroupTag.tagBytes / 2
            let c1 = Array(b[tag..<(tag + half)])
            b.replaceSubrange(tag..<(tag + half), with: b[(tag + half)..<(tag + 2 * half)])
            b.replaceSubrange((tag + half)..<(tag + 2 * half), with: c1)
            return b
        }
        #expect(honest.pub.anomalies == nil)
        #expect(tampered.pub.anomalies?.first?.contains("1 group tag(s)") == true, "\(String(describing: tampered.pub.anomalies))")
        #expect(Self.shape(tampered.transcript, of: "publisher") == Self.shape(honest.transcript, of: "publisher"))
    }

    /// P2 alters a tag and then makes the session fail (a malformed P2_ELEMENTS): the anomaly is
    /// still reported by the failed session, so the runner freezes the collaboration all the same
    /// (otherwise a peer could alter tags in every session and never be frozen).
    @Test func anAnomalyOutlivesALaterFailure() throws {
        let c = try Fixtures.collaboration(Fixtures.yaml(receiversSum: ["publisher"], minGroup: 1))
        let d = Self.data()
        let ad = try PartySession(collaboration: c, analysis: "spend-by-campaign", party: "advertiser", input: d.advertiser, batchSize: 5)
        let pub = try PartySession(collaboration: c, analysis: "spend-by-campaign", party: "publisher", input: d.publisher, batchSize: 5)
        var swapped = false
        do {
            _ = try InMemorySession.run(ad, pub) { from, index, bytes in
                guard from == "advertiser" else { return bytes }
                switch MessageType(rawValue: bytes[1]) {
                case .p2Reblinded where !swapped:
                    swapped = true
                    var b = bytes
                    let tag = 6 + 4 + 32, half = GroupTag.tagBytes / 2
                    let c1 = Array(b[tag..<(tag + half)])
                    b.replaceSubrange(tag..<(tag + half), with: b[(tag + half)..<(tag + 2 * half)])
                    b.replaceSubrange((tag + half)..<(tag + 2 * half), with: c1)
                    return b
                case .p2Elements: return Frame(type: .p2Elements, payload: Array(Self.payload(bytes).dropLast())).encoded()
                default: return bytes
                }
            }
            Issue.record("the session completed")
        } catch let f as SessionFailure {
            #expect(f.party == "publisher")
        }
        #expect(pub.anomalies.first?.contains("1 group tag(s)") == true, "\(pub.anomalies)")
        #expect(ad.anomalies.isEmpty)
    }

    /// P2 corrupts one decrypted entry of a masked list (P1 alone receives). Entry 0 is "big"
    /// (reported), entry 1 "small" (suppressed after matching: a masked random value). Before, P1
    /// aborted exactly for the reported one. Now neither aborts: the reported group is left out and
    /// recorded as an anomaly in P1's own result, and what P1 sends is the same either way.
    @Test(arguments: [0, 1])
    func aCorruptedMaskedEntryNeverAborts(entry: Int) throws {
        let yaml = Fixtures.yaml(receiversSum: ["publisher"], minGroup: 4)
        let honest = try Self.run(yaml, "spend-by-campaign")
        #expect(honest.pub.groups?.map(\.label) == ["big"])
        let tampered = try Self.run(yaml, "spend-by-campaign") { from, type, bytes in
            guard from == "advertiser", type == .decryptedSums else { return bytes }
            let payload = Self.payload(bytes)
            var m = try! DecryptedSumsMessage.decode(
                Frame(type: type, payload: payload), plaintextBytes: 256, expected: (payload.count - 4) / 256)
            m.plaintexts[entry] = [UInt8](repeating: 0, count: 256)
            return m.frame().encoded()
        }
        #expect(Self.shape(tampered.transcript, of: "publisher") == Self.shape(honest.transcript, of: "publisher"))
        if entry == 0 {
            #expect(tampered.pub.groups == [])
            #expect(tampered.pub.anomalies?.first?.contains("DECRYPTED_SUMS") == true)
        } else {
            #expect(tampered.pub.groups == honest.pub.groups && tampered.pub.anomalies == nil)
        }
    }

    /// P1 shifts the encrypted sum it sends P2 (P2 receives, unmasked) by a chosen amount: a
    /// small shift still decodes, a large one overflows a slot. Before, P2 aborted on the
    /// overflow: one bit about its own values per session, enough for a binary search. Now both
    /// complete alike; P2's own result leaves the group out and records the anomaly.
    @Test(arguments: [false, true])
    func anOverflowProbeNeverAborts(overflow: Bool) throws {
        let yaml = Fixtures.yaml(minGroup: 1)
        let honest = try Self.run(yaml, "total-spend")
        var key: PaillierPublicKey?
        let tampered = try Self.run(yaml, "total-spend") { from, type, bytes in
            if from == "advertiser", type == .setSize,
                let k = try? SetSizeMessage.decode(Frame(type: type, payload: Self.payload(bytes))).paillierKey
            {
                key = try? PaillierPublicKey.deserialize(k)
            }
            guard from == "publisher", type == .encryptedSums, let key else { return bytes }
            var m = try! EncryptedSumsMessage.decode(Frame(type: type, payload: Self.payload(bytes)), ciphertextBytes: 512, maxGroups: 1)
            let shift = overflow ? BigInteger(1).shiftedLeft(1500) : BigInteger(1)
            let c = try! key.ciphertext(bytes: m.groups[0].ciphertext)
            m.groups[0].ciphertext = key.serialize(key.add(c, try! key.encrypt(shift)))
            return m.frame(ciphertextBytes: 512).encoded()
        }
        #expect(Self.shape(tampered.transcript, of: "advertiser") == Self.shape(honest.transcript, of: "advertiser"))
        #expect((tampered.ad.anomalies != nil) == overflow)
        #expect((tampered.ad.groups?.count ?? 0) == (overflow ? 0 : 1))
    }
}

/// The Paillier key P2 sends must come with a proof that gcd(n, φ(n)) = 1 for this handshake.
@Suite struct ModulusProofSessionTests {
    typealias Tamper = MaliciousPeerTests.Tamper

    /// Key `bad2048` of Vectors/paillier_modulus_proof.json: n = r·R, r = 10007, R ≡ 1 (mod r).
    static func maliciousKey() throws -> (n: BigInteger, r: BigInteger, bigR: BigInteger) {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Vectors/paillier_modulus_proof.json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let bad = try #require((json["keys"] as? [String: Any])?["bad2048"] as? [String: Any])
        func big(_ key: String) throws -> BigInteger {
            let text = try #require(bad[key] as? String)
            return try #require(BigInteger(hex: text))
        }
        return (try big("n"), try big("r"), try big("R"))
    }

    /// Runs total-spend; `replace` may rewrite P2's (the advertiser's) SET_SIZE given the
    /// handshake binding both parties compute. Returns the failure (the session must fail).
    static func refusal(replace: @escaping (SetSizeMessage, HandshakeBinding) throws -> SetSizeMessage) throws -> SessionFailure {
        var hellos: [String: HelloMessage] = [:]
        var counts: [String: Int] = [:]
        do {
            _ = try MaliciousPeerTests.run(Fixtures.yaml(), "total-spend") { from, type, bytes in
                let frame = Frame(type: type, payload: MaliciousPeerTests.payload(bytes))
                if type == .hello { hellos[from] = try? HelloMessage.decode(frame) }
                guard type == .setSize, let m = try? SetSizeMessage.decode(frame) else { return bytes }
                counts[from] = Int(m.count)
                guard from == "advertiser", let p1 = hellos["publisher"], let p2 = hellos["advertiser"], let p1Count = counts["publisher"]
                else { return bytes }
                let binding = HandshakeBinding(
                    digest: p1.digest, p1Nonce: p1.nonce, p2Nonce: p2.nonce, p1Count: p1Count, p2Count: Int(m.count))
                return (try? replace(m, binding))?.frame().encoded() ?? bytes
            }
        } catch let f as SessionFailure {
            #expect(
                !f.transcript.contains { MessageType(rawValue: $0.bytes[1]) == .p1Elements }, "P1 sent elements before refusing the key")
            return f
        }
        Issue.record("the session completed")
        throw CleanRoomProtocolError.sessionClosed
    }

    static func expectProofRefused(_ f: SessionFailure) {
        #expect(f.party == "publisher")
        guard case .invalidPeerCryptography(let problem) = f.error as? CleanRoomProtocolError else {
            Issue.record("got \(f.error)"); return
        }
        #expect(problem.contains("gcd(n, φ(n)) = 1 does not verify"), "\(problem)")
    }

    /// The modulus n = 10007·R passes every check a key had before, and lets P2 label each
    /// ciphertext. P2's best effort at roots for this session's challenges does not verify.
    @Test func theMaliciousModulusIsRefused() throws {
        let bad = try Self.maliciousKey()
        let key = try PaillierPublicKey(n: bad.n)  // the old checks accept it
        let one = BigInteger(1)
        let a = bad.r - one, b = (bad.bigR - one).dividedFloor(by: bad.r)
        let d = try #require(bad.n.inverse(modulus: (a * b).dividedFloor(by: BigInteger.gcd(a, b))))
        let f = try Self.refusal { m, binding in
            let roots = try PaillierModulusProof.challenges(publicKey: key, context: try binding.bytes()).map {
                try $0.power(d, modulus: bad.n, variableTime: true).bigEndianBytes(width: 256)
            }
            var forged = m
            forged.paillierKey = key.serialized()
            forged.paillierProof = roots.flatMap { $0 }
            return forged
        }
        Self.expectProofRefused(f)
    }

    /// An honest key and proof from another session (other nonces) do not verify here.
    @Test func aProofFromAnotherSessionIsRefused() throws {
        var recorded: SetSizeMessage?
        _ = try MaliciousPeerTests.run(Fixtures.yaml(), "total-spend") { from, type, bytes in
            if from == "advertiser", type == .setSize {
                recorded = try? SetSizeMessage.decode(Frame(type: type, payload: MaliciousPeerTests.payload(bytes)))
            }
            return bytes
        }
        let replay = try #require(recorded)
        Self.expectProofRefused(try Self.refusal { _, _ in replay })
    }

    /// A SET_SIZE whose proof has the wrong length is malformed; one with a root changed does not verify.
    @Test func aMissingOrAlteredProofIsRefused() throws {
        let altered = try Self.refusal { m, _ in
            var forged = m
            forged.paillierProof?[300] ^= 1
            return forged
        }
        Self.expectProofRefused(altered)
        do {
            _ = try MaliciousPeerTests.run(Fixtures.yaml(), "total-spend") { from, type, bytes in
                guard from == "advertiser", type == .setSize else { return bytes }
                return Frame(type: type, payload: Array(MaliciousPeerTests.payload(bytes).dropLast(2561))).encoded() + []
            }
            Issue.record("a SET_SIZE without its proof was accepted")
        } catch let f as SessionFailure {
            guard case .malformedMessage("SET_SIZE", _) = f.error as? CleanRoomProtocolError else { Issue.record("got \(f.error)"); return }
        }
    }
}
