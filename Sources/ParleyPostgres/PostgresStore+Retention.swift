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
        counts.inbox = try await execute(
            """
            DELETE FROM inbox WHERE id IN (
                SELECT id FROM inbox WHERE status = 'processed' AND processed_at < \(cutoffs.inbox.storeMilliseconds) LIMIT \(limit))
            """
        )
        counts.deadInputs = try await execute(
            """
            DELETE FROM inbox WHERE id IN (
                SELECT id FROM inbox WHERE status = 'dead' AND dead_at < \(cutoffs.dead.storeMilliseconds) LIMIT \(limit))
            """
        )
        counts.delivered = try await execute(
            """
            DELETE FROM outbox WHERE id IN (
                SELECT id FROM outbox WHERE status = 'delivered' AND delivered_at < \(cutoffs.delivered.storeMilliseconds) LIMIT \(limit))
            """
        )
        counts.deadMessages = try await execute(
            """
            DELETE FROM outbox WHERE id IN (
                SELECT id FROM outbox WHERE status = 'dead' AND dead_at < \(cutoffs.dead.storeMilliseconds) LIMIT \(limit))
            """
        )
        counts.transcripts = try await execute(
            """
            DELETE FROM transcripts WHERE id IN (
                SELECT id FROM transcripts WHERE created_at < \(cutoffs.transcripts.storeMilliseconds) LIMIT \(limit))
            """
        )
        counts.sessions = try await execute(
            """
            DELETE FROM sessions WHERE (endpoint, user_id, session_id) IN (
                SELECT endpoint, user_id, session_id FROM sessions WHERE updated_at < \(cutoffs.sessions.storeMilliseconds) LIMIT \(limit))
            """
        )
        try await execute(
            """
            DELETE FROM workspaces WHERE (endpoint, user_id, session_id) IN (
                SELECT endpoint, user_id, session_id FROM workspaces WHERE updated_at < \(cutoffs.sessions.storeMilliseconds) LIMIT \(limit))
            """
        )
        return counts
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
            counts.transcripts = try await connection.changes("DELETE FROM transcripts WHERE user_id = \(userId)", logger: logger)
            counts.inbox = try await connection.changes("DELETE FROM inbox WHERE user_id = \(userId)", logger: logger)
            counts.outbox = try await connection.changes("DELETE FROM outbox WHERE user_id = \(userId)", logger: logger)
            _ = try await connection.changes("DELETE FROM inbox_claims WHERE user_id = \(userId)", logger: logger)
            return counts
        }
    }
}
