import Foundation

/// Everything Parley keeps: sessions, profiles, transcripts, the inbox of accepted inputs, the outbox of outgoing
/// messages, flow versions and API keys.
///
/// One protocol, several backends (SQLite embedded, PostgreSQL shared), all held to the same conformance suite
/// (`Tests/ParleyStoreTests`). Payloads (session state, inputs, transcript entries, message bodies) are JSON text
/// that the runtime writes and reads; the store indexes only what it must find things by.
///
/// Guarantees every backend gives:
/// - ``accept(_:)`` returns only once the entry is durable.
/// - ``commit(_:)`` is one transaction: the inbox entry is marked processed, the session and profile written, the
///   transcript entry appended and the outgoing messages enqueued — all or nothing. Committing an inbox entry that
///   is already processed throws ``StoreError/alreadyProcessed``, so a turn can never be committed twice.
/// - ``dueMessages(now:limit:)`` never offers a session's message while an earlier message of the same session
///   is still pending: delivery is in order per session.
public protocol Store: Sendable {
    // MARK: Inbox

    /// Stores an accepted input durably and returns it with its ``InboxEntry/id`` (arrival order).
    func accept(_ entry: InboxEntry) async throws -> InboxEntry
    /// Unprocessed inbox entries, oldest first.
    func pendingInbox(limit: Int) async throws -> [InboxEntry]

    // MARK: Turns

    /// Commits a turn atomically (see the protocol's guarantees).
    func commit(_ turn: TurnCommit) async throws

    // MARK: Sessions, profiles, transcripts

    func session(_ key: SessionKey) async throws -> StoredSession?
    /// Sessions, most recently updated first; all endpoints when `endpoint` is nil.
    func sessions(endpoint: String?, limit: Int) async throws -> [StoredSession]
    /// The profile JSON of a user, if any turn stored one.
    func profile(userId: String) async throws -> String?
    /// A voice copilot session's workspace (JSON text), as the last commit left it.
    func workspace(_ key: SessionKey) async throws -> String?
    /// A session's transcript entries in commit order (turn numbers start again at 1 when an expired session
    /// restarts under the same id).
    func transcript(_ key: SessionKey) async throws -> [TranscriptRecord]

    // MARK: Outbox

    /// Pending messages whose next attempt is due at `now`, at most one per session (its oldest pending one),
    /// oldest first.
    func dueMessages(now: Date, limit: Int) async throws -> [OutgoingMessage]
    /// The earliest `nextAttemptAt` of the messages ``dueMessages(now:limit:)`` can offer (each session's oldest
    /// pending message), so a delivery loop knows how long it may sleep. A later message blocked behind an earlier
    /// one does not count: the loop would wake to find nothing due and spin.
    func nextDueDate() async throws -> Date?
    func markDelivered(id: Int64, at: Date) async throws
    /// Records a failed attempt and when to try again.
    func scheduleRetry(id: Int64, attempts: Int, nextAttemptAt: Date, error: String) async throws
    /// Gives up on a message: it becomes a dead letter, and the session's later messages may go on.
    func markDead(id: Int64, attempts: Int, error: String) async throws
    /// Messages in a state, oldest first.
    func messages(status: OutgoingMessage.Status, limit: Int) async throws -> [OutgoingMessage]
    /// How many messages are in a state (for the outbox depth and dead-letter metrics).
    func countMessages(status: OutgoingMessage.Status) async throws -> Int
    /// Puts dead letters back in the queue (all of them when `ids` is nil) with attempts reset; returns how many.
    func retryDead(ids: [Int64]?, now: Date) async throws -> Int

    // MARK: Flow versions

    /// Keeps the flow files of a content hash, so sessions pinned to it can finish after a reload. Idempotent.
    func saveFlowVersion(_ version: FlowVersion) async throws
    func flowVersion(hash: String) async throws -> FlowVersion?

    // MARK: API keys

    func createKey(_ key: APIKeyRecord) async throws
    /// Keys of an endpoint, newest first, revoked ones included.
    func keys(endpoint: String) async throws -> [APIKeyRecord]
    /// Revokes a key; false when the endpoint has no such active key.
    func revokeKey(endpoint: String, id: String, at: Date) async throws -> Bool
}

/// Identifies a session: DESIGN §4 keys sessions by endpoint, user and session id.
public struct SessionKey: Sendable, Hashable, Codable, CustomStringConvertible {
    public var endpoint: String
    public var userId: String
    public var sessionId: String

    public init(endpoint: String, userId: String, sessionId: String) {
        self.endpoint = endpoint
        self.userId = userId
        self.sessionId = sessionId
    }

    public var description: String { "\(endpoint)/\(userId)/\(sessionId)" }
}

/// An accepted input waiting for its turn.
public struct InboxEntry: Sendable, Hashable {
    /// Assigned by ``Store/accept(_:)``; increases in arrival order.
    public var id: Int64?
    /// Unique per accepted request; returned to the client.
    public var traceId: String
    public var key: SessionKey
    /// What the runtime must do with it (for example `message`, `handoverEnd`, `notify`); the store does not care.
    public var kind: String
    /// The input as JSON text.
    public var payload: String
    public var acceptedAt: Date

    public init(id: Int64? = nil, traceId: String, key: SessionKey, kind: String, payload: String, acceptedAt: Date) {
        self.id = id
        self.traceId = traceId
        self.key = key
        self.kind = kind
        self.payload = payload
        self.acceptedAt = acceptedAt
    }
}

/// A session's stored state.
public struct StoredSession: Sendable, Hashable {
    public var key: SessionKey
    /// The engine's session value as JSON text.
    public var state: String
    /// The flow set hash the session is pinned to.
    public var flowHash: String
    public var updatedAt: Date

    public init(key: SessionKey, state: String, flowHash: String, updatedAt: Date) {
        self.key = key
        self.state = state
        self.flowHash = flowHash
        self.updatedAt = updatedAt
    }
}

/// One recorded turn.
public struct TranscriptRecord: Sendable, Hashable {
    public var key: SessionKey
    /// 1-based position in the session's life (the engine's execution count).
    public var turn: Int
    /// The accepted input's trace id; a session has one entry per trace id.
    public var traceId: String
    /// The transcript entry as JSON text (input, outputs, events, trace, flow hash, digest).
    public var entry: String
    /// True when sensitive logging was disabled: text and data in `entry` are masked.
    public var redacted: Bool
    public var createdAt: Date

    public init(key: SessionKey, turn: Int, traceId: String, entry: String, redacted: Bool, createdAt: Date) {
        self.key = key
        self.turn = turn
        self.traceId = traceId
        self.entry = entry
        self.redacted = redacted
        self.createdAt = createdAt
    }
}

/// A message to deliver over HTTP.
public struct OutgoingMessage: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        case pending, delivered, dead
    }

    /// Assigned by the store when the turn is committed; increases in commit order.
    public var id: Int64?
    /// Sent as the `Idempotency-Key` header: stable across retries.
    public var idempotencyKey: String
    public var key: SessionKey
    /// Where it goes: `webhook`, `handover`... (the runtime resolves the URL from the endpoint's config).
    public var destination: String
    /// The JSON body.
    public var payload: String
    public var createdAt: Date
    public var attempts: Int
    public var nextAttemptAt: Date
    public var status: Status
    public var lastError: String?
    /// True when the body holds user content that must be erased once delivered (sensitive logging disabled).
    public var sensitive: Bool

    public init(
        id: Int64? = nil,
        idempotencyKey: String,
        key: SessionKey,
        destination: String,
        payload: String,
        createdAt: Date,
        attempts: Int = 0,
        nextAttemptAt: Date? = nil,
        status: Status = .pending,
        lastError: String? = nil,
        sensitive: Bool = false
    ) {
        self.id = id
        self.idempotencyKey = idempotencyKey
        self.key = key
        self.destination = destination
        self.payload = payload
        self.createdAt = createdAt
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt ?? createdAt
        self.status = status
        self.lastError = lastError
        self.sensitive = sensitive
    }
}

/// Everything one turn changes, committed in one transaction.
public struct TurnCommit: Sendable, Hashable {
    /// The inbox entry the turn processed; it is marked processed (or deleted when `eraseInput` is set).
    public var inboxId: Int64
    /// The session after the turn.
    public var session: StoredSession
    /// The user's profile after the turn (JSON text), when it is to be written.
    public var profile: (String)?
    public var transcript: TranscriptRecord?
    public var messages: [OutgoingMessage]
    /// Removes the input's payload once processed (sensitive logging disabled).
    public var eraseInput: Bool
    /// The session's voice copilot workspace after the turn (JSON text), when it is to be written.
    public var workspace: String?

    public init(
        inboxId: Int64,
        session: StoredSession,
        profile: String? = nil,
        transcript: TranscriptRecord? = nil,
        messages: [OutgoingMessage] = [],
        eraseInput: Bool = false,
        workspace: String? = nil
    ) {
        self.inboxId = inboxId
        self.session = session
        self.profile = profile
        self.transcript = transcript
        self.messages = messages
        self.eraseInput = eraseInput
        self.workspace = workspace
    }
}

/// The flow files behind a content hash.
public struct FlowVersion: Sendable, Hashable {
    public var hash: String
    /// File name and YAML text of every flow file.
    public var files: [String: String]
    public var createdAt: Date

    public init(hash: String, files: [String: String], createdAt: Date) {
        self.hash = hash
        self.files = files
        self.createdAt = createdAt
    }
}

/// An endpoint API key as stored: only its hash, never the key.
public struct APIKeyRecord: Sendable, Hashable {
    public var id: String
    public var endpoint: String
    public var name: String
    /// Hex SHA-256 of the key.
    public var keyHash: String
    /// The first characters of the key, for people to tell keys apart.
    public var keyPreview: String
    public var createdAt: Date
    public var revokedAt: Date?

    public init(id: String, endpoint: String, name: String, keyHash: String, keyPreview: String, createdAt: Date, revokedAt: Date? = nil) {
        self.id = id
        self.endpoint = endpoint
        self.name = name
        self.keyHash = keyHash
        self.keyPreview = keyPreview
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// Store failures with a stable code.
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: String, Sendable, Hashable {
        case alreadyProcessed = "already_processed"
        case unknownInboxEntry = "unknown_inbox_entry"
        case unavailable
    }

    private let code: Code
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The inbox entry of a commit was already committed (or erased): the turn must not run twice.
    public static func alreadyProcessed(_ id: Int64) -> StoreError { StoreError(.alreadyProcessed, "inbox entry \(id) is already processed") }
    /// The inbox entry of a commit does not exist.
    public static func unknownInboxEntry(_ id: Int64) -> StoreError { StoreError(.unknownInboxEntry, "no inbox entry \(id)") }
    /// The database cannot be reached or opened.
    public static func unavailable(_ message: String) -> StoreError { StoreError(.unavailable, message) }

    public var codeName: String { code.rawValue }
    public var description: String { "\(code.rawValue): \(message)" }

    public static func == (lhs: StoreError, rhs: StoreError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
