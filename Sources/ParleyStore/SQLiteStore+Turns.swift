import Foundation
import GRDB

// The inbox and the turn commit.

extension SQLiteStore {
    public func accept(_ entry: InboxEntry) async throws -> InboxEntry {
        // The write returns only once SQLite has committed (synchronous = FULL), so the entry is durable.
        try await write { db in
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
        try await read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM inbox WHERE processed_at IS NULL ORDER BY id LIMIT ?",
                arguments: [max(limit, 0)]
            ).map(InboxEntry.init(row:))
        }
    }

    public func commit(_ turn: TurnCommit) async throws {
        // One write block is one transaction: any error thrown inside rolls back everything written before it.
        try await write { db in
            let processed = try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT processed_at IS NOT NULL FROM inbox WHERE id = ?"),
                arguments: [turn.inboxId]
            )
            guard let processed else {
                throw StoreError.unknownInboxEntry(turn.inboxId)
            }
            guard !processed else {
                throw StoreError.alreadyProcessed(turn.inboxId)
            }
            // The row stays (so a second commit is recognised as one); an erased input keeps no payload, and
            // secure_delete zeroes the old bytes.
            try db.executeCached(
                sql: "UPDATE inbox SET processed_at = ?, payload = CASE WHEN ? THEN '' ELSE payload END WHERE id = ?",
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
