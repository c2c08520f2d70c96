import Foundation
import GRDB
import ParleyStore

// The outbox: in-order delivery per session, retries and dead letters.

extension SQLiteStore {
    /// Pending messages with no earlier pending message in their session, of endpoints that are not paused: the only
    /// ones that may be sent.
    private static let sessionHeads = """
        o.status = 'pending' AND NOT EXISTS (
            SELECT 1 FROM outbox AS earlier
            WHERE earlier.status = 'pending' AND earlier.endpoint = o.endpoint AND earlier.user_id = o.user_id
                AND earlier.session_id = o.session_id AND earlier.id < o.id
        ) AND NOT EXISTS (SELECT 1 FROM endpoint_pauses AS p WHERE p.endpoint = o.endpoint)
        """

    public func dueMessages(now: Date, limit: Int) async throws -> [OutgoingMessage] {
        try await dueMessages(now: now, limit: limit, excluding: [])
    }

    private func dueMessages(now: Date, limit: Int, excluding: Set<String>) async throws -> [OutgoingMessage] {
        let excluded = excluding.sorted()
        let filter = excluded.isEmpty ? "" : "AND o.endpoint NOT IN (\(Array(repeating: "?", count: excluded.count).joined(separator: ", ")))"
        return try await read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT o.* FROM outbox AS o WHERE \(Self.sessionHeads) AND o.next_attempt_at <= ? \(filter) ORDER BY o.id LIMIT ?",
                arguments: StatementArguments([now.storeMilliseconds] as [any DatabaseValueConvertible] + excluded + [max(limit, 0)])
            ).map(OutgoingMessage.init(row:))
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
    /// that sleeps until this date never wakes to find nothing to send.
    public func nextDueDate() async throws -> Date? {
        try await read { db in
            try Int64.fetchOne(db, sql: "SELECT MIN(o.next_attempt_at) FROM outbox AS o WHERE \(Self.sessionHeads)")
                .map(Date.init(storeMilliseconds:))
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
