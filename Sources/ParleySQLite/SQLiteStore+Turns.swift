import Foundation
import GRDB
import ParleyStore

// The inbox and the turn commit.

extension SQLiteStore {
    public func accept(_ entry: InboxEntry) async throws -> InboxEntry {
        // The write returns only once SQLite has committed (synchronous = FULL), so the entry is durable.
        try await batchedWrite { db in
            try db.executeCached(
                sql: """
                    INSERT INTO inbox (trace_id, endpoint, user_id, session_id, kind, payload, accepted_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    entry.traceId, entry.key.endpoint, entry.key.userId, entry.key.sessionId, entry.kind, entry.payload,
                    entry.acceptedAt.storeMilliseconds,
                ]
            )
            var stored = entry
            stored.id = db.lastInsertedRowID
            stored.acceptedAt = Date(storeMilliseconds: entry.acceptedAt.storeMilliseconds)
            return stored
        }
    }

    public func pendingInbox(limit: Int) async throws -> [InboxEntry] {
        try await inputs(status: .pending, limit: limit)
    }

    public func inputs(status: InboxEntry.Status, limit: Int) async throws -> [InboxEntry] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM inbox WHERE status = ? ORDER BY id LIMIT ?",
                arguments: [status.rawValue, max(limit, 0)]
            ).map(InboxEntry.init(row:))
        }
    }

    public func countInputs(status: InboxEntry.Status) async throws -> Int {
        try await read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM inbox WHERE status = ?", arguments: [status.rawValue]) ?? 0
        }
    }

    public func claimInbox(owner: String, now: Date, until: Date, sessions: Int, inputsPerSession: Int) async throws -> [[InboxEntry]] {
        guard sessions > 0, inputsPerSession > 0 else { return [] }
        let claims = self.claims
        let held = claims.sessionsHeld(now: now)
        return try await pointRead { db in
            // Each session's oldest pending input, if it is due: a session whose head waits for a retry waits whole.
            // Endpoints take turns (issue 25: a REST endpoint's turns waited 13-27 s behind a webhook backlog): each
            // endpoint's heads in arrival order, then the first of every endpoint, the second of every endpoint...
            let headsOf = try db.cachedStatement(
                sql: """
                    SELECT i.endpoint, i.user_id, i.session_id FROM inbox AS i
                    WHERE i.status = 'pending' AND i.endpoint = ? AND i.next_attempt_at <= ? AND NOT EXISTS (
                        SELECT 1 FROM inbox AS earlier
                        WHERE earlier.status = 'pending' AND earlier.endpoint = i.endpoint AND earlier.user_id = i.user_id
                            AND earlier.session_id = i.session_id AND earlier.id < i.id
                    )
                    ORDER BY i.id LIMIT ?
                    """
            )
            let byEndpoint = try String.fetchAll(db, sql: Self.endpointsWithPendingInputs).map { endpoint in
                try Row.fetchAll(headsOf, arguments: [endpoint, now.storeMilliseconds, sessions + held]).map(\.sessionKey)
            }
            let heads = Self.takingTurns(byEndpoint)
            let claimed = claims.claimSessions(heads, owner: owner, now: now, until: until, limit: sessions)
            let statement = try db.cachedStatement(
                sql: "SELECT * FROM inbox WHERE status = 'pending' AND endpoint = ? AND user_id = ? AND session_id = ? ORDER BY id LIMIT ?"
            )
            return try claimed.map { key in
                try Row.fetchAll(statement, arguments: key.arguments + [inputsPerSession]).map(InboxEntry.init(row:))
            }.filter { !$0.isEmpty }
        }
    }

    /// The endpoints with pending inputs, from the inbox's index, one jump each.
    private static let endpointsWithPendingInputs = """
        WITH RECURSIVE names(endpoint) AS (
            SELECT (SELECT MIN(endpoint) FROM inbox WHERE status = 'pending')
            UNION ALL
            SELECT (SELECT MIN(endpoint) FROM inbox WHERE status = 'pending' AND endpoint > names.endpoint)
            FROM names WHERE names.endpoint IS NOT NULL
        )
        SELECT endpoint FROM names WHERE endpoint IS NOT NULL
        """

    /// Round robin: the first of each list, then the second of each, and so on.
    static func takingTurns<T>(_ lists: [[T]]) -> [T] {
        var result: [T] = []
        result.reserveCapacity(lists.reduce(0) { $0 + $1.count })
        var index = 0
        while true {
            var any = false
            for list in lists where index < list.count {
                result.append(list[index])
                any = true
            }
            guard any else { return result }
            index += 1
        }
    }

    public func renewInboxClaims(owner: String, until: Date) async throws {
        try connectionOpen()
        claims.renewSessions(owner: owner, until: until)
    }

    public func renewInboxClaims(owner: String, sessions: Set<SessionKey>, until: Date) async throws {
        try connectionOpen()
        claims.renewSessions(sessions, owner: owner, until: until)
    }

    public func releaseInboxClaim(owner: String, session: SessionKey) async throws {
        try connectionOpen()
        claims.releaseSession(session, owner: owner)
    }

    public func failInput(id: Int64, attempts: Int, error: String, at: Date, retryAt: Date?) async throws {
        try await write { db in
            if let retryAt {
                try db.execute(
                    sql: "UPDATE inbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ? AND status = 'pending'",
                    arguments: [attempts, retryAt.storeMilliseconds, error, id]
                )
            } else {
                try db.execute(
                    sql: """
                        UPDATE inbox SET status = 'dead', attempts = ?, last_error = ?, dead_at = ?
                        WHERE id = ? AND status = 'pending'
                        """,
                    arguments: [attempts, error, at.storeMilliseconds, id]
                )
            }
        }
    }

    public func retryDeadInputs(ids: [Int64]?, now: Date) async throws -> Int {
        try await reviveDead(in: "inbox", ids: ids, now: now)
    }

    /// Makes dead rows of `table` (the inbox or the outbox: both keep `status`, `attempts`, `next_attempt_at` and
    /// `dead_at`) pending again, due at `now` with no attempts; all of them when `ids` is nil. Returns how many.
    func reviveDead(in table: String, ids: [Int64]?, now: Date) async throws -> Int {
        try await write { db in
            // A retried message's age starts again: the time before the retry does not count towards its expiry.
            let restart = table == "outbox" ? ", paused_ms = MAX(0, :now - created_at)" : ""
            let revive =
                "UPDATE \(table) SET status = 'pending', attempts = 0, next_attempt_at = :now, dead_at = NULL\(restart) WHERE status = 'dead'"
            if let ids {
                guard !ids.isEmpty else { return 0 }
                let names = ids.indices.map { "id\($0)" }
                let arguments = Dictionary(uniqueKeysWithValues: zip(names, ids.map { $0 as any DatabaseValueConvertible }))
                try db.execute(
                    sql: "\(revive) AND id IN (\(names.map { ":" + $0 }.joined(separator: ", ")))",
                    arguments: StatementArguments(arguments.merging(["now": now.storeMilliseconds]) { $1 })
                )
            } else {
                try db.execute(sql: revive, arguments: ["now": now.storeMilliseconds])
            }
            return db.changesCount
        }
    }

    public func commit(_ turn: TurnCommit) async throws {
        let claims = self.claims
        // One write block is one transaction: any error thrown inside rolls back everything written before it.
        try await batchedWrite { db in
            let status = try String.fetchOne(
                db.cachedStatement(sql: "SELECT status FROM inbox WHERE id = ?"),
                arguments: [turn.inboxId]
            )
            guard let status else {
                throw StoreError.unknownInboxEntry(turn.inboxId)
            }
            guard status == InboxEntry.Status.pending.rawValue else {
                throw StoreError.alreadyProcessed(turn.inboxId)
            }
            if let owner = turn.owner, !claims.holds(turn.session.key, owner: owner) {
                throw StoreError.claimLost(turn.session.key, owner: owner)
            }
            // The row stays (so a second commit is recognised as one); an erased input keeps no payload, and
            // secure_delete zeroes the old bytes.
            try db.executeCached(
                sql: """
                    UPDATE inbox SET status = 'processed', processed_at = ?, payload = CASE WHEN ? THEN '' ELSE payload END
                    WHERE id = ?
                    """,
                arguments: [turn.session.updatedAt.storeMilliseconds, turn.eraseInput, turn.inboxId]
            )

            let session = turn.session
            try db.executeCached(
                sql: """
                    INSERT INTO sessions (endpoint, user_id, session_id, state, flow_hash, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (endpoint, user_id, session_id)
                    DO UPDATE SET state = excluded.state, flow_hash = excluded.flow_hash, updated_at = excluded.updated_at
                    """,
                arguments: session.key.arguments + [session.state, session.flowHash, session.updatedAt.storeMilliseconds]
            )

            if let profile = turn.profile {
                try db.executeCached(
                    sql: """
                        INSERT INTO profiles (user_id, profile, updated_at) VALUES (?, ?, ?)
                        ON CONFLICT (user_id) DO UPDATE SET profile = excluded.profile, updated_at = excluded.updated_at
                        """,
                    arguments: [session.key.userId, profile, session.updatedAt.storeMilliseconds]
                )
            }

            if let record = turn.transcript {
                try db.executeCached(
                    sql: """
                        INSERT INTO transcripts (endpoint, user_id, session_id, turn, trace_id, entry, redacted, created_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: record.key.arguments + [
                        record.turn, record.traceId, record.entry, record.redacted, record.createdAt.storeMilliseconds,
                    ]
                )
            }

            if let workspace = turn.workspace {
                try db.executeCached(
                    sql: """
                        INSERT INTO workspaces (endpoint, user_id, session_id, state, updated_at) VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT (endpoint, user_id, session_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
                        """,
                    arguments: session.key.arguments + [workspace, session.updatedAt.storeMilliseconds]
                )
            }

            if let storage = turn.sessionStorage {
                try db.executeCached(
                    sql: SQLiteStore.upsertSessionStorage,
                    arguments: session.key.arguments + [storage, session.updatedAt.storeMilliseconds]
                )
            }

            for message in turn.messages {
                try db.executeCached(
                    sql: """
                        INSERT INTO outbox (idempotency_key, endpoint, user_id, session_id, destination, payload, sensitive,
                            created_at, attempts, next_attempt_at, status, last_error)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [message.idempotencyKey] + message.key.arguments + [
                        message.destination, message.payload, message.sensitive, message.createdAt.storeMilliseconds,
                        message.attempts, message.nextAttemptAt.storeMilliseconds, message.status.rawValue, message.lastError,
                    ]
                )
            }
        }
    }
}
