import Foundation
import GRDB
import ParleyStore

// Sessions, profiles and transcripts: written only by commit, read here. Session storage: written by commit or
// saveSessionStorage, read here.

extension SQLiteStore {
    public func session(_ key: SessionKey) async throws -> StoredSession? {
        try await read { db in try Self.session(key, in: db) }
    }

    private static func session(_ key: SessionKey, in db: Database) throws -> StoredSession? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM sessions WHERE endpoint = ? AND user_id = ? AND session_id = ?"),
            arguments: key.arguments
        )
        .map(StoredSession.init(row:))
    }

    /// Sessions, most recently updated first; sessions updated in the same millisecond come in key order.
    public func sessions(endpoint: String?, limit: Int) async throws -> [StoredSession] {
        try await read { db in
            let order = "ORDER BY updated_at DESC, endpoint, user_id, session_id LIMIT ?"
            let rows: [Row]
            if let endpoint {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM sessions WHERE endpoint = ? \(order)", arguments: [endpoint, max(limit, 0)])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM sessions \(order)", arguments: [max(limit, 0)])
            }
            return rows.map(StoredSession.init(row:))
        }
    }

    public func profile(userId: String) async throws -> String? {
        try await read { db in try Self.profile(userId: userId, in: db) }
    }

    /// The session and the profile in one read: one hop to a reader and one snapshot, where two calls take two.
    public func turnState(_ key: SessionKey) async throws -> (session: StoredSession?, profile: String?) {
        try await pointRead { db in (try Self.session(key, in: db), try Self.profile(userId: key.userId, in: db)) }
    }

    private static func profile(userId: String, in db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT profile FROM profiles WHERE user_id = ?"), arguments: [userId])
    }

    public func transcript(_ key: SessionKey) async throws -> [TranscriptRecord] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM transcripts WHERE endpoint = ? AND user_id = ? AND session_id = ? ORDER BY id",
                arguments: key.arguments
            ).map(TranscriptRecord.init(row:))
        }
    }

    public func transcriptEntry(_ key: SessionKey, traceId: String) async throws -> TranscriptRecord? {
        try await read { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM transcripts WHERE endpoint = ? AND user_id = ? AND session_id = ? AND trace_id = ?"),
                arguments: key.arguments + [traceId]
            ).map(TranscriptRecord.init(row:))
        }
    }

    public func workspace(_ key: SessionKey) async throws -> String? {
        try await read { db in
            try String.fetchOne(
                db.cachedStatement(sql: "SELECT state FROM workspaces WHERE endpoint = ? AND user_id = ? AND session_id = ?"),
                arguments: key.arguments
            )
        }
    }

    public func sessionStorage(_ key: SessionKey) async throws -> String? {
        try await read { db in
            try String.fetchOne(
                db.cachedStatement(sql: "SELECT state FROM session_storage WHERE endpoint = ? AND user_id = ? AND session_id = ?"),
                arguments: key.arguments
            )
        }
    }

    public func saveSessionStorage(_ key: SessionKey, _ json: String, at: Date) async throws {
        try await write { db in
            try db.executeCached(sql: SQLiteStore.upsertSessionStorage, arguments: key.arguments + [json, at.storeMilliseconds])
        }
    }

    /// Writes a session's storage, replacing the stored one; arguments `endpoint, user_id, session_id, state,
    /// updated_at`. Shared by ``saveSessionStorage(_:_:at:)`` and the commit.
    static let upsertSessionStorage = """
        INSERT INTO session_storage (endpoint, user_id, session_id, state, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (endpoint, user_id, session_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
        """
}
