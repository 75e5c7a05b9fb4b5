// One party's own ledger across runs, in an SQLite database only that party writes: which
// collaborations are frozen (after a session in which the peer deviated in a way the protocol
// detects without aborting). The privacy budget of differential privacy goes in the same file.
// A freeze is keyed by both parties' certificate fingerprints: it stops every collaboration with
// that peer, so neither editing nor renaming the file lifts it. (The privacy budget will be keyed
// by the collaboration's name as well.)
import CSQLite
import CleanRoomProtocol
import Foundation

/// What identifies a collaboration in the ledger.
public struct CollaborationKey: Sendable, Equatable {
    public var name: String
    public var ownCertificateSHA256: String
    public var peerCertificateSHA256: String

    public init(name: String, ownCertificateSHA256: String, peerCertificateSHA256: String) {
        self.name = name
        self.ownCertificateSHA256 = ownCertificateSHA256
        self.peerCertificateSHA256 = peerCertificateSHA256
    }

    /// The key of `collaboration` as seen by `party`.
    public init(_ collaboration: Collaboration, party: String) throws {
        self.init(
            name: collaboration.name, ownCertificateSHA256: try collaboration.party(named: party).certificateSHA256,
            peerCertificateSHA256: try collaboration.party(named: collaboration.peer(of: party)).certificateSHA256)
    }
}

/// A peer this party refuses to run sessions with until a person lifts the freeze.
public struct Freeze: Sendable, Equatable {
    /// The collaboration of the session that caused it.
    public var collaboration: String
    /// The digest of the collaboration file of the session that caused it.
    public var digest: String
    /// When (ISO 8601) and why.
    public var since: String
    public var reason: String
}

/// The ledger database (`--ledger`, default `~/.cleanroom/ledger.sqlite`).
public final class PartyLedger {
    /// `~/.cleanroom/ledger.sqlite` (the folder is created, owner-only, when the ledger is opened).
    public static var defaultPath: String {
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        return (home as NSString).appendingPathComponent(".cleanroom/ledger.sqlite")
    }

    private var db: OpaquePointer?
    public let path: String

    /// Opens (creating if needed) the database at `path`.
    /// - Throws: `RunnerError` (stage configuration) naming the file and SQLite's message.
    public init(path: String) throws {
        self.path = path
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty && !FileManager.default.fileExists(atPath: folder) && path == Self.defaultPath {
            try? FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil) == SQLITE_OK else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            db = nil
            throw RunnerError(.configuration, "cannot open the ledger \(path): \(message)")
        }
        sqlite3_busy_timeout(db, 10_000)
        // The schema version: a file written by a later version, or not by CleanRoom at all, is
        // refused rather than reset.
        // One write transaction, so two processes opening an old file do not both upgrade it.
        try execute("BEGIN IMMEDIATE")
        do {
            try createOrUpgrade()
            try execute("COMMIT")
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Creates the tables of a new file, or upgrades a version-1 file (no δ column) in place.
    private func createOrUpgrade() throws {
        let version = try queryInt("PRAGMA user_version")
        guard version <= Self.schemaVersion else {
            throw RunnerError(.configuration, "ledger \(path) has schema version \(version); this CleanRoom knows \(Self.schemaVersion)")
        }
        try execute(
            """
            CREATE TABLE IF NOT EXISTS frozen_collaborations (
                own_certificate TEXT NOT NULL,
                peer_certificate TEXT NOT NULL,
                collaboration TEXT NOT NULL,
                digest TEXT NOT NULL,
                since TEXT NOT NULL,
                reason TEXT NOT NULL,
                PRIMARY KEY (own_certificate, peer_certificate)
            )
            """)
        try execute(
            """
            CREATE TABLE IF NOT EXISTS sessions (
                id INTEGER PRIMARY KEY,
                collaboration TEXT NOT NULL,
                own_certificate TEXT NOT NULL,
                peer_certificate TEXT NOT NULL,
                analysis TEXT NOT NULL,
                started TEXT NOT NULL,
                outcome TEXT NOT NULL,
                epsilon_micros INTEGER NOT NULL DEFAULT 0,
                delta_femtos INTEGER NOT NULL DEFAULT 0
            )
            """)
        if version == 1 {
            // Version 1 counted ε only: its sessions spent no δ.
            try execute("ALTER TABLE sessions ADD COLUMN delta_femtos INTEGER NOT NULL DEFAULT 0")
        }
        try execute("PRAGMA user_version = \(Self.schemaVersion)")
    }

    deinit { sqlite3_close(db) }

    /// The schema this code writes (`PRAGMA user_version`).
    static let schemaVersion = 2

    // MARK: Sessions

    /// Why a reservation was refused.
    public enum Refusal: Error, Equatable, Sendable {
        /// `limit` sessions of the analysis are already counted.
        case maxSessions(limit: Int)
        /// ε spent on the collaboration so far (millionths), and the budget.
        case epsilon(spent: Int, budget: Int)
        /// δ spent on the collaboration so far (units of 10^-15), and the budget.
        case delta(spent: Int64, budget: Int64)
    }

    /// Reserves one session of `analysis` with the peer of `key`, spending `epsilonMicros` of the
    /// collaboration's ε, unless `limit` sessions of it are already counted or the ε spent on the
    /// collaboration would exceed `epsilonBudget`. Atomic across processes (one write
    /// transaction), so concurrent runs cannot overspend. A reservation counts until it is
    /// released: a run that is killed keeps it.
    public func reserveSession(
        _ key: CollaborationKey, analysis: String, limit: Int?, epsilonMicros: Int = 0, epsilonBudget: Int? = nil,
        deltaFemtos: Int64 = 0, deltaBudget: Int64? = nil
    ) throws -> Result<Int64, Refusal> {
        try execute("BEGIN IMMEDIATE")
        do {
            let count = try sessionCount(key, analysis: analysis)
            if let limit, count >= limit {
                try execute("ROLLBACK")
                return .failure(.maxSessions(limit: limit))
            }
            let spent = try epsilonSpent(key)
            if let epsilonBudget, epsilonMicros > 0, spent + epsilonMicros > epsilonBudget {
                try execute("ROLLBACK")
                return .failure(.epsilon(spent: spent, budget: epsilonBudget))
            }
            let deltaSpent = try self.deltaSpent(key)
            if let deltaBudget, deltaFemtos > 0, deltaSpent + deltaFemtos > deltaBudget {
                try execute("ROLLBACK")
                return .failure(.delta(spent: deltaSpent, budget: deltaBudget))
            }
            try execute(
                """
                INSERT INTO sessions (collaboration, own_certificate, peer_certificate, analysis, started, outcome, epsilon_micros, delta_femtos)
                VALUES (?1, ?2, ?3, ?4, ?5, 'reserved', ?6, ?7)
                """,
                [key.name, key.ownCertificateSHA256, key.peerCertificateSHA256, analysis, ISO8601DateFormatter().string(from: Date())],
                ids: [Int64(epsilonMicros), deltaFemtos])
            let id = sqlite3_last_insert_rowid(db)
            try execute("COMMIT")
            return .success(id)
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// ε (millionths) counted on the collaboration `key` with its peer, over every analysis.
    public func epsilonSpent(_ key: CollaborationKey) throws -> Int {
        let statement = try prepare(
            "SELECT COALESCE(SUM(epsilon_micros), 0) FROM sessions WHERE collaboration = ?1 AND own_certificate = ?2 AND peer_certificate = ?3",
            [key.name, key.ownCertificateSHA256, key.peerCertificateSHA256])
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else { throw fail("sum") }
        return Int(sqlite3_column_int64(statement, 0))
    }

    /// δ (units of 10^-15) counted on the collaboration `key` with its peer, over every analysis.
    public func deltaSpent(_ key: CollaborationKey) throws -> Int64 {
        let statement = try prepare(
            "SELECT COALESCE(SUM(delta_femtos), 0) FROM sessions WHERE collaboration = ?1 AND own_certificate = ?2 AND peer_certificate = ?3",
            [key.name, key.ownCertificateSHA256, key.peerCertificateSHA256])
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else { throw fail("sum") }
        return sqlite3_column_int64(statement, 0)
    }

    /// Sessions of `analysis` counted with the peer of `key` (reserved, completed or failed).
    public func sessionCount(_ key: CollaborationKey, analysis: String) throws -> Int {
        let statement = try prepare(
            "SELECT COUNT(*) FROM sessions WHERE collaboration = ?1 AND own_certificate = ?2 AND peer_certificate = ?3 AND analysis = ?4",
            [key.name, key.ownCertificateSHA256, key.peerCertificateSHA256, analysis])
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else { throw fail("count") }
        return Int(sqlite3_column_int64(statement, 0))
    }

    /// What the ledger counts for one analysis of one collaboration with one peer.
    public struct SessionTally: Sendable, Equatable, Codable {
        public var collaboration: String
        public var peerCertificateSHA256: String
        public var analysis: String
        /// Sessions counted: completed, failed after sending data, or still reserved (a run in
        /// progress, or one that was killed).
        public var sessions: Int
        public var completed: Int
        /// When the last one started (ISO 8601).
        public var lastStarted: String
        /// ε spent by these sessions, as a decimal.
        public var epsilonSpent: String
        /// δ spent by these sessions (`1e-9`, or a decimal).
        public var deltaSpent: String
        /// The same two, exactly: ε in millionths, δ in units of 10^-15.
        public var epsilonSpentMicros: Int
        public var deltaSpentFemtos: Int64

        enum CodingKeys: String, CodingKey {
            case collaboration
            case peerCertificateSHA256 = "peer_certificate_sha256"
            case analysis, sessions, completed
            case lastStarted = "last_started"
            case epsilonSpent = "epsilon_spent"
            case deltaSpent = "delta_spent"
            case epsilonSpentMicros = "epsilon_spent_micros"
            case deltaSpentFemtos = "delta_spent_femtos"
        }
    }

    /// Every collaboration and analysis the ledger counts sessions of, by name.
    public func tallies() throws -> [SessionTally] {
        let statement = try prepare(
            """
            SELECT collaboration, peer_certificate, analysis, COUNT(*), SUM(outcome = 'completed'), MAX(started), SUM(epsilon_micros),
                SUM(delta_femtos)
            FROM sessions GROUP BY collaboration, own_certificate, peer_certificate, analysis
            ORDER BY collaboration, analysis, peer_certificate
            """, [])
        defer { sqlite3_finalize(statement) }
        var rows: [SessionTally] = []
        while true {
            let step = sqlite3_step(statement)
            if step == SQLITE_DONE { break }
            guard step == SQLITE_ROW else { throw fail("step") }
            func text(_ column: Int32) -> String { sqlite3_column_text(statement, column).map { String(cString: $0) } ?? "" }
            rows.append(
                SessionTally(
                    collaboration: text(0), peerCertificateSHA256: text(1), analysis: text(2),
                    sessions: Int(sqlite3_column_int64(statement, 3)),
                    completed: Int(sqlite3_column_int64(statement, 4)), lastStarted: text(5),
                    epsilonSpent: PrivacySpec.decimal(micros: Int(sqlite3_column_int64(statement, 6))),
                    deltaSpent: PrivacySpec.deltaText(femtos: sqlite3_column_int64(statement, 7)),
                    epsilonSpentMicros: Int(sqlite3_column_int64(statement, 6)), deltaSpentFemtos: sqlite3_column_int64(statement, 7)))
        }
        return rows
    }

    /// Records how a reserved session ended (it keeps counting).
    public func settle(_ reservation: Int64, outcome: String) throws {
        try execute("UPDATE sessions SET outcome = ?1 WHERE id = ?2", [outcome], ids: [reservation])
    }

    /// Hands a reservation back: only for a session that sent nothing beyond the handshake.
    public func release(_ reservation: Int64) throws {
        try execute("DELETE FROM sessions WHERE id = ?1 AND outcome = 'reserved'", [], ids: [reservation])
    }

    private static let keyClause = "own_certificate = ?1 AND peer_certificate = ?2"
    private func arguments(_ key: CollaborationKey) -> [String] { [key.ownCertificateSHA256, key.peerCertificateSHA256] }

    /// The freeze on sessions with the peer of `key` (whatever the collaboration), if there is one.
    public func freeze(of key: CollaborationKey) throws -> Freeze? {
        try query("SELECT collaboration, digest, since, reason FROM frozen_collaborations WHERE \(Self.keyClause)", arguments(key)).first
    }

    /// Freezes sessions with the peer of `key` (keeping the first freeze if there is one).
    public func freeze(_ key: CollaborationKey, digest: String, reason: String) throws {
        let since = ISO8601DateFormatter().string(from: Date())
        try execute(
            """
            INSERT OR IGNORE INTO frozen_collaborations (own_certificate, peer_certificate, collaboration, digest, since, reason)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6)
            """,
            arguments(key) + [key.name, digest, since, reason])
    }

    /// Every freeze in force, with the peer's certificate fingerprint.
    public func freezes() throws -> [(peerCertificateSHA256: String, freeze: Freeze)] {
        let statement = try prepare(
            "SELECT peer_certificate, collaboration, digest, since, reason FROM frozen_collaborations ORDER BY since", [])
        defer { sqlite3_finalize(statement) }
        var rows: [(String, Freeze)] = []
        while true {
            let step = sqlite3_step(statement)
            if step == SQLITE_DONE { break }
            guard step == SQLITE_ROW else { throw fail("step") }
            func text(_ column: Int32) -> String { sqlite3_column_text(statement, column).map { String(cString: $0) } ?? "" }
            rows.append((text(0), Freeze(collaboration: text(1), digest: text(2), since: text(3), reason: text(4))))
        }
        return rows
    }

    /// Lifts the freeze on the peer of `key`; returns it, or nil when there was none.
    public func unfreeze(_ key: CollaborationKey) throws -> Freeze? {
        try execute("BEGIN IMMEDIATE")
        do {
            let existing = try freeze(of: key)
            if existing != nil { try execute("DELETE FROM frozen_collaborations WHERE \(Self.keyClause)", arguments(key)) }
            try execute("COMMIT")
            return existing
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    // MARK: SQLite

    private func fail(_ what: String) -> RunnerError {
        RunnerError(.configuration, "ledger \(path): \(what): \(String(cString: sqlite3_errmsg(db)))")
    }

    /// A prepared statement with `arguments` bound as text (?1, ?2, …), then `ids` as integers.
    private func prepare(_ sql: String, _ arguments: [String], ids: [Int64] = []) throws -> OpaquePointer {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else { throw fail("prepare") }
        // SQLITE_TRANSIENT: SQLite copies the text before the Swift string goes away.
        let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
        var ok = true
        for (i, argument) in arguments.enumerated() where ok {
            ok = sqlite3_bind_text(statement, Int32(i + 1), argument, -1, transient) == SQLITE_OK
        }
        for (i, id) in ids.enumerated() where ok {
            ok = sqlite3_bind_int64(statement, Int32(arguments.count + i + 1), id) == SQLITE_OK
        }
        guard ok else {
            let error = fail("bind")  // read the message before the statement goes
            sqlite3_finalize(statement)
            throw error
        }
        return statement
    }

    private func queryInt(_ sql: String) throws -> Int {
        let statement = try prepare(sql, [])
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else { throw fail("step") }
        return Int(sqlite3_column_int64(statement, 0))
    }

    private func execute(_ sql: String, _ arguments: [String] = [], ids: [Int64] = []) throws {
        let statement = try prepare(sql, arguments, ids: ids)
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_DONE else { throw fail("step") }
    }

    private func query(_ sql: String, _ arguments: [String]) throws -> [Freeze] {
        let statement = try prepare(sql, arguments)
        defer { sqlite3_finalize(statement) }
        var rows: [Freeze] = []
        while true {
            let step = sqlite3_step(statement)
            if step == SQLITE_DONE { break }
            guard step == SQLITE_ROW else { throw fail("step") }
            func text(_ column: Int32) -> String { sqlite3_column_text(statement, column).map { String(cString: $0) } ?? "" }
            rows.append(Freeze(collaboration: text(0), digest: text(1), since: text(2), reason: text(3)))
        }
        return rows
    }
}
