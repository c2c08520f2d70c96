import Foundation
import ParleyStore
import PostgresNIO

// Sessions, profiles, transcripts, workspaces, session storage, flow versions and API keys.

extension PostgresStore {
    public func session(_ key: SessionKey) async throws -> StoredSession? {
        try await rows(
            "SELECT * FROM sessions WHERE endpoint = \(key.endpoint) AND user_id = \(key.userId) AND session_id = \(key.sessionId)"
        ).first.map(StoredSession.init(row:))
    }

    public func sessions(endpoint: String?, limit: Int) async throws -> [StoredSession] {
        let limit = max(limit, 0)
        if let endpoint {
            return try await rows("SELECT * FROM sessions WHERE endpoint = \(endpoint) ORDER BY updated_at DESC LIMIT \(limit)").map(
                StoredSession.init(row:)
            )
        }
        return try await rows("SELECT * FROM sessions ORDER BY updated_at DESC LIMIT \(limit)").map(StoredSession.init(row:))
    }

    public func profile(userId: String) async throws -> String? {
        try await rows("SELECT profile FROM profiles WHERE user_id = \(userId)").first?.value("profile", as: String.self)
    }

    public func workspace(_ key: SessionKey) async throws -> String? {
        try await rows(
            "SELECT state FROM workspaces WHERE endpoint = \(key.endpoint) AND user_id = \(key.userId) AND session_id = \(key.sessionId)"
        ).first?.value("state", as: String.self)
    }

    public func sessionStorage(_ key: SessionKey) async throws -> String? {
        try await rows(
            "SELECT state FROM session_storage WHERE endpoint = \(key.endpoint) AND user_id = \(key.userId) AND session_id = \(key.sessionId)"
        ).first?.value("state", as: String.self)
    }

    public func saveSessionStorage(_ key: SessionKey, _ json: String, at: Date) async throws {
        try await execute(
            """
            INSERT INTO session_storage (endpoint, user_id, session_id, state, updated_at)
            VALUES (\(key.endpoint), \(key.userId), \(key.sessionId), \(json), \(at.storeMilliseconds))
            ON CONFLICT (endpoint, user_id, session_id) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at
            """
        )
    }

    public func transcript(_ key: SessionKey) async throws -> [TranscriptRecord] {
        try await rows(
            """
            SELECT * FROM transcripts WHERE endpoint = \(key.endpoint) AND user_id = \(key.userId) AND session_id = \(key.sessionId)
            ORDER BY id
            """
        ).map(TranscriptRecord.init(row:))
    }

    public func transcriptEntry(_ key: SessionKey, traceId: String) async throws -> TranscriptRecord? {
        try await rows(
            """
            SELECT * FROM transcripts
            WHERE endpoint = \(key.endpoint) AND user_id = \(key.userId) AND session_id = \(key.sessionId) AND trace_id = \(traceId)
            """
        ).first.map(TranscriptRecord.init(row:))
    }

    // MARK: Flow versions

    public func saveFlowVersion(_ version: FlowVersion) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        guard let files = String(data: try encoder.encode(version.files), encoding: .utf8) else {
            throw StoreError.unavailable("cannot encode the files of flow version \(version.hash)")
        }
        try await execute(
            """
            INSERT INTO flow_versions (hash, files, created_at) VALUES (\(version.hash), \(files), \(version.createdAt.storeMilliseconds))
            ON CONFLICT (hash) DO NOTHING
            """
        )
    }

    public func flowVersion(hash: String) async throws -> FlowVersion? {
        guard let row = try await rows("SELECT * FROM flow_versions WHERE hash = \(hash)").first else { return nil }
        let json = try row.value("files", as: String.self)
        let files = try JSONDecoder().decode([String: String].self, from: Data(json.utf8))
        return FlowVersion(hash: hash, files: files, createdAt: try row.date("created_at"))
    }

    public func publishFlows(hash: String, at: Date) async throws {
        try await execute(
            """
            INSERT INTO deployment (name, value, updated_at) VALUES ('flows', \(hash), \(at.storeMilliseconds))
            ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at
            """
        )
    }

    public func publishedFlows() async throws -> String? {
        try await rows("SELECT value FROM deployment WHERE name = 'flows'").first?.value("value", as: String.self)
    }

    // MARK: API keys

    public func createKey(_ key: APIKeyRecord) async throws {
        try await execute(
            """
            INSERT INTO api_keys (endpoint, id, name, key_hash, key_preview, created_at, revoked_at)
            VALUES (\(key.endpoint), \(key.id), \(key.name), \(key.keyHash), \(key.keyPreview), \(key.createdAt.storeMilliseconds),
                \(key.revokedAt?.storeMilliseconds))
            """
        )
    }

    public func keys(endpoint: String) async throws -> [APIKeyRecord] {
        try await rows("SELECT * FROM api_keys WHERE endpoint = \(endpoint) ORDER BY created_at DESC, serial DESC").map(APIKeyRecord.init(row:))
    }

    public func revokeKey(endpoint: String, id: String, at: Date) async throws -> Bool {
        try await execute(
            "UPDATE api_keys SET revoked_at = \(at.storeMilliseconds) WHERE endpoint = \(endpoint) AND id = \(id) AND revoked_at IS NULL"
        ) > 0
    }
}

extension StoredSession {
    init(row: PostgresRandomAccessRow) throws {
        self.init(key: try row.sessionKey, state: try row.value("state"), flowHash: try row.value("flow_hash"), updatedAt: try row.date("updated_at"))
    }
}

extension TranscriptRecord {
    init(row: PostgresRandomAccessRow) throws {
        self.init(
            key: try row.sessionKey,
            turn: try row.value("turn", as: Int.self),
            traceId: try row.value("trace_id"),
            entry: try row.value("entry"),
            redacted: try row.value("redacted", as: Bool.self),
            createdAt: try row.date("created_at")
        )
    }
}

extension APIKeyRecord {
    init(row: PostgresRandomAccessRow) throws {
        self.init(
            id: try row.value("id"),
            endpoint: try row.value("endpoint"),
            name: try row.value("name"),
            keyHash: try row.value("key_hash"),
            keyPreview: try row.value("key_preview"),
            createdAt: try row.date("created_at"),
            revokedAt: try row.optionalDate("revoked_at")
        )
    }
}
