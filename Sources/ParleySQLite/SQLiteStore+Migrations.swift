import GRDB
import ParleyStore

extension SQLiteStore {
    /// The schema, one migration per released change. Never edit a registered migration: add a new one.
    ///
    /// Dates are `INTEGER` milliseconds since 1970; booleans are `INTEGER` 0 or 1; payloads are JSON `TEXT` the
    /// store never looks into. Every index serves one query of ``Store``.
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // Accepted inputs. AUTOINCREMENT: ids are never reused, so they keep increasing in arrival order.
            // `processed_at` is set by the commit of the turn that processed the entry.
            try db.execute(
                sql: """
                    CREATE TABLE inbox (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        trace_id TEXT NOT NULL,
                        endpoint TEXT NOT NULL,
                        user_id TEXT NOT NULL,
                        session_id TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        payload TEXT NOT NULL,
                        accepted_at INTEGER NOT NULL,
                        processed_at INTEGER
                    );
                    -- pendingInbox: unprocessed entries in id order.
                    CREATE INDEX inbox_pending ON inbox (id) WHERE processed_at IS NULL;

                    CREATE TABLE sessions (
                        endpoint TEXT NOT NULL,
                        user_id TEXT NOT NULL,
                        session_id TEXT NOT NULL,
                        state TEXT NOT NULL,
                        flow_hash TEXT NOT NULL,
                        updated_at INTEGER NOT NULL,
                        PRIMARY KEY (endpoint, user_id, session_id)
                    );
                    -- sessions(endpoint:limit:), with and without an endpoint.
                    CREATE INDEX sessions_by_update ON sessions (updated_at DESC);
                    CREATE INDEX sessions_by_endpoint_update ON sessions (endpoint, updated_at DESC);

                    CREATE TABLE profiles (
                        user_id TEXT PRIMARY KEY NOT NULL,
                        profile TEXT NOT NULL,
                        updated_at INTEGER NOT NULL
                    );

                    -- One row per turn, in commit order. Turn numbers start again at 1 when an expired session
                    -- restarts under the same id; the trace id (one per accepted input) rejects a second entry for
                    -- the same input.
                    CREATE TABLE transcripts (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        endpoint TEXT NOT NULL,
                        user_id TEXT NOT NULL,
                        session_id TEXT NOT NULL,
                        turn INTEGER NOT NULL,
                        trace_id TEXT NOT NULL,
                        entry TEXT NOT NULL,
                        redacted INTEGER NOT NULL,
                        created_at INTEGER NOT NULL,
                        UNIQUE (endpoint, user_id, session_id, trace_id)
                    );
                    -- transcript(_:): a session's rows in commit order.
                    CREATE INDEX transcripts_by_session ON transcripts (endpoint, user_id, session_id, id);

                    -- Outgoing messages. AUTOINCREMENT: ids increase in commit order, which is the delivery order
                    -- within a session. `status` is pending, delivered or dead.
                    CREATE TABLE outbox (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        idempotency_key TEXT NOT NULL,
                        endpoint TEXT NOT NULL,
                        user_id TEXT NOT NULL,
                        session_id TEXT NOT NULL,
                        destination TEXT NOT NULL,
                        payload TEXT NOT NULL,
                        sensitive INTEGER NOT NULL,
                        created_at INTEGER NOT NULL,
                        attempts INTEGER NOT NULL,
                        next_attempt_at INTEGER NOT NULL,
                        status TEXT NOT NULL,
                        last_error TEXT,
                        delivered_at INTEGER
                    );
                    -- dueMessages and nextDueDate: a session's oldest pending message.
                    CREATE INDEX outbox_pending_by_session ON outbox (endpoint, user_id, session_id, id)
                        WHERE status = 'pending';
                    -- messages(status:limit:) and retryDead.
                    CREATE INDEX outbox_by_status ON outbox (status, id);

                    CREATE TABLE flow_versions (
                        hash TEXT PRIMARY KEY NOT NULL,
                        files TEXT NOT NULL,
                        created_at INTEGER NOT NULL
                    );

                    CREATE TABLE api_keys (
                        endpoint TEXT NOT NULL,
                        id TEXT NOT NULL,
                        name TEXT NOT NULL,
                        key_hash TEXT NOT NULL,
                        key_preview TEXT NOT NULL,
                        created_at INTEGER NOT NULL,
                        revoked_at INTEGER,
                        PRIMARY KEY (endpoint, id)
                    );
                    -- keys(endpoint:), newest first.
                    CREATE INDEX api_keys_by_endpoint ON api_keys (endpoint, created_at DESC);
                    """
            )
        }
        migrator.registerMigration("v2-workspaces") { db in
            // Voice copilot workspaces: the grid, the tiles and the call transcript of a session, written by the
            // turn's commit.
            try db.execute(
                sql: """
                    CREATE TABLE workspaces (
                        endpoint TEXT NOT NULL,
                        user_id TEXT NOT NULL,
                        session_id TEXT NOT NULL,
                        state TEXT NOT NULL,
                        updated_at INTEGER NOT NULL,
                        PRIMARY KEY (endpoint, user_id, session_id)
                    );
                    """
            )
        }
        migrator.registerMigration("v3-inbox-status-retention") { db in
            // Poison inputs (DESIGN §6): an input is pending, processed or dead, with its failed attempts, when it
            // may be tried again and why it last failed. Retention and erasure find rows by age and by user.
            try db.execute(
                sql: """
                    ALTER TABLE inbox ADD COLUMN status TEXT NOT NULL DEFAULT 'pending';
                    ALTER TABLE inbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE inbox ADD COLUMN next_attempt_at INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE inbox ADD COLUMN last_error TEXT;
                    ALTER TABLE inbox ADD COLUMN dead_at INTEGER;
                    UPDATE inbox SET status = 'processed' WHERE processed_at IS NOT NULL;
                    DROP INDEX inbox_pending;
                    -- claimInbox: each session's oldest pending input, and a session's pending inputs in order.
                    CREATE INDEX inbox_pending_by_session ON inbox (endpoint, user_id, session_id, id) WHERE status = 'pending';
                    -- pendingInbox and inputs(status:limit:).
                    CREATE INDEX inbox_by_status ON inbox (status, id);
                    -- prune: processed and dead inputs by age.
                    CREATE INDEX inbox_processed_by_age ON inbox (processed_at) WHERE status = 'processed';
                    CREATE INDEX inbox_dead_by_age ON inbox (dead_at) WHERE status = 'dead';
                    -- eraseUser.
                    CREATE INDEX inbox_by_user ON inbox (user_id);

                    ALTER TABLE outbox ADD COLUMN dead_at INTEGER;
                    UPDATE outbox SET dead_at = created_at WHERE status = 'dead';
                    -- prune: delivered messages and dead letters by age.
                    CREATE INDEX outbox_delivered_by_age ON outbox (delivered_at) WHERE status = 'delivered';
                    CREATE INDEX outbox_dead_by_age ON outbox (dead_at) WHERE status = 'dead';
                    CREATE INDEX outbox_by_user ON outbox (user_id);

                    CREATE INDEX transcripts_by_age ON transcripts (created_at);
                    CREATE INDEX transcripts_by_user ON transcripts (user_id);
                    CREATE INDEX sessions_by_user ON sessions (user_id);
                    CREATE INDEX workspaces_by_update ON workspaces (updated_at);

                    -- Values every instance reads: the published flow hash.
                    CREATE TABLE deployment (
                        name TEXT PRIMARY KEY NOT NULL,
                        value TEXT NOT NULL,
                        updated_at INTEGER NOT NULL
                    );
                    """
            )
        }
        migrator.registerMigration("v4-endpoint-pauses") { db in
            try db.execute(
                sql: """
                    -- Paused endpoints (DESIGN §6, Isolation): their pending messages are kept and not offered.
                    CREATE TABLE endpoint_pauses (
                        endpoint TEXT PRIMARY KEY NOT NULL,
                        reason TEXT NOT NULL,
                        paused_at INTEGER NOT NULL
                    );
                    -- The time a pending message spent paused, which does not count towards its expiry.
                    ALTER TABLE outbox ADD COLUMN paused_ms INTEGER NOT NULL DEFAULT 0;
                    """
            )
        }
        migrator.registerMigration("v5-secrets-and-session-storage") { db in
            try db.execute(
                sql: """
                    -- Named secrets every instance shares (the key that signs workspace links): written once, by
                    -- the first caller of secret(named:orCreate:at:), and never changed.
                    CREATE TABLE secrets (
                        name TEXT PRIMARY KEY NOT NULL,
                        value TEXT NOT NULL,
                        created_at INTEGER NOT NULL
                    );
                    -- Transformer session storage: a JSON object per session, written by the turn's commit.
                    CREATE TABLE session_storage (
                        endpoint TEXT NOT NULL,
                        user_id TEXT NOT NULL,
                        session_id TEXT NOT NULL,
                        state TEXT NOT NULL,
                        updated_at INTEGER NOT NULL,
                        PRIMARY KEY (endpoint, user_id, session_id)
                    );
                    -- prune, by age.
                    CREATE INDEX session_storage_by_update ON session_storage (updated_at);
                    -- eraseUser.
                    CREATE INDEX session_storage_by_user ON session_storage (user_id);
                    """
            )
        }
        migrator.registerMigration("v6-outbox-heads") { db in
            try db.execute(
                sql: """
                    -- Each session's oldest pending message (its head, the only one that may be sent) and when it is
                    -- due, kept by triggers as messages are queued, delivered, retried, given up, revived or erased.
                    -- Finding the due messages and the next due time reads this table through its index instead
                    -- of scanning every pending message (issue 25: 0.4 s a pass with 315,000 waiting).
                    CREATE TABLE outbox_heads (
                        endpoint TEXT NOT NULL,
                        user_id TEXT NOT NULL,
                        session_id TEXT NOT NULL,
                        message_id INTEGER NOT NULL,
                        next_attempt_at INTEGER NOT NULL,
                        PRIMARY KEY (endpoint, user_id, session_id)
                    ) WITHOUT ROWID;
                    -- dueMessages and nextDueDate, per endpoint (a paused endpoint's heads are never walked).
                    CREATE INDEX outbox_heads_due ON outbox_heads (endpoint, next_attempt_at, message_id);
                    INSERT INTO outbox_heads (endpoint, user_id, session_id, message_id, next_attempt_at)
                        SELECT o.endpoint, o.user_id, o.session_id, o.id, o.next_attempt_at FROM outbox AS o
                        WHERE o.status = 'pending' AND NOT EXISTS (
                            SELECT 1 FROM outbox AS earlier
                            WHERE earlier.status = 'pending' AND earlier.endpoint = o.endpoint AND earlier.user_id = o.user_id
                                AND earlier.session_id = o.session_id AND earlier.id < o.id
                        );
                    -- claimInbox: each endpoint's pending inputs in arrival order, so endpoints take turns.
                    CREATE INDEX inbox_pending_by_endpoint ON inbox (endpoint, id) WHERE status = 'pending';
                    -- A queued message is its session's head when the session has none (ids only grow).
                    CREATE TRIGGER outbox_heads_insert AFTER INSERT ON outbox WHEN NEW.status = 'pending' BEGIN
                        INSERT INTO outbox_heads (endpoint, user_id, session_id, message_id, next_attempt_at)
                            VALUES (NEW.endpoint, NEW.user_id, NEW.session_id, NEW.id, NEW.next_attempt_at)
                            ON CONFLICT (endpoint, user_id, session_id) DO NOTHING;
                    END;
                    -- Delivered, retried, dead or revived: the session's head is looked up again.
                    CREATE TRIGGER outbox_heads_update AFTER UPDATE OF status, next_attempt_at ON outbox BEGIN
                        DELETE FROM outbox_heads
                            WHERE endpoint = NEW.endpoint AND user_id = NEW.user_id AND session_id = NEW.session_id;
                        INSERT INTO outbox_heads (endpoint, user_id, session_id, message_id, next_attempt_at)
                            SELECT endpoint, user_id, session_id, id, next_attempt_at FROM outbox
                            WHERE status = 'pending' AND endpoint = NEW.endpoint AND user_id = NEW.user_id
                                AND session_id = NEW.session_id
                            ORDER BY id LIMIT 1;
                    END;
                    -- A pending message erased (a data subject's erasure): the same.
                    CREATE TRIGGER outbox_heads_delete AFTER DELETE ON outbox WHEN OLD.status = 'pending' BEGIN
                        DELETE FROM outbox_heads
                            WHERE endpoint = OLD.endpoint AND user_id = OLD.user_id AND session_id = OLD.session_id;
                        INSERT INTO outbox_heads (endpoint, user_id, session_id, message_id, next_attempt_at)
                            SELECT endpoint, user_id, session_id, id, next_attempt_at FROM outbox
                            WHERE status = 'pending' AND endpoint = OLD.endpoint AND user_id = OLD.user_id
                                AND session_id = OLD.session_id
                            ORDER BY id LIMIT 1;
                    END;
                    """
            )
        }
        return migrator
    }()
}
