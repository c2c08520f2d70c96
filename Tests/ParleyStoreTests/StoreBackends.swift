import Foundation
import ParleyPostgres
import ParleySQLite
import ParleyStore
import Testing

/// A store opened for one test, and how to let go of it.
struct StoreUnderTest: Sendable {
    let store: any Store
    /// Closes ``store`` and opens the same data again; nil for backends whose data does not outlive the store.
    let reopen: (@Sendable () async throws -> any Store)?
    /// Closes the store and removes whatever it left behind (files, schemas).
    let dispose: @Sendable () async throws -> Void
}

/// One backend of the conformance suite: every `@Test(arguments: StoreBackends.all)` runs once per factory.
struct StoreFactory: Sendable, CustomStringConvertible, CustomTestStringConvertible {
    let name: String
    /// True when the data survives closing the store (``StoreUnderTest/reopen`` is set).
    let durable: Bool
    /// Opens a fresh, empty store.
    let make: @Sendable () async throws -> StoreUnderTest

    var description: String { name }
    var testDescription: String { name }

    /// Runs `body` on a fresh store and disposes of it afterwards, whether `body` throws or not.
    func withSubject<T>(_ body: (StoreUnderTest) async throws -> T) async throws -> T {
        let subject = try await make()
        let result: T
        do {
            result = try await body(subject)
        } catch {
            try? await subject.dispose()
            throw error
        }
        try await subject.dispose()
        return result
    }

    /// Runs `body` on a fresh store.
    func withStore<T>(_ body: (any Store) async throws -> T) async throws -> T {
        try await withSubject { subject in try await body(subject.store) }
    }
}

/// The backends every conformance test runs against: both SQLite forms, and PostgreSQL when
/// `PARLEY_TEST_POSTGRES_URL` names a database (`scripts/test` starts one; each test gets a schema of its own).
enum StoreBackends {
    static let all: [StoreFactory] = [sqliteInMemory, sqliteFile] + (postgres.map { [$0] } ?? [])
    /// The backends whose data survives closing and reopening the store.
    static let durable: [StoreFactory] = all.filter(\.durable)

    static let sqliteInMemory = StoreFactory(name: "SQLite in memory", durable: false) {
        let store = try SQLiteStore.inMemory()
        return StoreUnderTest(store: store, reopen: nil, dispose: { try store.close() })
    }

    static let sqliteFile = StoreFactory(name: "SQLite file", durable: true) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parley-store-tests-\(UUID().uuidString)")
        let path = directory.appendingPathComponent(".parley/parley.sqlite").path
        let store = try SQLiteStore(path: path)
        return StoreUnderTest(
            store: store,
            reopen: {
                try store.close()
                return try SQLiteStore(path: path)
            },
            dispose: {
                try store.close()
                try FileManager.default.removeItem(at: directory)
            }
        )
    }

    /// The database the PostgreSQL conformance runs use, from the environment.
    static let postgresURL: String? = ProcessInfo.processInfo.environment["PARLEY_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

    static let postgres: StoreFactory? = postgresURL.map { url in
        StoreFactory(name: "PostgreSQL", durable: true) {
            let schema = "parley_test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())"
            let separator = url.contains("?") ? "&" : "?"
            let location = try PostgresLocation(url: "\(url)\(separator)schema=\(schema)&pool=4")
            let store = try await PostgresStore.connect(location)
            let holder = StoreHolder(store)
            return StoreUnderTest(
                store: store,
                reopen: {
                    holder.current.close()
                    let reopened = try await PostgresStore.connect(location)
                    holder.current = reopened
                    return reopened
                },
                dispose: {
                    try await holder.current.dropSchema()
                    holder.current.close()
                }
            )
        }
    }
}

/// The PostgreSQL store a test currently has open (reopening replaces it).
private final class StoreHolder: @unchecked Sendable {
    private let lock = NSLock()
    private var store: PostgresStore
    init(_ store: PostgresStore) { self.store = store }
    var current: PostgresStore {
        get { lock.withLock { store } }
        set { lock.withLock { store = newValue } }
    }
}
