import Foundation
import GRDB
import ParleyStore

// How records map to rows. Dates are INTEGER milliseconds since 1970, rounded to the nearest millisecond: a date
// read back is the written date rounded to the millisecond, and equal dates compare equal in SQL.

extension Row {
    func date(_ column: String) -> Date {
        Date(storeMilliseconds: self[column])
    }

    func optionalDate(_ column: String) -> Date? {
        (self[column] as Int64?).map(Date.init(storeMilliseconds:))
    }

    var sessionKey: SessionKey {
        SessionKey(endpoint: self["endpoint"], userId: self["user_id"], sessionId: self["session_id"])
    }
}

extension InboxEntry {
    init(row: Row) throws {
        let statusName: String = row["status"]
        guard let status = Status(rawValue: statusName) else {
            throw StoreError.unavailable("inbox entry \(row["id"] as Int64) has an unknown status \(statusName)")
        }
        self.init(
            id: row["id"],
            traceId: row["trace_id"],
            key: row.sessionKey,
            kind: row["kind"],
            payload: row["payload"],
            acceptedAt: row.date("accepted_at"),
            status: status,
            attempts: row["attempts"],
            lastError: row["last_error"]
        )
    }
}

extension StoredSession {
    init(row: Row) {
        self.init(key: row.sessionKey, state: row["state"], flowHash: row["flow_hash"], updatedAt: row.date("updated_at"))
    }
}

extension TranscriptRecord {
    init(row: Row) {
        self.init(
            key: row.sessionKey,
            turn: row["turn"],
            traceId: row["trace_id"],
            entry: row["entry"],
            redacted: row["redacted"],
            createdAt: row.date("created_at")
        )
    }
}

extension OutgoingMessage {
    init(row: Row) throws {
        let statusName: String = row["status"]
        guard let status = Status(rawValue: statusName) else {
            throw StoreError.unavailable("outbox message \(row["id"] as Int64) has an unknown status \(statusName)")
        }
        self.init(
            id: row["id"],
            idempotencyKey: row["idempotency_key"],
            key: row.sessionKey,
            destination: row["destination"],
            payload: row["payload"],
            createdAt: row.date("created_at"),
            attempts: row["attempts"],
            nextAttemptAt: row.date("next_attempt_at"),
            status: status,
            lastError: row["last_error"],
            sensitive: row["sensitive"],
            pausedSeconds: TimeInterval(row["paused_ms"] as Int64? ?? 0) / 1000
        )
    }
}

extension APIKeyRecord {
    init(row: Row) {
        self.init(
            id: row["id"],
            endpoint: row["endpoint"],
            name: row["name"],
            keyHash: row["key_hash"],
            keyPreview: row["key_preview"],
            createdAt: row.date("created_at"),
            revokedAt: row.optionalDate("revoked_at")
        )
    }
}

extension SessionKey {
    /// The key as statement arguments, in the column order `endpoint, user_id, session_id`.
    var arguments: StatementArguments { [endpoint, userId, sessionId] }
}

extension Database {
    /// Runs a statement from GRDB's per-connection statement cache: the hot paths (accept, commit, session reads)
    /// run the same few statements for every turn, and compiling them each time costs more than running them.
    func executeCached(sql: String, arguments: StatementArguments) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }
}
