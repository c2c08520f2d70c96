import Foundation
import GRDB
import ParleyStore

// Flow versions and API keys.

extension SQLiteStore {
    /// Keeps a flow version; saving a hash that is already stored keeps the first copy (same hash, same files).
    public func saveFlowVersion(_ version: FlowVersion) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        guard let files = String(data: try encoder.encode(version.files), encoding: .utf8) else {
            throw StoreError.unavailable("cannot encode the files of flow version \(version.hash)")
        }
        try await write { db in
            try db.execute(
                sql: "INSERT INTO flow_versions (hash, files, created_at) VALUES (?, ?, ?) ON CONFLICT (hash) DO NOTHING",
                arguments: [version.hash, files, version.createdAt.storeMilliseconds]
            )
        }
    }

    public func flowVersion(hash: String) async throws -> FlowVersion? {
        try await read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM flow_versions WHERE hash = ?", arguments: [hash]) else {
                return nil
            }
            let json: String = row["files"]
            let files = try JSONDecoder().decode([String: String].self, from: Data(json.utf8))
            return FlowVersion(hash: hash, files: files, createdAt: row.date("created_at"))
        }
    }

    public func publishFlows(hash: String, at: Date) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO deployment (name, value, updated_at) VALUES ('flows', ?, ?)
                    ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                    """,
                arguments: [hash, at.storeMilliseconds]
            )
        }
    }

    public func publishedFlows() async throws -> String? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT value FROM deployment WHERE name = 'flows'")
        }
    }

    public func createKey(_ key: APIKeyRecord) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO api_keys (endpoint, id, name, key_hash, key_preview, created_at, revoked_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    key.endpoint, key.id, key.name, key.keyHash, key.keyPreview, key.createdAt.storeMilliseconds,
                    key.revokedAt?.storeMilliseconds,
                ]
            )
        }
    }

    /// Keys of an endpoint, newest first; keys created in the same millisecond come latest-created first.
    public func keys(endpoint: String) async throws -> [APIKeyRecord] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM api_keys WHERE endpoint = ? ORDER BY created_at DESC, rowid DESC",
                arguments: [endpoint]
            ).map(APIKeyRecord.init(row:))
        }
    }

    public func revokeKey(endpoint: String, id: String, at: Date) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "UPDATE api_keys SET revoked_at = ? WHERE endpoint = ? AND id = ? AND revoked_at IS NULL",
                arguments: [at.storeMilliseconds, endpoint, id]
            )
            return db.changesCount > 0
        }
    }
}
