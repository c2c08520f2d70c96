import Foundation
import ParleyStore
import PostgresNIO

// Retention (DESIGN §6) and data subject erasure (DESIGN §5.6).

extension PostgresStore {
    /// Each kind of row goes in its own short statement of at most `limit` rows, found through an index on age.
    /// PostgreSQL reuses the space of deleted rows once autovacuum has passed, so the tables stay flat under steady
    /// traffic.
    public func prune(_ cutoffs: RetentionCutoffs, limit: Int) async throws -> PruneCounts {
        let limit = max(limit, 0)
        guard limit > 0 else { return PruneCounts() }
        var counts = PruneCounts()
        counts.inbox = try await delete(from: "inbox", where: "status = 'processed' AND processed_at", before: cutoffs.inbox, limit: limit)
        counts.deadInputs = try await delete(from: "inbox", where: "status = 'dead' AND dead_at", before: cutoffs.dead, limit: limit)
        counts.delivered = try await delete(
            from: "outbox",
            where: "status = 'delivered' AND delivered_at",
            before: cutoffs.delivered,
            limit: limit
        )
        counts.deadMessages = try await delete(from: "outbox", where: "status = 'dead' AND dead_at", before: cutoffs.dead, limit: limit)
        counts.transcripts = try await delete(from: "transcripts", where: "created_at", before: cutoffs.transcripts, limit: limit)
        counts.sessions = try await delete(
            from: "sessions",
            key: "endpoint, user_id, session_id",
            where: "updated_at",
            before: cutoffs.sessions,
            limit: limit
        )
        _ = try await delete(
            from: "workspaces",
            key: "endpoint, user_id, session_id",
            where: "updated_at",
            before: cutoffs.sessions,
            limit: limit
        )
        _ = try await delete(
            from: "session_storage",
            key: "endpoint, user_id, session_id",
            where: "updated_at",
            before: cutoffs.sessions,
            limit: limit
        )
        return counts
    }

    /// Deletes at most `limit` rows of `table` whose `condition` column (the condition ends in the date column it
    /// compares) is before `cutoff`, by `key`. Table, key and condition are this module's text, never outside input.
    private func delete(from table: String, key: String = "id", where condition: String, before cutoff: Date, limit: Int) async throws -> Int {
        try await execute(
            """
            DELETE FROM \(unescaped: table) WHERE (\(unescaped: key)) IN (
                SELECT \(unescaped: key) FROM \(unescaped: table) WHERE \(unescaped: condition) < \(cutoff.storeMilliseconds) LIMIT \(limit))
            """
        )
    }

    /// Deletes everything of the user in one transaction. PostgreSQL keeps deleted row versions in the table files
    /// until vacuum reclaims them; `docs/deploy.md` describes running `VACUUM` after erasures where that matters.
    public func eraseUser(_ userId: String) async throws -> ErasureCounts {
        let logger = self.logger
        return try await transaction { connection in
            var counts = ErasureCounts()
            counts.profiles = try await connection.changes("DELETE FROM profiles WHERE user_id = \(userId)", logger: logger)
            counts.sessions = try await connection.changes("DELETE FROM sessions WHERE user_id = \(userId)", logger: logger)
            _ = try await connection.changes("DELETE FROM workspaces WHERE user_id = \(userId)", logger: logger)
            _ = try await connection.changes("DELETE FROM session_storage WHERE user_id = \(userId)", logger: logger)
            counts.transcripts = try await connection.changes("DELETE FROM transcripts WHERE user_id = \(userId)", logger: logger)
            counts.inbox = try await connection.changes("DELETE FROM inbox WHERE user_id = \(userId)", logger: logger)
            counts.outbox = try await connection.changes("DELETE FROM outbox WHERE user_id = \(userId)", logger: logger)
            _ = try await connection.changes("DELETE FROM inbox_claims WHERE user_id = \(userId)", logger: logger)
            return counts
        }
    }
}
