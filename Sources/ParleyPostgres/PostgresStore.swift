import Foundation
import Logging
import NIOCore
import NIOSSL
import ParleyStore
import PostgresNIO
import Synchronization

/// The shared ``Store``: one PostgreSQL database that any number of `parley serve` processes use together
/// (DESIGN §6, *Many instances*), through PostgresNIO's connection pool.
///
/// - **Claims** live in the database: a session's inputs are claimed in `inbox_claims` (one row per session, with
///   its owner and lease), an outbox message by its `claimed_by` and `claim_expires_at` columns, so a claim is seen
///   by every instance and outlives the instance that made it until its lease ends. Claiming is one statement that
///   only takes rows nobody else holds (`ON CONFLICT ... WHERE` for sessions, `FOR UPDATE SKIP LOCKED` for
///   messages), so instances claiming at the same time never get the same work and never wait on each other.
/// - **Commits** lock the inbox row and read the session's claim in the same transaction: a turn whose lease was
///   taken over fails with ``StoreError/claimLost`` instead of writing over the new owner's work.
/// - **Migrations** run once, under an advisory lock, when several instances start together.
///
/// Dates are `BIGINT` milliseconds since 1970 like SQLite's, so both backends round dates the same way.
///
/// ```swift
/// let store = try await PostgresStore.connect(PostgresLocation(url: "postgres://parley:secret@127.0.0.1:5432/parley"))
/// defer { store.close() }
/// ```
public final class PostgresStore: Store {
    let client: PostgresClient
    let logger: Logger
    private let running: Task<Void, Never>
    public let location: PostgresLocation

    private init(client: PostgresClient, location: PostgresLocation, logger: Logger) {
        self.client = client
        self.location = location
        self.logger = logger
        self.running = Task { await client.run() }
    }

    /// Connects to the database, waits until it answers, and migrates it to the current schema.
    ///
    /// - Throws: ``StoreError/unavailable(_:)`` when the database cannot be reached, refuses the login or cannot be
    ///   migrated; the message names the location without its password.
    public static func connect(_ location: PostgresLocation, logger: Logger = Logger(label: "parley.store.postgres")) async throws -> PostgresStore {
        let store = PostgresStore(
            client: PostgresClient(configuration: configuration(location), backgroundLogger: logger),
            location: location,
            logger: logger
        )
        do {
            // The pool keeps retrying a connection it cannot make; at start a database that does not answer within
            // connect_timeout is an error to report, not something to wait for. (Migrating may then wait for
            // another instance's migration, which is not a connection problem.)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { _ = try await store.client.query("SELECT 1", logger: logger).collect() }
                group.addTask {
                    try await Task.sleep(for: .seconds(location.connectTimeoutSeconds))
                    throw StoreError.unavailable("no connection within \(location.connectTimeoutSeconds) s (connect_timeout)")
                }
                defer { group.cancelAll() }
                try await group.next()
            }
            try await store.migrate()
        } catch {
            store.close()
            throw StoreError.unavailable("cannot open the PostgreSQL store \(location.redacted): \(Self.describe(error))")
        }
        return store
    }

    /// Stops the connection pool; the store must not be used afterwards. Closing twice does nothing.
    public func close() {
        running.cancel()
    }

    private static func configuration(_ location: PostgresLocation) -> PostgresClient.Configuration {
        var tls = TLSConfiguration.makeClientConfiguration()
        let mode: PostgresClient.Configuration.TLS
        switch location.tls {
        case .disable:
            mode = .disable
        case .prefer:
            tls.certificateVerification = .none
            mode = .prefer(tls)
        case .require:
            tls.certificateVerification = .none
            mode = .require(tls)
        case .verifyFull:
            mode = .require(tls)
        }
        var configuration = PostgresClient.Configuration(
            host: location.host,
            port: location.port,
            username: location.username,
            password: location.password,
            database: location.database,
            tls: mode
        )
        configuration.options.maximumConnections = location.poolSize
        configuration.options.connectTimeout = .seconds(location.connectTimeoutSeconds)
        configuration.options.additionalStartupParameters = [("statement_timeout", "\(location.statementTimeoutMs)")]
        if let schema = location.schema {
            configuration.options.additionalStartupParameters.append(("search_path", schema))
        }
        return configuration
    }

    // MARK: Running statements

    /// The longest one store operation may take: waiting for a connection (`connect_timeout`) and running its
    /// statements (`statement_timeout`), plus a second.
    var operationLimit: Duration {
        .seconds(location.connectTimeoutSeconds) + .milliseconds(location.statementTimeoutMs) + .seconds(1)
    }

    /// Runs `body`, or gives up after ``operationLimit`` with ``StoreError/unavailable(_:)``.
    ///
    /// The fault-injection suite found that after PostgreSQL restarts, an operation begun during the outage may never
    /// return (PostgresNIO neither answers nor fails it), which stalled a session's turns for good. Bounding every
    /// operation turns such a hang into the store being unavailable for a while: the turn or delivery is retried and
    /// nothing is lost. The abandoned operation is cancelled and left to end on its own.
    func bounded<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let limit = operationLimit
        let work = Task { try await body() }
        let outcome = Once()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let timer = Task {
                    try? await Task.sleep(for: limit)
                    guard !Task.isCancelled, outcome.claim() else { return }
                    work.cancel()
                    continuation.resume(
                        throwing: StoreError.unavailable("PostgreSQL did not answer within \(limit) (connect_timeout + statement_timeout)")
                    )
                }
                Task {
                    let result = await work.result
                    timer.cancel()
                    guard outcome.claim() else { return }
                    continuation.resume(with: result)
                }
            }
        } onCancel: {
            work.cancel()
        }
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws. Errors keep their
    /// ``StoreError`` meaning.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        do {
            return try await bounded { [client, logger] in try await Self.inTransaction(client: client, logger: logger, body) }
        } catch {
            throw Self.storeError(error)
        }
    }

    private static func inTransaction<T: Sendable>(
        client: PostgresClient,
        logger: Logger,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        do {
            return try await client.withConnection { connection in
                try await connection.query("BEGIN", logger: logger)
                do {
                    let value = try await body(connection)
                    try await connection.query("COMMIT", logger: logger)
                    return value
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw error
                }
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    /// Runs one statement outside a transaction and returns its rows.
    func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        do {
            return try await bounded { [client, logger] in try await client.query(query, logger: logger).collect().map { $0.makeRandomAccess() } }
        } catch {
            throw Self.storeError(error)
        }
    }

    /// Runs one statement outside a transaction and returns how many rows it changed.
    @discardableResult
    func execute(_ query: PostgresQuery) async throws -> Int {
        do {
            return try await bounded { [client, logger] in
                try await client.withConnection { connection in
                    try await connection.changes(query, logger: logger)
                }
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    /// A store error for a failure: constraint and data errors are the data's fault (``StoreError/rejected(_:)``),
    /// everything else (connection, timeout, deadlock, shutdown) is the database being unavailable for now.
    static func storeError(_ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] {
            let message = error.serverInfo?[.message] ?? "PostgreSQL error \(state)"
            // Class 22: data exception; class 23: integrity constraint violation.
            if state.hasPrefix("22") || state.hasPrefix("23") { return .rejected("\(message) (SQLSTATE \(state))") }
            return .unavailable("\(message) (SQLSTATE \(state))")
        }
        return .unavailable(describe(error))
    }

    /// A short description of a failure; PostgresNIO's own descriptions leave out the server's message.
    static func describe(_ error: any Error) -> String {
        if let error = error as? StoreError { return error.message }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            return "\(error.code)"
        }
        return "\(error)"
    }
}

extension PostgresConnection {
    /// Runs a statement and returns the number of rows it inserted, updated or deleted.
    func changes(_ query: PostgresQuery, logger: Logger) async throws -> Int {
        let future: EventLoopFuture<PostgresQueryResult> = self.query(query, logger: logger)
        return try await future.get().metadata.rows ?? 0
    }

    /// Runs a statement and returns its rows.
    func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRandomAccessRow] {
        try await self.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
    }
}

extension PostgresRandomAccessRow {
    func value<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try self[column].decode(T.self)
    }

    func date(_ column: String) throws -> Date {
        Date(storeMilliseconds: try value(column, as: Int64.self))
    }

    func optionalDate(_ column: String) throws -> Date? {
        try value(column, as: Int64?.self).map(Date.init(storeMilliseconds:))
    }

    var sessionKey: SessionKey {
        get throws {
            SessionKey(endpoint: try value("endpoint"), userId: try value("user_id"), sessionId: try value("session_id"))
        }
    }
}

/// A flag that lets exactly one of several racing tasks through.
private final class Once: Sendable {
    private let taken = Mutex(false)

    /// True for the first caller only.
    func claim() -> Bool {
        taken.withLock { taken in
            defer { taken = true }
            return !taken
        }
    }
}
