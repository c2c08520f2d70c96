import Foundation
import GRDB
import ParleyStore

// Retention (DESIGN §6) and data subject erasure (DESIGN §5.6).

extension SQLiteStore {
    /// One short write transaction per kind of row, each removing at most `limit` rows through an index on age, so
    /// turns waiting for the writer wait for one small batch at most. Freed pages are zeroed (secure_delete) and
    /// reused by later writes, so the file stops growing once retention keeps up with the traffic.
    public func prune(_ cutoffs: RetentionCutoffs, limit: Int) async throws -> PruneCounts {
        let limit = max(limit, 0)
        var counts = PruneCounts()
        counts.inbox = try await delete(
            from: "inbox",
            where: "status = 'processed' AND processed_at < ?",
            before: cutoffs.inbox,
            limit: limit
        )
        counts.deadInputs = try await delete(from: "inbox", where: "status = 'dead' AND dead_at < ?", before: cutoffs.dead, limit: limit)
        counts.delivered = try await delete(
            from: "outbox",
            where: "status = 'delivered' AND delivered_at < ?",
            before: cutoffs.delivered,
            limit: limit
        )
        counts.deadMessages = try await delete(from: "outbox", where: "status = 'dead' AND dead_at < ?", before: cutoffs.dead, limit: limit)
        counts.transcripts = try await delete(from: "transcripts", where: "created_at < ?", before: cutoffs.transcripts, limit: limit)
        counts.sessions = try await delete(from: "sessions", where: "updated_at < ?", before: cutoffs.sessions, limit: limit)
        _ = try await delete(from: "workspaces", where: "updated_at < ?", before: cutoffs.sessions, limit: limit)
        _ = try await delete(from: "session_storage", where: "updated_at < ?", before: cutoffs.sessions, limit: limit)
        return counts
    }

    private func delete(from table: String, where condition: String, before cutoff: Date, limit: Int) async throws -> Int {
        guard limit > 0 else { return 0 }
        return try await write { db in
            try db.executeCached(
                sql: "DELETE FROM \(table) WHERE rowid IN (SELECT rowid FROM \(table) WHERE \(condition) LIMIT ?)",
                arguments: [cutoff.storeMilliseconds, limit]
            )
            return db.changesCount
        }
    }

    /// Deletes everything of the user in one transaction, then folds the write-ahead log into the database file and
    /// truncates it: secure_delete has zeroed the freed cells in the pages the transaction wrote, and once those
    /// pages are checkpointed no copy of the erased content remains in the `-wal` file either.
    public func eraseUser(_ userId: String) async throws -> ErasureCounts {
        let counts = try await write { db -> ErasureCounts in
            func delete(_ table: String) throws -> Int {
                try db.execute(sql: "DELETE FROM \(table) WHERE user_id = ?", arguments: [userId])
                return db.changesCount
            }
            var counts = ErasureCounts()
            counts.profiles = try delete("profiles")
            counts.sessions = try delete("sessions")
            _ = try delete("workspaces")
            _ = try delete("session_storage")
            counts.transcripts = try delete("transcripts")
            counts.inbox = try delete("inbox")
            counts.outbox = try delete("outbox")
            return counts
        }
        if path != nil { try await checkpoint() }
        return counts
    }
}
