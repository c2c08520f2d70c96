import Foundation
import ParleyStore
import PostgresNIO

// The inbox, its claims, poison inputs and the turn commit.

extension PostgresStore {
    public func accept(_ entry: InboxEntry) async throws -> InboxEntry {
        let accepted = entry.acceptedAt.storeMilliseconds
        let rows = try await rows(
            """
            INSERT INTO inbox (trace_id, endpoint, user_id, session_id, kind, payload, accepted_at)
            VALUES (\(entry.traceId), \(entry.key.endpoint), \(entry.key.userId), \(entry.key.sessionId), \(entry.kind), \(entry.payload), \(accepted))
            RETURNING id
            """
        )
        guard let id = try rows.first?.value("id", as: Int64.self) else { throw StoreError.unavailable("the inbox insert returned no id") }
        var stored = entry
        stored.id = id
        stored.acceptedAt = Date(storeMilliseconds: accepted)
        return stored
    }

    public func pendingInbox(limit: Int) async throws -> [InboxEntry] {
        try await inputs(status: .pending, limit: limit)
    }

    public func inputs(status: InboxEntry.Status, limit: Int) async throws -> [InboxEntry] {
        try await rows("SELECT * FROM inbox WHERE status = \(status.rawValue) ORDER BY id LIMIT \(max(limit, 0))").map(InboxEntry.init(row:))
    }

    public func countInputs(status: InboxEntry.Status) async throws -> Int {
        let rows = try await rows("SELECT COUNT(*) AS count FROM inbox WHERE status = \(status.rawValue)")
        return Int(try rows.first?.value("count", as: Int64.self) ?? 0)
    }

    /// One statement claims the sessions: each session's oldest pending input, if due and its session held by
    /// nobody, becomes a claim row. The candidates are read in id order through the pending index and the scan
    /// stops at `sessions` of them, so a long inbox does not make a claim slower. `ON CONFLICT ... WHERE` takes over
    /// only expired claims, and rows another instance is claiming at the same moment wait for its decision (then
    /// fail the `WHERE`) instead of being claimed twice.
    public func claimInbox(owner: String, now: Date, until: Date, sessions: Int, inputsPerSession: Int) async throws -> [[InboxEntry]] {
        guard sessions > 0, inputsPerSession > 0 else { return [] }
        let nowMs = now.storeMilliseconds
        let untilMs = until.storeMilliseconds
        let claimed = try await rows(
            """
            WITH candidates AS (
                SELECT i.id, i.endpoint, i.user_id, i.session_id,
                    row_number() OVER (PARTITION BY i.endpoint ORDER BY i.id) AS turn
                FROM inbox AS i
                WHERE i.status = 'pending' AND i.next_attempt_at <= \(nowMs)
                    AND NOT EXISTS (
                        SELECT 1 FROM inbox AS earlier
                        WHERE earlier.status = 'pending' AND earlier.endpoint = i.endpoint AND earlier.user_id = i.user_id
                            AND earlier.session_id = i.session_id AND earlier.id < i.id
                    )
                    AND NOT EXISTS (
                        SELECT 1 FROM inbox_claims AS c
                        WHERE c.endpoint = i.endpoint AND c.user_id = i.user_id AND c.session_id = i.session_id
                            AND c.expires_at > \(nowMs)
                    )
                -- Endpoints take turns: the first due session of each endpoint, then the second of each...
                ORDER BY turn, i.id LIMIT \(sessions)
            )
            INSERT INTO inbox_claims (endpoint, user_id, session_id, owner, expires_at)
            SELECT endpoint, user_id, session_id, \(owner), \(untilMs) FROM candidates ORDER BY turn, id
            ON CONFLICT (endpoint, user_id, session_id) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
            WHERE inbox_claims.expires_at <= \(nowMs)
            RETURNING endpoint, user_id, session_id
            """
        ).map { try $0.sessionKey }
        guard !claimed.isEmpty else { return [] }
        let entries = try await rows(
            """
            SELECT * FROM (
                SELECT i.*, row_number() OVER (PARTITION BY i.endpoint, i.user_id, i.session_id ORDER BY i.id) AS position
                FROM inbox AS i
                JOIN unnest(\(claimed.map(\.endpoint)), \(claimed.map(\.userId)), \(claimed.map(\.sessionId)))
                    AS k(endpoint, user_id, session_id)
                    ON i.endpoint = k.endpoint AND i.user_id = k.user_id AND i.session_id = k.session_id
                WHERE i.status = 'pending'
            ) AS pending
            WHERE position <= \(inputsPerSession)
            ORDER BY id
            """
        ).map(InboxEntry.init(row:))
        var bySession: [SessionKey: [InboxEntry]] = [:]
        var order: [SessionKey] = []
        for entry in entries {
            if bySession[entry.key] == nil { order.append(entry.key) }
            bySession[entry.key, default: []].append(entry)
        }
        return order.compactMap { bySession[$0] }
    }

    public func renewInboxClaims(owner: String, until: Date) async throws {
        try await execute("UPDATE inbox_claims SET expires_at = \(until.storeMilliseconds) WHERE owner = \(owner)")
    }

    public func renewInboxClaims(owner: String, sessions: Set<SessionKey>, until: Date) async throws {
        guard !sessions.isEmpty else { return }
        let keys = Array(sessions)
        try await execute(
            """
            UPDATE inbox_claims AS c SET expires_at = \(until.storeMilliseconds)
            FROM unnest(\(keys.map(\.endpoint)), \(keys.map(\.userId)), \(keys.map(\.sessionId))) AS k(endpoint, user_id, session_id)
            WHERE c.owner = \(owner) AND c.endpoint = k.endpoint AND c.user_id = k.user_id AND c.session_id = k.session_id
            """
        )
    }

    public func releaseInboxClaim(owner: String, session: SessionKey) async throws {
        try await execute(
            """
            DELETE FROM inbox_claims
            WHERE endpoint = \(session.endpoint) AND user_id = \(session.userId) AND session_id = \(session.sessionId) AND owner = \(owner)
            """
        )
    }

    public func failInput(id: Int64, attempts: Int, error: String, at: Date, retryAt: Date?) async throws {
        if let retryAt {
            try await execute(
                """
                UPDATE inbox SET attempts = \(attempts), next_attempt_at = \(retryAt.storeMilliseconds), last_error = \(error)
                WHERE id = \(id) AND status = 'pending'
                """
            )
        } else {
            try await execute(
                """
                UPDATE inbox SET status = 'dead', attempts = \(attempts), last_error = \(error), dead_at = \(at.storeMilliseconds)
                WHERE id = \(id) AND status = 'pending'
                """
            )
        }
    }

    public func retryDeadInputs(ids: [Int64]?, now: Date) async throws -> Int {
        try await reviveDead(in: "inbox", ids: ids, now: now)
    }

    /// Makes dead rows of `table` (`inbox` or `outbox`, a name from this module, never from outside) pending again,
    /// due at `now` with no attempts; all of them when `ids` is nil. Returns how many.
    func reviveDead(in table: String, ids: [Int64]?, now: Date) async throws -> Int {
        // A retried message's age starts again: the time before the retry does not count towards its expiry.
        let restart = table == "outbox" ? ", paused_ms = GREATEST(0, \(now.storeMilliseconds) - created_at)" : ""
        let revive: PostgresQuery =
            "UPDATE \(unescaped: table) SET status = 'pending', attempts = 0, next_attempt_at = \(now.storeMilliseconds), dead_at = NULL\(unescaped: restart) WHERE status = 'dead'"
        guard let ids else { return try await execute(revive) }
        guard !ids.isEmpty else { return 0 }
        return try await execute(
            """
            UPDATE \(unescaped: table) SET status = 'pending', attempts = 0, next_attempt_at = \(now.storeMilliseconds), dead_at = NULL\(unescaped: restart)
            WHERE status = 'dead' AND id = ANY(\(ids))
            """
        )
    }

    /// The inbox row is locked first (`FOR UPDATE`), so two commits of one input serialise and the second sees it
    /// processed; the session's claim is read under a share lock, so a takeover cannot slip in between the check
    /// and the writes.
    public func commit(_ turn: TurnCommit) async throws {
        let logger = self.logger
        try await transaction { connection in
            let status = try await connection.rows("SELECT status FROM inbox WHERE id = \(turn.inboxId) FOR UPDATE", logger: logger)
            guard let status = try status.first?.value("status", as: String.self) else {
                throw StoreError.unknownInboxEntry(turn.inboxId)
            }
            guard status == InboxEntry.Status.pending.rawValue else { throw StoreError.alreadyProcessed(turn.inboxId) }
            let session = turn.session
            let key = session.key
            if let owner = turn.owner {
                let holder = try await connection.rows(
                    """
                    SELECT owner FROM inbox_claims
                    WHERE endpoint = \(key.endpoint) AND user_id = \(key.userId) AND session_id = \(key.sessionId) FOR SHARE
                    """,
                    logger: logger
                )
                if let current = try holder.first?.value("owner", as: String.self), current != owner {
                    throw StoreError.claimLost(key, owner: owner)
                }
            }
            let updated = session.updatedAt.storeMilliseconds
            try await connection.query(
                """
                UPDATE inbox SET status = 'processed', processed_at = \(updated),
                    payload = CASE WHEN \(turn.eraseInput) THEN '' ELSE payload END
                WHERE id = \(turn.inboxId)
                """,
                logger: logger
            )
            try await connection.query(
                """
                INSERT INTO sessions (endpoint, user_id, session_id, state, flow_hash, updated_at)
                VALUES (\(key.endpoint), \(key.userId), \(key.sessionId), \(session.state), \(session.flowHash), \(updated))
                ON CONFLICT (endpoint, user_id, session_id)
                DO UPDATE SET state = EXCLUDED.state, flow_hash = EXCLUDED.flow_hash, updated_at = EXCLUDED.updated_at
                """,
                logger: logger
            )
            if let profile = turn.profile {
                try await connection.query(
                    """
                    INSERT INTO profiles (user_id, profile, updated_at) VALUES (\(key.userId), \(profile), \(updated))
                    ON CONFLICT (user_id) DO UPDATE SET profile = EXCLUDED.profile, updated_at = EXCLUDED.updated_at
                    """,
                    logger: logger
                )
            }
            if let record = turn.transcript {
                let recordKey = record.key
                try await connection.query(
                    """
                    INSERT INTO transcripts (endpoint, user_id, session_id, turn, trace_id, entry, redacted, created_at)
                    VALUES (\(recordKey.endpoint), \(recordKey.userId), \(recordKey.sessionId), \(record.turn), \(record.traceId),
                        \(record.entry), \(record.redacted), \(record.createdAt.storeMilliseconds))
                    """,
                    logger: logger
                )
            }
            if let workspace = turn.workspace {
                try await connection.query(
                    """
                    INSERT INTO workspaces (endpoint, user_id, session_id, state, updated_at)
                    VALUES (\(key.endpoint), \(key.userId), \(key.sessionId), \(workspace), \(updated))
                    ON CONFLICT (endpoint, user_id, session_id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at
                    """,
                    logger: logger
                )
            }
            if let storage = turn.sessionStorage {
                try await connection.query(
                    """
                    INSERT INTO session_storage (endpoint, user_id, session_id, state, updated_at)
                    VALUES (\(key.endpoint), \(key.userId), \(key.sessionId), \(storage), \(updated))
                    ON CONFLICT (endpoint, user_id, session_id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at
                    """,
                    logger: logger
                )
            }
            for message in turn.messages {
                let messageKey = message.key
                try await connection.query(
                    """
                    INSERT INTO outbox (idempotency_key, endpoint, user_id, session_id, destination, payload, sensitive,
                        created_at, attempts, next_attempt_at, status, last_error)
                    VALUES (\(message.idempotencyKey), \(messageKey.endpoint), \(messageKey.userId), \(messageKey.sessionId),
                        \(message.destination), \(message.payload), \(message.sensitive), \(message.createdAt.storeMilliseconds),
                        \(message.attempts), \(message.nextAttemptAt.storeMilliseconds), \(message.status.rawValue), \(message.lastError))
                    """,
                    logger: logger
                )
            }
        }
    }
}

extension InboxEntry {
    init(row: PostgresRandomAccessRow) throws {
        let statusName = try row.value("status", as: String.self)
        guard let status = Status(rawValue: statusName) else {
            throw StoreError.unavailable("an inbox entry has an unknown status \(statusName)")
        }
        self.init(
            id: try row.value("id", as: Int64.self),
            traceId: try row.value("trace_id"),
            key: try row.sessionKey,
            kind: try row.value("kind"),
            payload: try row.value("payload"),
            acceptedAt: try row.date("accepted_at"),
            status: status,
            attempts: try row.value("attempts", as: Int.self),
            lastError: try row.value("last_error", as: String?.self)
        )
    }
}
