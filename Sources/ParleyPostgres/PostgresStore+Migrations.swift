import Foundation
import ParleyStore
import PostgresNIO

extension PostgresStore {
    /// The schema, one migration per released change; never edit a registered one, add a new one. The tables are
    /// SQLite's (`docs/storage.md`), with claims kept in the database: `inbox_claims` for sessions, `claimed_by`
    /// and `claim_expires_at` on outbox messages.
    static let migrations: [(version: String, sql: [String])] = [
        (
            "v1",
            [
                """
                CREATE TABLE inbox (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    trace_id TEXT NOT NULL,
                    endpoint TEXT NOT NULL,
                    user_id TEXT NOT NULL,
                    session_id TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    accepted_at BIGINT NOT NULL,
                    processed_at BIGINT,
                    status TEXT NOT NULL DEFAULT 'pending',
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at BIGINT NOT NULL DEFAULT 0,
                    last_error TEXT,
                    dead_at BIGINT
                )
                """,
                "CREATE INDEX inbox_pending_by_session ON inbox (endpoint, user_id, session_id, id) WHERE status = 'pending'",
                "CREATE INDEX inbox_by_status ON inbox (status, id)",
                // Claims read pending inputs in id order: this index holds only them, however long the history.
                "CREATE INDEX inbox_pending_by_id ON inbox (id) WHERE status = 'pending'",
                "CREATE INDEX inbox_processed_by_age ON inbox (processed_at) WHERE status = 'processed'",
                "CREATE INDEX inbox_dead_by_age ON inbox (dead_at) WHERE status = 'dead'",
                "CREATE INDEX inbox_by_user ON inbox (user_id)",
                """
                CREATE TABLE inbox_claims (
                    endpoint TEXT NOT NULL,
                    user_id TEXT NOT NULL,
                    session_id TEXT NOT NULL,
                    owner TEXT NOT NULL,
                    expires_at BIGINT NOT NULL,
                    PRIMARY KEY (endpoint, user_id, session_id)
                )
                """,
                "CREATE INDEX inbox_claims_by_owner ON inbox_claims (owner)",
                """
                CREATE TABLE sessions (
                    endpoint TEXT NOT NULL,
                    user_id TEXT NOT NULL,
                    session_id TEXT NOT NULL,
                    state TEXT NOT NULL,
                    flow_hash TEXT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    PRIMARY KEY (endpoint, user_id, session_id)
                )
                """,
                "CREATE INDEX sessions_by_update ON sessions (updated_at DESC)",
                "CREATE INDEX sessions_by_endpoint_update ON sessions (endpoint, updated_at DESC)",
                "CREATE INDEX sessions_by_user ON sessions (user_id)",
                """
                CREATE TABLE profiles (
                    user_id TEXT PRIMARY KEY,
                    profile TEXT NOT NULL,
                    updated_at BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE transcripts (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    endpoint TEXT NOT NULL,
                    user_id TEXT NOT NULL,
                    session_id TEXT NOT NULL,
                    turn INTEGER NOT NULL,
                    trace_id TEXT NOT NULL,
                    entry TEXT NOT NULL,
                    redacted BOOLEAN NOT NULL,
                    created_at BIGINT NOT NULL,
                    UNIQUE (endpoint, user_id, session_id, trace_id)
                )
                """,
                "CREATE INDEX transcripts_by_session ON transcripts (endpoint, user_id, session_id, id)",
                "CREATE INDEX transcripts_by_age ON transcripts (created_at)",
                "CREATE INDEX transcripts_by_user ON transcripts (user_id)",
                """
                CREATE TABLE workspaces (
                    endpoint TEXT NOT NULL,
                    user_id TEXT NOT NULL,
                    session_id TEXT NOT NULL,
                    state TEXT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    PRIMARY KEY (endpoint, user_id, session_id)
                )
                """,
                "CREATE INDEX workspaces_by_update ON workspaces (updated_at)",
                """
                CREATE TABLE outbox (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    idempotency_key TEXT NOT NULL,
                    endpoint TEXT NOT NULL,
                    user_id TEXT NOT NULL,
                    session_id TEXT NOT NULL,
                    destination TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    sensitive BOOLEAN NOT NULL,
                    created_at BIGINT NOT NULL,
                    attempts INTEGER NOT NULL,
                    next_attempt_at BIGINT NOT NULL,
                    status TEXT NOT NULL,
                    last_error TEXT,
                    delivered_at BIGINT,
                    dead_at BIGINT,
                    claimed_by TEXT,
                    claim_expires_at BIGINT
                )
                """,
                "CREATE INDEX outbox_pending_by_session ON outbox (endpoint, user_id, session_id, id) WHERE status = 'pending'",
                "CREATE INDEX outbox_by_status ON outbox (status, id)",
                "CREATE INDEX outbox_delivered_by_age ON outbox (delivered_at) WHERE status = 'delivered'",
                "CREATE INDEX outbox_dead_by_age ON outbox (dead_at) WHERE status = 'dead'",
                "CREATE INDEX outbox_by_user ON outbox (user_id)",
                """
                CREATE TABLE flow_versions (
                    hash TEXT PRIMARY KEY,
                    files TEXT NOT NULL,
                    created_at BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE api_keys (
                    endpoint TEXT NOT NULL,
                    id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    key_hash TEXT NOT NULL,
                    key_preview TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    revoked_at BIGINT,
                    serial BIGINT GENERATED ALWAYS AS IDENTITY,
                    PRIMARY KEY (endpoint, id)
                )
                """,
                "CREATE INDEX api_keys_by_endpoint ON api_keys (endpoint, created_at DESC, serial DESC)",
                """
                CREATE TABLE deployment (
                    name TEXT PRIMARY KEY,
                    value TEXT NOT NULL,
                    updated_at BIGINT NOT NULL
                )
                """,
            ]
        ),
        (
            "v2-endpoint-pauses",
            [
                """
                CREATE TABLE endpoint_pauses (
                    endpoint TEXT PRIMARY KEY,
                    reason TEXT NOT NULL,
                    paused_at BIGINT NOT NULL
                )
                """,
                "ALTER TABLE outbox ADD COLUMN paused_ms BIGINT NOT NULL DEFAULT 0",
            ]
        ),
        (
            "v3-secrets-and-session-storage",
            [
                // Named secrets every instance shares (the key that signs workspace links): written once, by the
                // first caller of secret(named:orCreate:at:), and never changed.
                """
                CREATE TABLE secrets (
                    name TEXT PRIMARY KEY,
                    value TEXT NOT NULL,
                    created_at BIGINT NOT NULL
                )
                """,
                // Transformer session storage: a JSON object per session, written by the turn's commit.
                """
                CREATE TABLE session_storage (
                    endpoint TEXT NOT NULL,
                    user_id TEXT NOT NULL,
                    session_id TEXT NOT NULL,
                    state TEXT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    PRIMARY KEY (endpoint, user_id, session_id)
                )
                """,
                "CREATE INDEX session_storage_by_update ON session_storage (updated_at)",
                "CREATE INDEX session_storage_by_user ON session_storage (user_id)",
            ]
        ),
    ]

    /// Brings the schema up to date. Instances starting together serialise on an advisory lock held on one
    /// connection: the first applies the missing migrations (each in its own transaction), the others then find
    /// nothing left to do.
    func migrate() async throws {
        try await client.withConnection { connection in
            let lock = Self.migrationLock(schema: location.schema)
            try await connection.query("SELECT pg_advisory_lock(\(lock))", logger: logger)
            do {
                if let schema = location.schema {
                    // A plain identifier (PostgresLocation checks it), so it can be spliced into the statement.
                    try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \"\(schema)\""), logger: logger)
                }
                try await connection.query(
                    """
                    CREATE TABLE IF NOT EXISTS parley_migrations (
                        version TEXT PRIMARY KEY,
                        applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                    )
                    """,
                    logger: logger
                )
                let applied = Set(
                    try await connection.rows("SELECT version FROM parley_migrations", logger: logger).map {
                        try $0.value("version", as: String.self)
                    }
                )
                for migration in Self.migrations where !applied.contains(migration.version) {
                    try await connection.query("BEGIN", logger: logger)
                    do {
                        for statement in migration.sql {
                            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                        }
                        try await connection.query("INSERT INTO parley_migrations (version) VALUES (\(migration.version))", logger: logger)
                        try await connection.query("COMMIT", logger: logger)
                    } catch {
                        _ = try? await connection.query("ROLLBACK", logger: logger)
                        throw error
                    }
                }
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(lock))", logger: logger)
                throw error
            }
            try await connection.query("SELECT pg_advisory_unlock(\(lock))", logger: logger)
        }
    }

    /// The advisory lock key migrations hold, one per schema.
    static func migrationLock(schema: String?) -> Int64 {
        // FNV-1a over the schema's name, the same in every process (Swift's Hasher is seeded per process): instances
        // of one deployment wait for each other, deployments in other schemas of the database do not.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "parley migrations \(schema ?? "public")".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }
}

extension PostgresStore {
    /// Drops the schema the location names, with every table in it: how a test run or a throwaway deployment that
    /// shares a database cleans up. Refuses when the location names no schema (Parley's tables are then in
    /// `public`, next to whatever else the database holds).
    public func dropSchema() async throws {
        guard let schema = location.schema else {
            throw StoreError.rejected("the store names no schema to drop")
        }
        try await execute(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE"))
    }
}
