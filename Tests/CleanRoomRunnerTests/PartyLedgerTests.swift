import CSQLite
import Foundation
import Testing

@testable import CleanRoomRunner

/// The per-party ledger: freezes persist across opens, are keyed by the collaboration's name and
/// both certificates, are lifted only explicitly, and a damaged file is an error, never a reset.
@Suite struct PartyLedgerTests {
    static func path() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("cleanroom-ledger-\(UUID().uuidString).sqlite").path
    }

    static let acme = CollaborationKey(name: "acme", ownCertificateSHA256: "aa", peerCertificateSHA256: "bb")

    @Test func aFreezePersistsUntilLifted() throws {
        let path = Self.path()
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let ledger = try PartyLedger(path: path)
            #expect(try ledger.freeze(of: Self.acme) == nil)
            try ledger.freeze(Self.acme, digest: "d1", reason: "first")
            try ledger.freeze(Self.acme, digest: "d2", reason: "second")  // the first reason stays
        }
        let reopened = try PartyLedger(path: path)
        let freeze = try #require(try reopened.freeze(of: Self.acme))
        #expect(freeze.digest == "d1" && freeze.reason == "first" && !freeze.since.isEmpty)
        // The freeze is on the peer: another (or a renamed) collaboration with it is frozen too; the
        // same name with another peer is not.
        #expect(try reopened.freeze(of: CollaborationKey(name: "other", ownCertificateSHA256: "aa", peerCertificateSHA256: "bb")) == freeze)
        #expect(try reopened.freeze(of: CollaborationKey(name: "acme", ownCertificateSHA256: "aa", peerCertificateSHA256: "cc")) == nil)
        #expect(freeze.collaboration == "acme")
        #expect(try reopened.unfreeze(Self.acme) == freeze)
        #expect(try reopened.unfreeze(Self.acme) == nil)
        #expect(try PartyLedger(path: path).freeze(of: Self.acme) == nil)
    }

    @Test func quotesAndControlCharactersAreStoredVerbatim() throws {
        let path = Self.path()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ledger = try PartyLedger(path: path)
        let key = CollaborationKey(
            name: "x'); DROP TABLE frozen_collaborations; --\n\u{202E}", ownCertificateSHA256: "aa", peerCertificateSHA256: "bb")
        try ledger.freeze(key, digest: "d", reason: "r'\"")
        #expect(try ledger.freeze(of: key)?.reason == "r'\"")
    }

    @Test func anUnopenableLedgerIsAClearError() {
        do {
            _ = try PartyLedger(path: "/nonexistent-dir/ledger.sqlite")
            Issue.record("opened a ledger in a missing folder")
        } catch let e as RunnerError {
            #expect(e.description.contains("cannot open the ledger /nonexistent-dir/ledger.sqlite"), "\(e)")
        } catch { Issue.record("\(error)") }
    }

    /// A file that is not an SQLite database is refused, and left as it was: no silent reset.
    @Test func aCorruptLedgerIsAnErrorNotAReset() throws {
        let path = Self.path()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let garbage = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) })
        try garbage.write(to: URL(fileURLWithPath: path))
        do {
            _ = try PartyLedger(path: path)
            Issue.record("a corrupt ledger was opened")
        } catch let e as RunnerError {
            #expect(e.description.contains(path) && e.description.contains("not a database"), "\(e)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == garbage)
    }

    @Test func sessionsAreReservedUpToTheLimitAndReleasedOnlyExplicitly() throws {
        let path = Self.path()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ledger = try PartyLedger(path: path)
        let a = try ledger.reserveSession(Self.acme, analysis: "overlap", limit: 2).get()
        let b = try ledger.reserveSession(Self.acme, analysis: "overlap", limit: 2).get()
        #expect(try ledger.reserveSession(Self.acme, analysis: "overlap", limit: 2) == .failure(.maxSessions(limit: 2)))
        _ = try ledger.reserveSession(Self.acme, analysis: "spend", limit: 2).get()  // per analysis
        try ledger.settle(a, outcome: "completed")
        try ledger.release(a)  // settled sessions are not handed back
        #expect(try ledger.sessionCount(Self.acme, analysis: "overlap") == 2)
        try ledger.release(b)  // a reservation that sent nothing is
        #expect(try ledger.sessionCount(Self.acme, analysis: "overlap") == 1)
        _ = try ledger.reserveSession(Self.acme, analysis: "overlap", limit: 2).get()
        _ = try ledger.reserveSession(Self.acme, analysis: "overlap", limit: nil).get()  // no limit: counted only
        #expect(try PartyLedger(path: path).sessionCount(Self.acme, analysis: "overlap") == 3)
    }

    /// ε is spent per collaboration (over all analyses) and refused before the budget is passed;
    /// a session that spends nothing is not held back by a spent budget.
    @Test func epsilonIsSpentUpToTheBudget() throws {
        let path = Self.path()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ledger = try PartyLedger(path: path)
        _ = try ledger.reserveSession(Self.acme, analysis: "overlap", limit: nil, epsilonMicros: 600_000, epsilonBudget: 1_000_000).get()
        _ = try ledger.reserveSession(Self.acme, analysis: "other", limit: nil, epsilonMicros: 400_000, epsilonBudget: 1_000_000).get()
        #expect(try ledger.epsilonSpent(Self.acme) == 1_000_000)
        #expect(
            try ledger.reserveSession(Self.acme, analysis: "overlap", limit: nil, epsilonMicros: 1, epsilonBudget: 1_000_000)
                == .failure(.epsilon(spent: 1_000_000, budget: 1_000_000)))
        _ = try ledger.reserveSession(Self.acme, analysis: "overlap", limit: nil, epsilonMicros: 0, epsilonBudget: 1_000_000).get()
        // Another peer has its own budget.
        let other = CollaborationKey(name: "acme", ownCertificateSHA256: "aa", peerCertificateSHA256: "cc")
        _ = try ledger.reserveSession(other, analysis: "overlap", limit: nil, epsilonMicros: 600_000, epsilonBudget: 1_000_000).get()
        let tallies = try ledger.tallies()
        #expect(tallies.first { $0.analysis == "overlap" && $0.peerCertificateSHA256 == "bb" }?.epsilonSpent == "0.6")
    }

    /// δ is spent like ε: per collaboration, refused before the budget is passed, and shown.
    @Test func deltaIsSpentUpToTheBudget() throws {
        let path = Self.path()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ledger = try PartyLedger(path: path)
        _ = try ledger.reserveSession(Self.acme, analysis: "spend", limit: nil, deltaFemtos: 1_000_001, deltaBudget: 3_000_000).get()
        _ = try ledger.reserveSession(Self.acme, analysis: "spend", limit: nil, deltaFemtos: 1_000_001, deltaBudget: 3_000_000).get()
        #expect(
            try ledger.reserveSession(Self.acme, analysis: "other", limit: nil, deltaFemtos: 1_000_001, deltaBudget: 3_000_000)
                == .failure(.delta(spent: 2_000_002, budget: 3_000_000)))
        #expect(try ledger.deltaSpent(Self.acme) == 2_000_002)
        let tally = try #require(try ledger.tallies().first { $0.analysis == "spend" })
        #expect(tally.deltaSpent == "0.000000002000002" && tally.deltaSpentFemtos == 2_000_002)
    }

    /// A ledger written by the first schema (no δ column) is upgraded in place, keeping what it
    /// counted; its sessions spent no δ.
    @Test func aVersionOneLedgerIsUpgradedNotReset() throws {
        let path = Self.path()
        defer { try? FileManager.default.removeItem(atPath: path) }
        var db: OpaquePointer?
        #expect(sqlite3_open(path, &db) == SQLITE_OK)
        let v1 = """
            CREATE TABLE sessions (id INTEGER PRIMARY KEY, collaboration TEXT NOT NULL, own_certificate TEXT NOT NULL,
              peer_certificate TEXT NOT NULL, analysis TEXT NOT NULL, started TEXT NOT NULL, outcome TEXT NOT NULL,
              epsilon_micros INTEGER NOT NULL DEFAULT 0);
            INSERT INTO sessions (collaboration, own_certificate, peer_certificate, analysis, started, outcome, epsilon_micros)
              VALUES ('acme', 'aa', 'bb', 'overlap', '2026-11-30T10:00:00Z', 'completed', 500000);
            PRAGMA user_version = 1;
            """
        #expect(sqlite3_exec(db, v1, nil, nil, nil) == SQLITE_OK)
        sqlite3_close(db)
        let ledger = try PartyLedger(path: path)
        #expect(try ledger.epsilonSpent(Self.acme) == 500_000)
        #expect(try ledger.deltaSpent(Self.acme) == 0)
        #expect(try ledger.sessionCount(Self.acme, analysis: "overlap") == 1)
        _ = try ledger.reserveSession(Self.acme, analysis: "overlap", limit: 2, deltaFemtos: 5).get()
        #expect(try ledger.deltaSpent(Self.acme) == 5)
        // Opening it again finds version 2 and changes nothing.
        #expect(try PartyLedger(path: path).sessionCount(Self.acme, analysis: "overlap") == 2)
    }

    /// Two processes' worth of concurrent reservations on one ledger never exceed the limit.
    @Test func concurrentReservationsCannotOverspend() async throws {
        let path = Self.path()
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try PartyLedger(path: path)
        let granted = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let ledger = try PartyLedger(path: path)  // a connection of its own, as another process would have
                    var mine = 0
                    for _ in 0..<25 {
                        if case .success = try ledger.reserveSession(
                            Self.acme, analysis: "overlap", limit: 30, epsilonMicros: 1, epsilonBudget: 28)
                        {
                            mine += 1
                        }
                    }
                    return mine
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(granted == 28)  // the ε budget (28 millionths at 1 each) binds before the 30 sessions
        #expect(try PartyLedger(path: path).sessionCount(Self.acme, analysis: "overlap") == 28)
    }

    /// A ledger written by a later schema is refused, not reset.
    @Test func aLedgerFromALaterSchemaIsRefused() throws {
        let path = Self.path()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ledger = try PartyLedger(path: path)
        try ledger.freeze(Self.acme, digest: "d", reason: "r")
        var db: OpaquePointer?
        #expect(sqlite3_open(path, &db) == SQLITE_OK)
        #expect(sqlite3_exec(db, "PRAGMA user_version = 99", nil, nil, nil) == SQLITE_OK)
        sqlite3_close(db)
        do {
            _ = try PartyLedger(path: path)
            Issue.record("a ledger of schema 99 was opened")
        } catch let e as RunnerError { #expect(e.description.contains("schema version 99"), "\(e)") }
    }
}
