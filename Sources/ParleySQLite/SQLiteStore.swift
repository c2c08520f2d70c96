import Foundation
import GRDB
import ParleyStore
import Synchronization

/// The embedded ``Store``: one SQLite file (by default `.parley/parley.sqlite`) through GRDB.
///
/// A file store opens a `DatabasePool` in WAL mode: GRDB serialises every write on one writer connection while
/// readers run concurrently on their own connections and see the last committed state. Each connection runs with
/// `PRAGMA secure_delete = ON`, so content that a turn or a delivery erases (sensitive inputs and message bodies,
/// DESIGN §4) is overwritten with zeros in the database pages instead of lingering in free space, and with
/// `PRAGMA synchronous = FULL`, so ``accept(_:)`` returns only once the entry survives a power cut.
///
/// Dates are stored as whole milliseconds since 1970 (`INTEGER`): a date read back equals the date written,
/// rounded to the nearest millisecond. `docs/storage.md` describes the schema.
///
/// ```swift
/// let store = try SQLiteStore(path: SQLiteStore.defaultPath)
/// let entry = try await store.accept(InboxEntry(traceId: "t1", key: key, kind: "message", payload: "{}", acceptedAt: .now))
/// ```
public final class SQLiteStore: Store {
    /// Where the embedded database lives unless configured, relative to the working directory.
    public static let defaultPath = ".parley/parley.sqlite"

    /// The database file, or nil for an in-memory store.
    public let path: String?
    private let writer: any DatabaseWriter
    private let connection = ConnectionState()
    /// Claims on sessions and messages: in memory, since one process serves a SQLite database.
    let claims = ClaimBook()
    /// Accepts, turn commits and delivery marks share transactions under load (``WriteBatcher``).
    private let batcher = WriteBatcher()
    /// Connections of their own for the point reads every turn makes (``pointRead(_:)``); none in memory.
    private let pointReaders: PointReaders?

    /// Opens (creating it and its parent folders when missing) the database at `path` and migrates it to the
    /// current schema.
    ///
    /// - Throws: ``StoreError/unavailable(_:)`` when the folder cannot be created or the file cannot be opened
    ///   as a SQLite database.
    public init(path: String) throws {
        let url = URL(fileURLWithPath: path)
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            let pool = try DatabasePool(path: url.path, configuration: Self.configuration())
            try Self.migrator.migrate(pool)
            self.writer = pool
            self.pointReaders = PointReaders(path: url.path, configuration: Self.configuration(readonly: true))
        } catch {
            throw StoreError.unavailable("cannot open the SQLite database at \(path): \(error)")
        }
        self.path = url.path
    }

    private init(inMemory queue: DatabaseQueue) {
        self.writer = queue
        self.path = nil
        self.pointReaders = nil
    }

    /// A store that lives in memory only and disappears with its value: for tests and throwaway chats.
    public static func inMemory() throws -> SQLiteStore {
        do {
            let queue = try DatabaseQueue(configuration: configuration())
            try migrator.migrate(queue)
            return SQLiteStore(inMemory: queue)
        } catch {
            throw StoreError.unavailable("cannot open an in-memory SQLite database: \(error)")
        }
    }

    /// Closes the database connections. The store must not be used afterwards (its methods then throw
    /// ``StoreError/unavailable(_:)``); closing lets another store open the same file. Closing twice does nothing.
    ///
    /// A file store first folds its write-ahead log into the database file and truncates the log (see
    /// ``checkpoint()``), unless another process still reads an older snapshot.
    public func close() throws {
        try connection.close {
            if let pool = writer as? DatabasePool {
                pointReaders?.close()
                _ = try? pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
                try pool.close()
            } else if let queue = writer as? DatabaseQueue {
                try queue.close()
            }
        }
    }

    /// Copies the write-ahead log into the database file and truncates the log to zero bytes.
    ///
    /// Erased content is zeroed in the database file as soon as its pages are checkpointed, but older copies of those
    /// pages stay in the `-wal` file until SQLite reuses it; a truncating checkpoint removes them at once. The runtime
    /// may call this when the outbox is idle. Waits for readers that hold an older snapshot.
    public func checkpoint() async throws {
        try connection.checkOpen()
        try await writer.writeWithoutTransaction { db in
            _ = try db.checkpoint(.truncate)
        }
    }

    /// Throws ``StoreError/unavailable(_:)`` once the store is closed.
    func connectionOpen() throws {
        try connection.checkOpen()
    }

    /// Runs `updates` in one write transaction: everything or nothing, rolled back when `updates` throws.
    func write<T: Sendable>(_ updates: @Sendable (Database) throws -> T) async throws -> T {
        try connection.checkOpen()
        return try await writer.write(updates)
    }

    /// Runs `updates` in a savepoint of a transaction it may share with other writes that arrive meanwhile (group
    /// commit): rolled back alone when it throws, returned only once the transaction committed. For the hot writes
    /// (accepts, turn commits, delivery marks), where sharing one fsync is what makes concurrency pay.
    func batchedWrite<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try connection.checkOpen()
        return try await batcher.write(on: writer, updates)
    }

    /// Runs `value` on a reader, concurrently with the writer, on the last committed state.
    ///
    /// The reader is taken, used and given back on GRDB's own queues: a cooperative thread never waits for one, and
    /// none is held until a cooperative thread is free to resume the caller. (GRDB's `async` read gives its reader
    /// back only once the awaiting task resumes; with every cooperative thread blocked waiting for a reader, those
    /// readers were never given back: the deadlock of issue 25.)
    func read<T: Sendable>(_ value: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try connection.checkOpen()
        return try await withCheckedThrowingContinuation { continuation in
            writer.asyncRead { database in
                continuation.resume(with: Result { try value(database.get()) })
            }
        }
    }

    /// ``read(_:)`` on the calling thread, for the point reads every turn makes (its claim, its session and
    /// profile): a hop to GRDB's queues and back costs more than such a read (the profile of a REST turn;
    /// BENCHMARKS.md).
    ///
    /// It runs on a connection of its own (``PointReaders``), taken only when one is free, so the calling thread
    /// never waits for a connection: when every one is in use, the read goes through ``read(_:)`` instead.
    func pointRead<T: Sendable>(_ value: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try connection.checkOpen()
        guard let pointReaders, let reader = pointReaders.take() else { return try await read(value) }
        defer { pointReaders.give(reader) }
        return try Self.readHere(on: reader, value)
    }

    /// GRDB's blocking read (the asynchronous overload is the one a `@Sendable` closure picks).
    private static func readHere<T>(on reader: DatabaseQueue, _ value: (Database) throws -> T) throws -> T {
        try reader.read(value)
    }

    private static func configuration(readonly: Bool = false) -> Configuration {
        var configuration = Configuration()
        configuration.label = "ParleyStore"
        configuration.readonly = readonly
        // Another process (the CLI reading sessions while the server runs) may hold the write lock for a moment.
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA secure_delete = ON")
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // After a checkpoint that lets SQLite start the write-ahead log over, the file is cut back to 64 MiB
            // instead of keeping the largest size a burst made it (issue 25: 5.8 GB after a soak).
            try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
        }
        return configuration
    }
}

/// Whether the store was closed: GRDB must not be handed a closed connection.
private final class ConnectionState: @unchecked Sendable {
    private let lock = NSLock()
    private var closed = false

    func checkOpen() throws {
        if lock.withLock({ closed }) {
            throw StoreError.unavailable("the store is closed")
        }
    }

    /// Runs `closing` unless already closed, and counts the store closed once it succeeds.
    func close(_ closing: () throws -> Void) throws {
        try lock.withLock {
            guard !closed else { return }
            try closing()
            closed = true
        }
    }
}

/// Read-only connections for ``SQLiteStore/pointRead(_:)``, used on the calling thread and never waited for.
///
/// As many as the machine has cores, and two more: a thread runs one point read at a time, so with the cooperative
/// pool's thread per core, a thread finds one free. They are opened when first needed (the readers of a WAL database
/// need its `-shm` file, which the pool made) and kept; an idle one holds no snapshot, so it never holds a
/// checkpoint back.
final class PointReaders: Sendable {
    private struct State {
        var idle: [DatabaseQueue] = []
        var opened = 0
        var closed = false
    }

    private enum Taken {
        case reader(DatabaseQueue)
        case open
        case none
    }

    private let path: String
    private let configuration: Configuration
    private let capacity = ProcessInfo.processInfo.activeProcessorCount + 2
    private let state = Mutex(State())

    init(path: String, configuration: Configuration) {
        self.path = path
        self.configuration = configuration
    }

    /// A free connection, or nil when all are in use or one cannot be opened (the caller then reads the usual way).
    func take() -> DatabaseQueue? {
        let taken = state.withLock { state -> Taken in
            guard !state.closed else { return .none }
            if let reader = state.idle.popLast() { return .reader(reader) }
            guard state.opened < capacity else { return .none }
            state.opened += 1
            return .open
        }
        switch taken {
        case .reader(let reader):
            return reader
        case .none:
            return nil
        case .open:
            do {
                return try DatabaseQueue(path: path, configuration: configuration)
            } catch {
                state.withLock { $0.opened -= 1 }
                return nil
            }
        }
    }

    /// Gives a connection back; after ``close()`` it is closed instead.
    func give(_ reader: DatabaseQueue) {
        let kept = state.withLock { state -> Bool in
            guard !state.closed else { return false }
            state.idle.append(reader)
            return true
        }
        if !kept { try? reader.close() }
    }

    /// Closes the idle connections; those in use are closed as they are given back.
    func close() {
        let idle = state.withLock { state -> [DatabaseQueue] in
            state.closed = true
            defer { state.idle = [] }
            return state.idle
        }
        for reader in idle { try? reader.close() }
    }
}
