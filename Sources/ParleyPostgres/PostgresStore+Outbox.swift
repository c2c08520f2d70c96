import Foundation
import ParleyStore
import PostgresNIO

// The outbox: in-order delivery per session, claims, retries and dead letters.

extension PostgresStore {
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
        try await rows(
            """
            SELECT o.* FROM outbox AS o WHERE \(unescaped: Self.sessionHeads) AND o.next_attempt_at <= \(now.storeMilliseconds)
            ORDER BY o.id LIMIT \(max(limit, 0))
            """
        ).map(OutgoingMessage.init(row:))
    }

    /// Claims session heads nobody else holds; `FOR UPDATE SKIP LOCKED` passes over heads another instance is
    /// claiming at this moment instead of waiting for it.
    public func claimMessages(owner: String, now: Date, until: Date, limit: Int, excluding: Set<String>) async throws -> [OutgoingMessage] {
        guard limit > 0 else { return [] }
        let nowMs = now.storeMilliseconds
        let excluded = excluding.sorted()
        return try await rows(
            """
            UPDATE outbox SET claimed_by = \(owner), claim_expires_at = \(until.storeMilliseconds)
            WHERE id IN (
                SELECT o.id FROM outbox AS o
                WHERE \(unescaped: Self.sessionHeads) AND o.next_attempt_at <= \(nowMs)
                    AND (o.claimed_by IS NULL OR o.claimed_by = \(owner) OR o.claim_expires_at <= \(nowMs))
                    AND o.endpoint <> ALL(\(excluded))
                ORDER BY o.id LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            )
            RETURNING *
            """
        ).map(OutgoingMessage.init(row:)).sorted { ($0.id ?? 0) < ($1.id ?? 0) }
    }

    public func releaseMessageClaims(owner: String, ids: [Int64]) async throws {
        guard !ids.isEmpty else { return }
        try await execute(
            """
            UPDATE outbox SET claimed_by = NULL, claim_expires_at = NULL
            WHERE id = ANY(\(ids)) AND claimed_by = \(owner) AND status = 'pending'
            """
        )
    }

    public func nextDueDate() async throws -> Date? {
        try await rows("SELECT MIN(o.next_attempt_at) AS due FROM outbox AS o WHERE \(unescaped: Self.sessionHeads)")
            .first?.value("due", as: Int64?.self).map(Date.init(storeMilliseconds:))
    }

    public func markDelivered(id: Int64, at: Date) async throws {
        try await execute(
            """
            UPDATE outbox SET status = 'delivered', delivered_at = \(at.storeMilliseconds), claimed_by = NULL, claim_expires_at = NULL,
                payload = CASE WHEN sensitive THEN '' ELSE payload END
            WHERE id = \(id) AND status <> 'delivered'
            """
        )
    }

    public func scheduleRetry(id: Int64, attempts: Int, nextAttemptAt: Date, error: String) async throws {
        try await execute(
            """
            UPDATE outbox SET attempts = \(attempts), next_attempt_at = \(nextAttemptAt.storeMilliseconds), last_error = \(error),
                claimed_by = NULL, claim_expires_at = NULL
            WHERE id = \(id) AND status = 'pending'
            """
        )
    }

    public func markDead(id: Int64, attempts: Int, error: String, at: Date) async throws {
        try await execute(
            """
            UPDATE outbox SET status = 'dead', attempts = \(attempts), last_error = \(error), dead_at = \(at.storeMilliseconds),
                claimed_by = NULL, claim_expires_at = NULL
            WHERE id = \(id) AND status = 'pending'
            """
        )
    }

    public func messages(status: OutgoingMessage.Status, limit: Int) async throws -> [OutgoingMessage] {
        try await rows("SELECT * FROM outbox WHERE status = \(status.rawValue) ORDER BY id LIMIT \(max(limit, 0))").map(OutgoingMessage.init(row:))
    }

    public func countMessages(status: OutgoingMessage.Status) async throws -> Int {
        Int(try await rows("SELECT COUNT(*) AS count FROM outbox WHERE status = \(status.rawValue)").first?.value("count", as: Int64.self) ?? 0)
    }

    public func retryDead(ids: [Int64]?, now: Date) async throws -> Int {
        try await reviveDead(in: "outbox", ids: ids, now: now)
    }

    // MARK: Paused endpoints

    public func pauseEndpoint(_ endpoint: String, reason: String, at: Date) async throws -> Bool {
        try await execute(
            """
            INSERT INTO endpoint_pauses (endpoint, reason, paused_at) VALUES (\(endpoint), \(reason), \(at.storeMilliseconds))
            ON CONFLICT (endpoint) DO NOTHING
            """
        ) > 0
    }

    /// Deletes the pause and credits its duration to the endpoint's pending messages in one transaction, so two
    /// instances resuming at once credit it once.
    public func resumeEndpoint(_ endpoint: String, at: Date) async throws -> Bool {
        let logger = self.logger
        return try await transaction { connection in
            let deleted = try await connection.rows(
                "DELETE FROM endpoint_pauses WHERE endpoint = \(endpoint) RETURNING paused_at",
                logger: logger
            )
            guard let pausedAt = try deleted.first?.value("paused_at", as: Int64.self) else { return false }
            _ = try await connection.changes(
                """
                UPDATE outbox SET paused_ms = paused_ms + \(max(0, at.storeMilliseconds - pausedAt))
                WHERE endpoint = \(endpoint) AND status = 'pending'
                """,
                logger: logger
            )
            return true
        }
    }

    public func pausedEndpoints() async throws -> [EndpointPause] {
        try await rows("SELECT * FROM endpoint_pauses ORDER BY endpoint").map {
            EndpointPause(endpoint: try $0.value("endpoint"), reason: try $0.value("reason"), pausedAt: try $0.date("paused_at"))
        }
    }
}

extension OutgoingMessage {
    init(row: PostgresRandomAccessRow) throws {
        let statusName = try row.value("status", as: String.self)
        guard let status = Status(rawValue: statusName) else {
            throw StoreError.unavailable("an outbox message has an unknown status \(statusName)")
        }
        self.init(
            id: try row.value("id", as: Int64.self),
            idempotencyKey: try row.value("idempotency_key"),
            key: try row.sessionKey,
            destination: try row.value("destination"),
            payload: try row.value("payload"),
            createdAt: try row.date("created_at"),
            attempts: try row.value("attempts", as: Int.self),
            nextAttemptAt: try row.date("next_attempt_at"),
            status: status,
            lastError: try row.value("last_error", as: String?.self),
            sensitive: try row.value("sensitive", as: Bool.self),
            pausedSeconds: TimeInterval(try row.value("paused_ms", as: Int64.self)) / 1000
        )
    }
}
