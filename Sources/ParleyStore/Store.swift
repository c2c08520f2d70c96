import Foundation

/// Everything Parley keeps: sessions, profiles, transcripts, the inbox of accepted inputs, the outbox of outgoing
/// messages, flow versions, API keys and named secrets.
///
/// One protocol, several backends (`ParleySQLite` embedded, `ParleyPostgres` shared by many instances), all held to
/// the same conformance suite (`Tests/ParleyStoreTests`). Payloads (session state, inputs, transcript entries,
/// message bodies) are JSON text that the runtime writes and reads; the store indexes only what it must find things
/// by.
///
/// Guarantees every backend gives:
/// - ``accept(_:)`` returns only once the entry is durable.
/// - ``commit(_:)`` is one transaction: the inbox entry is marked processed, the session and profile written, the
///   transcript entry appended and the outgoing messages enqueued — all or nothing. Committing an inbox entry that
///   is already processed throws ``StoreError/alreadyProcessed``, so a turn can never be committed twice; a commit
///   made under a claim (``TurnCommit/owner``) throws ``StoreError/claimLost`` once another owner holds the session.
/// - **Claims** (DESIGN §6, *Many instances*): ``claimInbox(owner:now:until:sessions:inputsPerSession:)`` hands a
///   session's pending inputs to one owner at a time, and ``claimMessages(owner:now:until:limit:excluding:)`` a session's
///   next message; a claim lasts until its lease ends (`until`), so the work of an owner that dies is taken over
///   by the others once its leases expire. An owner may claim again what it already holds.
/// - A session's inputs are offered in arrival order, and only while its oldest pending input is due: an input
///   waiting for a retry (``failInput(id:attempts:error:at:retryAt:)``) holds its session's later inputs back until it
///   runs or is dead, and never holds back other sessions.
/// - ``claimMessages(owner:now:until:limit:excluding:)`` never offers a session's message while an earlier message of the
///   same session is still pending: delivery is in order per session.
public protocol Store: Sendable {
    // MARK: Inbox

    /// Stores an accepted input durably and returns it with its ``InboxEntry/id`` (arrival order).
    func accept(_ entry: InboxEntry) async throws -> InboxEntry
    /// Pending inbox entries (claimed or not, due or not), oldest first.
    func pendingInbox(limit: Int) async throws -> [InboxEntry]
    /// Claims for `owner`, until `until`, up to `sessions` sessions whose oldest pending input is due at `now` and
    /// that nobody holds at `now` (an expired claim is anyone's; a session the owner still holds is running and is
    /// not offered again), and returns each claimed session's pending inputs (at most `inputsPerSession`, oldest
    /// first), sessions in the order of their oldest input.
    func claimInbox(owner: String, now: Date, until: Date, sessions: Int, inputsPerSession: Int) async throws -> [[InboxEntry]]
    /// Sets every inbox claim `owner` holds to end at `until`: a turn waiting on an effect keeps its session. A date
    /// in the past gives them all up at once (a restarted instance does so for the claims of its previous life).
    func renewInboxClaims(owner: String, until: Date) async throws
    /// Extends `owner`'s claims of these sessions (the ones it is running) until `until`; claims it holds on other
    /// sessions are left to expire. A claim whose answer never reached its owner (the connection broke) is held in
    /// the store but unknown to the owner: renewing only what runs lets such a claim lapse, so its session's inputs
    /// run after one lease instead of never.
    func renewInboxClaims(owner: String, sessions: Set<SessionKey>, until: Date) async throws
    /// Gives a session back; nothing happens when `owner` does not hold it.
    func releaseInboxClaim(owner: String, session: SessionKey) async throws
    /// Records that a pending input's turn could not be loaded, run or committed at `at`: it is retried from
    /// `retryAt`, or, when `retryAt` is nil, it becomes a dead input and its session's later inputs go on.
    func failInput(id: Int64, attempts: Int, error: String, at: Date, retryAt: Date?) async throws
    /// Inputs in a state, oldest first.
    func inputs(status: InboxEntry.Status, limit: Int) async throws -> [InboxEntry]
    /// How many inputs are in a state.
    func countInputs(status: InboxEntry.Status) async throws -> Int
    /// Puts dead inputs back in the inbox (all of them when `ids` is nil), due at `now` with attempts reset; returns
    /// how many. A revived input runs after the later inputs of its session that already ran.
    func retryDeadInputs(ids: [Int64]?, now: Date) async throws -> Int

    // MARK: Turns

    /// Commits a turn atomically (see the protocol's guarantees).
    func commit(_ turn: TurnCommit) async throws

    // MARK: Sessions, profiles, transcripts

    func session(_ key: SessionKey) async throws -> StoredSession?
    /// Sessions, most recently updated first; all endpoints when `endpoint` is nil.
    func sessions(endpoint: String?, limit: Int) async throws -> [StoredSession]
    /// The profile JSON of a user, if any turn stored one.
    func profile(userId: String) async throws -> String?
    /// What a turn starts from: the session and its user's profile JSON, read together (one read transaction where
    /// the store can; the default reads them one after the other).
    func turnState(_ key: SessionKey) async throws -> (session: StoredSession?, profile: String?)
    /// A voice copilot session's workspace (JSON text), as the last commit left it.
    func workspace(_ key: SessionKey) async throws -> String?
    /// A session's transformer storage (a JSON object as canonical JSON text), as the last commit or
    /// ``saveSessionStorage(_:_:at:)`` left it; nil when none was ever written.
    func sessionStorage(_ key: SessionKey) async throws -> String?
    /// Writes a session's transformer storage (a JSON object as canonical JSON text), replacing what was stored;
    /// `at` is when, which retention compares with the sessions cutoff. A turn writes it with its commit instead
    /// (``TurnCommit/sessionStorage``), so that it changes together with the session.
    func saveSessionStorage(_ key: SessionKey, _ json: String, at: Date) async throws
    /// A session's transcript entries in commit order (turn numbers start again at 1 when an expired session
    /// restarts under the same id).
    func transcript(_ key: SessionKey) async throws -> [TranscriptRecord]
    /// The transcript entry a session committed for an accepted input, if its turn ran.
    func transcriptEntry(_ key: SessionKey, traceId: String) async throws -> TranscriptRecord?

    // MARK: Outbox

    /// Pending messages whose next attempt is due at `now`, at most one per session (its oldest pending one),
    /// oldest first, whoever holds them, leaving out paused endpoints' messages (for inspection: delivery uses ``claimMessages(owner:now:until:limit:excluding:)``).
    func dueMessages(now: Date, limit: Int) async throws -> [OutgoingMessage]
    /// Claims for `owner`, until `until`, up to `limit` of the messages ``dueMessages(now:limit:)`` would offer
    /// that no other owner holds and whose endpoint is not in `excluding`, oldest first. Recording the attempt's
    /// outcome releases the claim. A delivery service excludes the endpoints that already have all the deliveries in
    /// flight they may have, so one endpoint's backlog never fills a claim that other endpoints' messages need.
    func claimMessages(owner: String, now: Date, until: Date, limit: Int, excluding: Set<String>) async throws -> [OutgoingMessage]
    /// Gives up `owner`'s claims of these messages without an attempt (a claim that read more than it could take),
    /// so other owners may take them at once rather than when the lease ends. Ids `owner` does not hold are ignored.
    func releaseMessageClaims(owner: String, ids: [Int64]) async throws
    /// The earliest `nextAttemptAt` of the messages ``dueMessages(now:limit:)`` can offer (each session's oldest
    /// pending message), so a delivery loop knows how long it may sleep. A later message blocked behind an earlier
    /// one does not count: the loop would wake to find nothing due and spin.
    func nextDueDate() async throws -> Date?
    func markDelivered(id: Int64, at: Date) async throws
    /// Records a failed attempt and when to try again.
    func scheduleRetry(id: Int64, attempts: Int, nextAttemptAt: Date, error: String) async throws
    /// Gives up on a message: it becomes a dead letter, and the session's later messages may go on.
    func markDead(id: Int64, attempts: Int, error: String, at: Date) async throws
    /// Messages in a state, oldest first.
    func messages(status: OutgoingMessage.Status, limit: Int) async throws -> [OutgoingMessage]
    /// How many messages are in a state (for the outbox depth and dead-letter metrics).
    func countMessages(status: OutgoingMessage.Status) async throws -> Int
    /// Puts dead letters back in the queue (all of them when `ids` is nil) with attempts reset; returns how many.
    func retryDead(ids: [Int64]?, now: Date) async throws -> Int

    // MARK: Paused endpoints

    /// Pauses an endpoint's deliveries (DESIGN §6, *Isolation*): its pending messages are kept but no longer offered
    /// by ``dueMessages(now:limit:)``, ``claimMessages(owner:now:until:limit:excluding:)`` or ``nextDueDate()``.
    /// Returns false when it was already paused (the first pause's reason and date stay).
    func pauseEndpoint(_ endpoint: String, reason: String, at: Date) async throws -> Bool
    /// Resumes a paused endpoint: its pending messages are offered again, in order, and the time they spent paused is
    /// added to their ``OutgoingMessage/pausedSeconds``, so they neither expire nor age out while paused. Returns
    /// false when it was not paused.
    func resumeEndpoint(_ endpoint: String, at: Date) async throws -> Bool
    /// The paused endpoints, by name.
    func pausedEndpoints() async throws -> [EndpointPause]

    // MARK: Flow versions

    /// Keeps the flow files of a content hash, so sessions pinned to it can finish after a reload. Idempotent.
    func saveFlowVersion(_ version: FlowVersion) async throws
    func flowVersion(hash: String) async throws -> FlowVersion?
    /// Makes a saved flow version the one new sessions start on, for every instance sharing the store.
    func publishFlows(hash: String, at: Date) async throws
    /// The flow version last published, if any.
    func publishedFlows() async throws -> String?

    // MARK: API keys

    func createKey(_ key: APIKeyRecord) async throws
    /// Keys of an endpoint, newest first, revoked ones included.
    func keys(endpoint: String) async throws -> [APIKeyRecord]
    /// Revokes a key; false when the endpoint has no such active key.
    func revokeKey(endpoint: String, id: String, at: Date) async throws -> Bool

    // MARK: Secrets

    /// The value of the secret `name` (the key that signs workspace links, for example), shared by every instance
    /// using the store: when none is stored yet, stores `make()` (created `at`) and returns it.
    ///
    /// `make` is called only when no value is stored. Callers racing to create the same secret (several instances
    /// starting together) may each call their `make`, but one value is kept and every caller gets that one. The
    /// value is never logged and never part of an error.
    ///
    /// ```swift
    /// let key = try await store.secret(named: "workspace-links", orCreate: { randomKey() }, at: .now)
    /// ```
    func secret(named name: String, orCreate make: @Sendable () -> String, at: Date) async throws -> String

    // MARK: Retention and erasure

    /// Removes up to `limit` rows of each kind older than its cutoff and returns how many of each went. Call it
    /// again while any count reaches `limit`; each call is short, so turns are never held up for long.
    func prune(_ cutoffs: RetentionCutoffs, limit: Int) async throws -> PruneCounts
    /// Removes a user's profile, sessions, workspaces, session storage, transcripts, inbox and outbox rows on every
    /// endpoint (DESIGN §5.6); workspaces and session storage are removed but not counted. A backend that keeps erased
    /// bytes elsewhere (SQLite's write-ahead log) clears them before returning.
    func eraseUser(_ userId: String) async throws -> ErasureCounts
}

extension Store {
    public func turnState(_ key: SessionKey) async throws -> (session: StoredSession?, profile: String?) {
        (try await session(key), try await profile(userId: key.userId))
    }

    /// Claims due messages of every endpoint that is not paused.
    public func claimMessages(owner: String, now: Date, until: Date, limit: Int) async throws -> [OutgoingMessage] {
        try await claimMessages(owner: owner, now: now, until: until, limit: limit, excluding: [])
    }
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
    /// Where an input is: waiting for (or retrying) its turn, done, or given up on after repeated failures.
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        case pending, processed, dead
    }

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
    public var status: Status
    /// Failed attempts at its turn (see ``Store/failInput(id:attempts:error:at:retryAt:)``).
    public var attempts: Int
    /// Why the last attempt failed.
    public var lastError: String?

    public init(
        id: Int64? = nil,
        traceId: String,
        key: SessionKey,
        kind: String,
        payload: String,
        acceptedAt: Date,
        status: Status = .pending,
        attempts: Int = 0,
        lastError: String? = nil
    ) {
        self.id = id
        self.traceId = traceId
        self.key = key
        self.kind = kind
        self.payload = payload
        self.acceptedAt = acceptedAt
        self.status = status
        self.attempts = attempts
        self.lastError = lastError
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
    /// How long the message waited while its endpoint was paused: that time does not count towards its expiry.
    public var pausedSeconds: TimeInterval

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
        sensitive: Bool = false,
        pausedSeconds: TimeInterval = 0
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
        self.pausedSeconds = pausedSeconds
    }

    /// How long the message has been waiting at `now`, not counting the time its endpoint was paused.
    public func age(at now: Date) -> TimeInterval {
        now.timeIntervalSince(createdAt) - pausedSeconds
    }
}

/// An endpoint whose deliveries are paused: by a receiver's `410 Gone` or by an operator.
public struct EndpointPause: Sendable, Hashable, Codable {
    public var endpoint: String
    /// Why: `gone` (a receiver answered 410) or `admin`, with details.
    public var reason: String
    public var pausedAt: Date

    public init(endpoint: String, reason: String, pausedAt: Date) {
        self.endpoint = endpoint
        self.reason = reason
        self.pausedAt = pausedAt
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
    /// The session's transformer storage after the turn (a JSON object as canonical JSON text), when it is to be
    /// written; nil leaves the stored one as it is.
    public var sessionStorage: String?
    /// The owner whose inbox claim the turn ran under; the commit fails with ``StoreError/claimLost`` when another
    /// owner holds the session now. Nil commits without looking at claims.
    public var owner: String?

    public init(
        inboxId: Int64,
        session: StoredSession,
        profile: String? = nil,
        transcript: TranscriptRecord? = nil,
        messages: [OutgoingMessage] = [],
        eraseInput: Bool = false,
        workspace: String? = nil,
        sessionStorage: String? = nil,
        owner: String? = nil
    ) {
        self.inboxId = inboxId
        self.session = session
        self.profile = profile
        self.transcript = transcript
        self.messages = messages
        self.eraseInput = eraseInput
        self.workspace = workspace
        self.sessionStorage = sessionStorage
        self.owner = owner
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
        case claimLost = "claim_lost"
        case rejected
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
    /// The session of a commit is held by another owner now: its lease ran out and another instance took it over.
    public static func claimLost(_ key: SessionKey, owner: String) -> StoreError {
        StoreError(.claimLost, "session \(key) is no longer claimed by \(owner)")
    }
    /// The database refused the data itself (a constraint, a value it cannot hold): trying again will not help.
    public static func rejected(_ message: String) -> StoreError { StoreError(.rejected, message) }
    /// The database cannot be reached or opened.
    public static func unavailable(_ message: String) -> StoreError { StoreError(.unavailable, message) }

    public var codeName: String { code.rawValue }
    /// True when the database itself could not be used: the operation may succeed later, unchanged.
    public var isUnavailable: Bool { code == .unavailable }
    /// True when the inbox entry of a commit was committed already or no longer exists: the turn has nothing to do.
    public var isAlreadyDone: Bool { code == .alreadyProcessed || code == .unknownInboxEntry }
    /// True when another owner holds the session now.
    public var isClaimLost: Bool { code == .claimLost }
    public var description: String { "\(code.rawValue): \(message)" }

    public static func == (lhs: StoreError, rhs: StoreError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}

/// The ages past which ``Store/prune(_:limit:)`` removes rows (DESIGN §6, *Retention*): every date is a cutoff, rows
/// older than it go.
public struct RetentionCutoffs: Sendable, Hashable {
    /// Transcript entries created before this.
    public var transcripts: Date
    /// Delivered messages delivered before this.
    public var delivered: Date
    /// Processed inbox rows processed before this.
    public var inbox: Date
    /// Dead letters and dead inputs that died before this.
    public var dead: Date
    /// Sessions (and their workspaces and session storage) last updated before this.
    public var sessions: Date

    public init(transcripts: Date, delivered: Date, inbox: Date, dead: Date, sessions: Date) {
        self.transcripts = transcripts
        self.delivered = delivered
        self.inbox = inbox
        self.dead = dead
        self.sessions = sessions
    }
}

/// How many rows one ``Store/prune(_:limit:)`` call removed.
public struct PruneCounts: Sendable, Hashable, Codable {
    public var transcripts = 0
    public var delivered = 0
    public var inbox = 0
    /// Dead letters.
    public var deadMessages = 0
    public var deadInputs = 0
    public var sessions = 0

    public init() {}

    /// The largest count: prune again while it reaches the batch size.
    public var largest: Int { max(transcripts, delivered, inbox, deadMessages, deadInputs, sessions) }

    public static func + (lhs: PruneCounts, rhs: PruneCounts) -> PruneCounts {
        var sum = PruneCounts()
        sum.transcripts = lhs.transcripts + rhs.transcripts
        sum.delivered = lhs.delivered + rhs.delivered
        sum.inbox = lhs.inbox + rhs.inbox
        sum.deadMessages = lhs.deadMessages + rhs.deadMessages
        sum.deadInputs = lhs.deadInputs + rhs.deadInputs
        sum.sessions = lhs.sessions + rhs.sessions
        return sum
    }
}

/// What ``Store/eraseUser(_:)`` removed: DESIGN §5.6's answer `{profiles, sessions, transcripts, inbox, outbox}`.
public struct ErasureCounts: Sendable, Hashable, Codable {
    public var profiles: Int
    public var sessions: Int
    public var transcripts: Int
    public var inbox: Int
    public var outbox: Int

    public init(profiles: Int = 0, sessions: Int = 0, transcripts: Int = 0, inbox: Int = 0, outbox: Int = 0) {
        self.profiles = profiles
        self.sessions = sessions
        self.transcripts = transcripts
        self.inbox = inbox
        self.outbox = outbox
    }
}

// Every backend keeps dates as whole milliseconds since 1970, rounded to the nearest millisecond: a date read back
// is the written date rounded to the millisecond, and equal dates compare equal in SQL.
extension Date {
    /// The date as whole milliseconds since 1970, as the stores keep it.
    public var storeMilliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }

    /// The date of a stored millisecond count.
    public init(storeMilliseconds milliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
