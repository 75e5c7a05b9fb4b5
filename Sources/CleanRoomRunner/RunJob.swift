// One party's run of one analysis, start to end: load and check the collaboration file, check
// this party's TLS identity against the pin, open its data source (only the columns the analysis
// reads), run the session over the transport, write the result atomically, and fill the audit
// record as each fact becomes known. `cleanroom run` parses flags and prints; this does the work.
import CleanRoomCSV
import CleanRoomProtocol
import Foundation
import Logging

/// Everything a run needs from the command line.
public struct RunJob: Sendable {
    /// The collaboration file.
    public var collaborationPath: String
    /// This party's name in it.
    public var party: String
    /// This party's CSV file.
    public var dataPath: String
    /// The analysis (required when the file has more than one).
    public var analysis: String?
    /// Where to write the result JSON (atomically), if anywhere.
    public var resultPath: String?
    /// enrichment, receiver: where to write its CSV with the sender's columns appended (atomically).
    public var enrichedPath: String?
    /// Folder with PARTY.key.pem and PARTY.cert.pem.
    public var identityFolder: String
    public var connectTimeout: Duration
    public var idleTimeout: Duration
    public var batchSize: Int
    /// The longest the session may take once connected; nil: derived from the policy.
    public var sessionTimeout: Duration?
    /// This party's ledger (frozen collaborations).
    public var ledgerPath: String

    public init(
        collaborationPath: String, party: String, dataPath: String, analysis: String?, resultPath: String?,
        identityFolder: String, connectTimeout: Duration, idleTimeout: Duration, batchSize: Int, sessionTimeout: Duration? = nil,
        ledgerPath: String = PartyLedger.defaultPath, enrichedPath: String? = nil
    ) {
        self.enrichedPath = enrichedPath
        self.sessionTimeout = sessionTimeout
        self.ledgerPath = ledgerPath
        self.collaborationPath = collaborationPath
        self.party = party
        self.dataPath = dataPath
        self.analysis = analysis
        self.resultPath = resultPath
        self.identityFolder = identityFolder
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
        self.batchSize = batchSize
    }

    /// What a finished run produced.
    public struct Outcome: Sendable {
        public var collaboration: Collaboration
        public var analysis: Analysis
        public var result: SessionResult
    }

    /// Runs the job. `record` is filled as facts become known, so a failure at any stage still
    /// leaves an audit record naming what was known by then.
    /// - Parameter statistics: measurements for `--stats` (stage marks and transport progress).
    /// - Throws: `RunnerError` naming the stage that failed.
    public func run(
        record: inout AuditRecord, logger: Logger, statistics: RunStatistics? = nil,
        progress: (@Sendable (RunProgress) -> Void)? = nil
    ) async throws -> Outcome {
        // Policy.
        let collaboration: Collaboration
        do { collaboration = try Collaboration(contentsOf: URL(fileURLWithPath: collaborationPath)) } catch {
            throw RunnerError(.configuration, "\(error)")
        }
        record.collaboration = collaboration.name
        record.collaborationDigest = try? collaboration.digestHex()
        let me: Party, peer: Party
        do {
            me = try collaboration.party(named: party)
            peer = try collaboration.party(named: collaboration.peer(of: party))
        } catch { throw RunnerError(.configuration, "\(error)") }
        record.peer = peer.name
        record.peerCertificateSHA256 = peer.certificateSHA256
        let spec = try chooseAnalysis(collaboration)
        record.analysis = spec.name
        // The enriched CSV's path and columns are checked now: a session is never spent on a
        // result that cannot be written.
        if let enrichedPath {
            guard let enrichment = spec.enrichmentSpec, enrichment.receiver == me.name else {
                throw RunnerError(.output, "--enriched-out: '\(spec.name)' is not an enrichment this party receives")
            }
            try EnrichedCSV.check(
                dataPath: dataPath, columns: enrichment.columns.map(\.name), path: enrichedPath,
                others: [collaborationPath, ledgerPath] + (resultPath.map { [$0] } ?? []))
        }

        // After a session in which the peer deviated, no session with that peer runs (in any
        // collaboration) until a person lifts the freeze (the peer learns that, once: the refusal
        // is visible).
        let ledger = try PartyLedger(path: ledgerPath)
        let key = try CollaborationKey(collaboration, party: party)
        if let freeze = try ledger.freeze(of: key) {
            throw RunnerError(
                .policy,
                "sessions with \(peer.name) are frozen since \(freeze.since) (collaboration '\(freeze.collaboration)'): \(freeze.reason). Review it, then run `cleanroom collaboration unfreeze \(collaborationPath) --as \(party) --ledger \(ledgerPath)`"
            )
        }

        // The session's frames are hashed for the audit record (failed or not).
        let transcript: TranscriptDigest
        do { transcript = try TranscriptDigest(listens: me.listen != nil) } catch { throw RunnerError(.configuration, "\(error)") }
        defer { record.transcript = try? transcript.summary() }

        // Sessions of this analysis with this peer, counted in the ledger before anything is sent.
        // At the limit, the session still connects, to refuse in the handshake (so the peer learns
        // why), and nothing is counted.
        // This party spends ε only where it releases noisy values: P1 of a cardinality, either
        // party of an intersection-sum (P1 its counts and slot noise, P2 its decryptions).
        let addsNoise = spec.kind == .intersectionSum || spec.role(of: party, in: collaboration) == .p1
        let epsilon = addsNoise ? (spec.privacy?.epsilonMicros ?? 0) : 0
        let delta = addsNoise ? try spec.sessionDeltaFemtos(role: spec.role(of: party, in: collaboration)) : 0
        var reservation: Int64?
        var refusal: String?
        switch try ledger.reserveSession(
            key, analysis: spec.name, limit: collaboration.privacyBudget?.maxSessions, epsilonMicros: epsilon,
            epsilonBudget: collaboration.privacyBudget?.epsilonMicros, deltaFemtos: delta,
            deltaBudget: collaboration.privacyBudget?.deltaFemtos)
        {
        case .success(let id):
            reservation = id
        case .failure(.maxSessions(let limit)):
            refusal =
                "privacy_budget.max_sessions reached: \(party) has run \(limit) of \(limit) sessions of '\(spec.name)' with \(peer.name) in collaboration '\(collaboration.name)'"
        case .failure(.delta(let spent, let budget)):
            refusal =
                "privacy_budget.delta exhausted: \(party) has spent δ = \(PrivacySpec.deltaText(femtos: spent)) of \(PrivacySpec.deltaText(femtos: budget)) on collaboration '\(collaboration.name)' with \(peer.name); '\(spec.name)' needs δ = \(PrivacySpec.deltaText(femtos: delta))"
        case .failure(.epsilon(let spent, let budget)):
            refusal =
                "privacy_budget.epsilon exhausted: \(party) has spent ε = \(PrivacySpec.decimal(micros: spent)) of \(PrivacySpec.decimal(micros: budget)) on collaboration '\(collaboration.name)' with \(peer.name); '\(spec.name)' needs ε = \(PrivacySpec.decimal(micros: epsilon))"
        }
        var settled = false
        defer {
            // A session that sent nothing beyond the handshake hands its reservation back; any
            // other keeps counting, failed or not (and one that is killed keeps it too).
            if let reservation, !settled {
                if transcript.sentBeyondHandshake {
                    try? ledger.settle(reservation, outcome: "failed")
                } else {
                    try? ledger.release(reservation)
                }
            }
        }

        // Identity: our certificate must be the one the collaboration file pins for us.
        let (certPEM, keyPEM) = try readIdentity(pinned: me.certificateSHA256)

        // Session over the transport.
        let transport = TransportConfiguration(
            certificatePEM: certPEM, privateKeyPEM: keyPEM, peerFingerprint: peer.certificateSHA256,
            idleTimeout: idleTimeout, connectTimeout: connectTimeout)
        // The table is handed over without a name, so nothing but the session keeps its rows (the
        // runner drops them once the session has its compact form: about 40 bytes a row at 1M).
        let result: SessionResult
        do {
            result = try await SessionRunner.run(
                RunConfiguration(
                    collaboration: collaboration, analysis: spec.name, party: party,
                    input: try readData(columns: spec.requiredColumns(of: party).names, logger: logger, statistics: statistics),
                    transport: transport, batchSize: batchSize, sessionTimeout: sessionTimeout, transcript: transcript,
                    refusal: refusal),
                progress: progress)
        } catch let error as RunnerError {
            if let anomalies = error.anomalies {
                record.anomalies = anomalies
                try freeze(ledger, key, collaboration, spec, anomalies)
            }
            throw error
        }
        if let reservation {
            try? ledger.settle(reservation, outcome: "completed")
            settled = true
        }
        record.ownUniqueIdentifiers = result.uniqueIdentifiers
        record.peerUniqueIdentifiers = result.peerUniqueIdentifiers
        record.anomalies = result.anomalies

        // The peer deviated where an abort would have told it a secret: the session completed, and
        // the collaboration is frozen before anything else is written.
        if let anomalies = result.anomalies { try freeze(ledger, key, collaboration, spec, anomalies) }

        // The enriched CSV (receiver of an enrichment), before the result file: a run whose
        // enriched file could not be written leaves neither.
        if let enrichedPath {
            guard let enrichment = result.enrichment else {
                throw RunnerError(.output, "--enriched-out: '\(spec.name)' is not an enrichment this party receives")
            }
            try EnrichedCSV.write(dataPath: dataPath, enrichment: enrichment, to: enrichedPath)
        }

        // Result.
        if let resultPath {
            do {
                try ResultOutput.writeAtomically(
                    try ResultOutput.json(ResultDocument(collaboration: collaboration.name, finishedAt: Date(), result: result)),
                    to: resultPath)
            } catch {
                // No enriched file outlives a run whose result file could not be written.
                if let enrichedPath { try? FileManager.default.removeItem(atPath: enrichedPath) }
                if let error = error as? RunnerError { throw error }
                throw RunnerError(.output, "\(resultPath): \(error)")
            }
        }
        return Outcome(collaboration: collaboration, analysis: spec, result: result)
    }

    /// Freezes the collaboration after a session in which the peer deviated.
    private func freeze(
        _ ledger: PartyLedger, _ key: CollaborationKey, _ collaboration: Collaboration, _ spec: Analysis, _ anomalies: [String]
    ) throws {
        do {
            try ledger.freeze(
                key, digest: (try? collaboration.digestHex()) ?? "",
                reason: "the peer deviated in a session of '\(spec.name)': " + anomalies.joined(separator: "; "))
        } catch { throw RunnerError(.output, "\(error)") }
    }

    /// Reads only the columns the analysis needs from this party's CSV.
    private func readData(columns: [String], logger: Logger, statistics: RunStatistics?) throws -> ColumnarTable {
        do {
            let table = try CSVReader.readColumnar(path: dataPath, columns: columns)
            logger.info("read \(table.rowCount) rows from \(dataPath)")
            statistics?.mark("preparing input, connecting and TLS handshake")
            return table
        } catch { throw RunnerError(.data, "\(dataPath): \(error)") }
    }

    private func chooseAnalysis(_ collaboration: Collaboration) throws -> Analysis {
        let name: String
        if let analysis {
            name = analysis
        } else if collaboration.analyses.count == 1 {
            name = collaboration.analyses[0].name
        } else {
            throw RunnerError(
                .configuration,
                "the file has \(collaboration.analyses.count) analyses; choose one with --analysis (\(collaboration.analyses.map(\.name).joined(separator: ", ")))"
            )
        }
        do { return try collaboration.analysis(named: name) } catch { throw RunnerError(.configuration, "\(error)") }
    }

    private func readIdentity(pinned: String) throws -> (cert: String, key: String) {
        let (keyPath, certPath) = Identity.paths(party: party, folder: identityFolder)
        guard let certPEM = try? String(contentsOfFile: certPath, encoding: .utf8),
            let keyPEM = try? String(contentsOfFile: keyPath, encoding: .utf8)
        else {
            throw RunnerError(
                .identity,
                "cannot read \(certPath) and \(keyPath) (create them with `cleanroom keys generate --party \(party) --out \(identityFolder)`)"
            )
        }
        let fingerprint = try Identity.fingerprint(pem: certPEM)
        guard fingerprint == pinned else {
            throw RunnerError(
                .identity, "\(certPath) has fingerprint \(fingerprint), but the collaboration file pins \(pinned) for \(party)")
        }
        return (certPEM, keyPEM)
    }
}
