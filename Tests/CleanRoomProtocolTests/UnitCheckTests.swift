import CleanRoomCrypto
import Testing
import _CleanRoomTestSupport

@testable import CleanRoomProtocol

/// A value owner that plants a ciphertext sharing a factor with n (which would survive the sum and
/// tell it, from gcd(sum, n), whether that identifier matched) is refused by P1 whatever matched.
@Suite struct UnitCheckTests {
    /// Runs total-spend, replacing the ciphertext of P2_ELEMENTS record `record` by `forge(n)`.
    static func run(_ d: Dataset, record: Int, forge: @escaping (BigInteger) -> BigInteger) throws
        -> Error?
    {
        let c = try Fixtures.collaboration()
        let ad = try PartySession(collaboration: c, analysis: "total-spend", party: "advertiser", input: d.advertiser)
        let pub = try PartySession(collaboration: c, analysis: "total-spend", party: "publisher", input: d.publisher)
        let seen = KeySeen()
        do {
            _ = try InMemorySession.run(ad, pub) { from, _, bytes in
                let frame = Frame(type: MessageType(rawValue: bytes[1]) ?? .abort, payload: Array(bytes[6...]))
                if from == "advertiser", frame.type == .setSize, let k = try? SetSizeMessage.decode(frame).paillierKey {
                    seen.key = try? PaillierPublicKey.deserialize(k)
                }
                guard frame.type == .p2Elements, let key = seen.key, !seen.done else { return bytes }
                seen.done = true
                var payload = frame.payload
                let width = 32 + key.ciphertextBytes
                let at = 4 + width * record + 32
                guard let forged = try? forge(key.n).bigEndianBytes(width: key.ciphertextBytes) else { return bytes }
                payload.replaceSubrange(at..<(at + key.ciphertextBytes), with: forged)
                return Frame(type: .p2Elements, payload: payload).encoded()
            }
        } catch let f as SessionFailure {
            return f.error
        }
        return nil
    }

    final class KeySeen: @unchecked Sendable {
        var key: PaillierPublicKey?
        var done = false
    }

    static func expectRefused(_ error: Error?) {
        guard case .invalidPeerCryptography(let problem)? = error as? CleanRoomProtocolError else {
            Issue.record("got \(String(describing: error))")
            return
        }
        #expect(problem.contains("not a unit"))
    }

    @Test func nonUnitCiphertextOfAnUnmatchedElementIsRefused() throws {
        // No overlap at all: the planted ciphertext is never added, and is still refused.
        let disjoint = Dataset.make(advertiserOnly: 6, publisherOnly: 6, shared: 0)
        Self.expectRefused(try Self.run(disjoint, record: 0) { n in n })
    }

    @Test func nonUnitCiphertextIsRefusedWhereverItSits() throws {
        // Every position, matched or not: the outcome is the same refusal.
        let d = Dataset.make(advertiserOnly: 3, publisherOnly: 3, shared: 6)
        for record in 0..<9 {
            // n·2 + n (a multiple of n, below n², positive).
            Self.expectRefused(try Self.run(d, record: record) { n in n * BigInteger(3) })
        }
    }

    @Test func unitCheckAcceptsUnitsAndCatchesAFactorOfN() throws {
        let key = try PaillierPrivateKey.generate(bits: 2048).publicKey
        let check = try PaillierUnitCheck(key: key)
        for m in 0..<20 {
            let c = try key.encrypt(BigInteger(m))
            try key.serialize(c).withUnsafeBytes { check.add($0) }
        }
        #expect(check.allUnits && check.count == 20)
        try key.n.bigEndianBytes(width: key.ciphertextBytes).withUnsafeBytes { check.add($0) }
        #expect(!check.allUnits)
    }
}
