import Foundation
import GRDB
import ParleyStore

// The outbox: in-order delivery per session, retries and dead letters.

extension SQLiteStore {
    /// The endpoints that have pending messages, from ``outbox_heads``' index, one jump each.
    private static let endpointsWithHeads = """
        WITH RECURSIVE names(endpoint) AS (
            SELECT (SELECT MIN(endpoint) FROM outbox_heads)
            UNION ALL
            SELECT (SELECT MIN(endpoint) FROM outbox_heads WHERE endpoint > names.endpoint) FROM names WHERE names.endpoint IS NOT NULL
        )
        SELECT endpoint FROM names WHERE endpoint IS NOT NULL
        """

    /// The endpoints whose sessions' heads may be offered: those with pending messages, less the paused ones.
    private static func offeredEndpoints(_ db: Database, excluding: Set<String>) throws -> [String] {
        let paused = Set(try String.fetchAll(db, sql: "SELECT endpoint FROM endpoint_pauses"))
        return try String.fetchAll(db, sql: endpointsWithHeads).filter { !paused.contains($0) && !excluding.contains($0) }
    }

    public func dueMessages(now: Date, limit: Int) async throws -> [OutgoingMessage] {
        try await dueMessages(now: now, limit: limit, excluding: [])
    }

    /// Each offered endpoint's earliest due session heads (``outbox_heads``, through its index), oldest first: the
    /// cost of a pass grows with the endpoints and `limit`, not with the messages waiting (issue 25), and a paused
    /// endpoint's backlog is never walked.
    private func dueMessages(now: Date, limit: Int, excluding: Set<String>) async throws -> [OutgoingMessage] {
        guard limit > 0 else { return [] }
        return try await read { db in
            var due: [OutgoingMessage] = []
            let statement = try db.cachedStatement(
                sql: """
                    SELECT o.* FROM outbox_heads AS h JOIN outbox AS o ON o.id = h.message_id
                    WHERE h.endpoint = ? AND h.next_attempt_at <= ? ORDER BY h.next_attempt_at, h.message_id LIMIT ?
                    """
            )
            for endpoint in try Self.offeredEndpoints(db, excluding: excluding) {
                due += try Row.fetchAll(statement, arguments: [endpoint, now.storeMilliseconds, limit]).map(OutgoingMessage.init(row:))
            }
            return Array(due.sorted { ($0.id ?? 0) < ($1.id ?? 0) }.prefix(limit))
        }
    }

    public func claimMessages(owner: String, now: Date, until: Date, limit: Int, excluding: Set<String>) async throws -> [OutgoingMessage] {
        guard limit > 0 else { return [] }
        let held = claims.messagesHeldByOthers(owner: owner, now: now)
        let due = try await dueMessages(now: now, limit: limit + held, excluding: excluding)
        return claims.claimMessages(due, owner: owner, now: now, until: until, limit: limit)
    }

    public func releaseMessageClaims(owner: String, ids: [Int64]) async throws {
        claims.releaseMessages(ids, owner: owner)
    }

    /// The earliest `nextAttemptAt` among the messages ``dueMessages(now:limit:)`` can offer: each session's oldest
    /// pending message. A later message that is due while an earlier one waits does not count, so a delivery loop
    /// that sleeps until this date never wakes to find nothing to send. One index lookup per endpoint.
    public func nextDueDate() async throws -> Date? {
        try await read { db in
            let statement = try db.cachedStatement(sql: "SELECT MIN(next_attempt_at) FROM outbox_heads WHERE endpoint = ?")
            var earliest: Int64?
            for endpoint in try Self.offeredEndpoints(db, excluding: []) {
                if let due = try Int64.fetchOne(statement, arguments: [endpoint]) { earliest = min(earliest ?? due, due) }
            }
            return earliest.map(Date.init(storeMilliseconds:))
        }
    }

    /// Marks a message delivered; a sensitive message's body is blanked in the same statement (and zeroed on disk by
    /// secure_delete). Delivering an already delivered message changes nothing.
    public func markDelivered(id: Int64, at: Date) async throws {
        defer { claims.releaseMessage(id) }
        try await batchedWrite { db in
            try db.execute(
                sql: """
                    UPDATE outbox SET status = 'delivered', delivered_at = ?, payload = CASE WHEN sensitive THEN '' ELSE payload END
                    WHERE id = ? AND status != 'delivered'
                    """,
                arguments: [at.storeMilliseconds, id]
            )
        }
    }

    /// Records a failed attempt of a pending message; a message no longer pending is left alone.
    public func scheduleRetry(id: Int64, attempts: Int, nextAttemptAt: Date, error: String) async throws {
        defer { claims.releaseMessage(id) }
        try await batchedWrite { db in
            try db.execute(
                sql: "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ? AND status = 'pending'",
                arguments: [attempts, nextAttemptAt.storeMilliseconds, error, id]
            )
        }
    }

    /// Makes a pending message a dead letter; a message no longer pending is left alone.
    public func markDead(id: Int64, attempts: Int, error: String, at: Date) async throws {
        defer { claims.releaseMessage(id) }
        try await batchedWrite { db in
            try db.execute(
                sql: "UPDATE outbox SET status = 'dead', attempts = ?, last_error = ?, dead_at = ? WHERE id = ? AND status = 'pending'",
                arguments: [attempts, error, at.storeMilliseconds, id]
            )
        }
    }

    public func messages(status: OutgoingMessage.Status, limit: Int) async throws -> [OutgoingMessage] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM outbox WHERE status = ? ORDER BY id LIMIT ?",
                arguments: [status.rawValue, max(limit, 0)]
            ).map(OutgoingMessage.init(row:))
        }
    }

    public func countMessages(status: OutgoingMessage.Status) async throws -> Int {
        try await read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE status = ?", arguments: [status.rawValue]) ?? 0
        }
    }

    /// Puts dead letters back in the queue, due at `now` with no attempts; `lastError` keeps the reason they died
    /// until the next attempt. Ids that are not dead letters are ignored.
    public func retryDead(ids: [Int64]?, now: Date) async throws -> Int {
        try await reviveDead(in: "outbox", ids: ids, now: now)
    }

    // MARK: Paused endpoints

    public func pauseEndpoint(_ endpoint: String, reason: String, at: Date) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO endpoint_pauses (endpoint, reason, paused_at) VALUES (?, ?, ?) ON CONFLICT (endpoint) DO NOTHING",
                arguments: [endpoint, reason, at.storeMilliseconds]
            )
            return db.changesCount > 0
        }
    }

    public func resumeEndpoint(_ endpoint: String, at: Date) async throws -> Bool {
        try await write { db in
            guard let pausedAt = try Int64.fetchOne(db, sql: "SELECT paused_at FROM endpoint_pauses WHERE endpoint = ?", arguments: [endpoint])
            else { return false }
            try db.execute(
                sql: "UPDATE outbox SET paused_ms = paused_ms + ? WHERE endpoint = ? AND status = 'pending'",
                arguments: [max(0, at.storeMilliseconds - pausedAt), endpoint]
            )
            try db.execute(sql: "DELETE FROM endpoint_pauses WHERE endpoint = ?", arguments: [endpoint])
            return true
        }
    }

    public func pausedEndpoints() async throws -> [EndpointPause] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM endpoint_pauses ORDER BY endpoint").map {
                EndpointPause(endpoint: $0["endpoint"], reason: $0["reason"], pausedAt: $0.date("paused_at"))
            }
        }
    }
}
