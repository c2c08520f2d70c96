import Foundation
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

/// The backends every conformance test runs against. A new backend (PostgreSQL) is one more factory in ``all``.
enum StoreBackends {
    static let all: [StoreFactory] = [sqliteInMemory, sqliteFile]
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
}
