import Foundation
import ParleyStore
import PostgresNIO
import Testing

@testable import ParleyPostgres

/// What only the PostgreSQL backend promises: its URL options, TLS, errors that never show the password, and
/// migrations that run once when instances start together.
@Suite("PostgreSQL store")
struct PostgresStoreTests {
    @Test func theURLIsReadWithItsOptionsAndShownWithoutThePassword() throws {
        let location = try PostgresLocation(
            url:
                "postgres://parley:p%40ss%2Fword@db.internal:6543/parley_db?pool=3&sslmode=verify-full&connect_timeout=4&statement_timeout=1500&schema=Tenant_1"
        )
        #expect(location.host == "db.internal")
        #expect(location.port == 6543)
        #expect(location.username == "parley")
        #expect(location.password == "p@ss/word")
        #expect(location.database == "parley_db")
        #expect(location.poolSize == 3)
        #expect(location.tls == .verifyFull)
        #expect(location.connectTimeoutSeconds == 4)
        #expect(location.statementTimeoutMs == 1500)
        #expect(location.schema == "tenant_1")
        #expect(location.redacted == "postgres://parley@db.internal:6543/parley_db")
        #expect(!location.redacted.contains("word"))

        let defaults = try PostgresLocation(url: "postgresql://u@h/d")
        #expect(defaults.port == 5432 && defaults.poolSize == 10 && defaults.tls == .prefer && defaults.schema == nil)
    }

    @Test(arguments: [
        ("mysql://u@h/d", "must be postgres://"),
        ("postgres://h/d", "names no user"),
        ("postgres://u@h", "names no database"),
        ("postgres://u@h/d?pool=0", "pool must be"),
        ("postgres://u@h/d?pool=1e300", "pool must be"),
        ("postgres://u@h/d?sslmode=allow", "sslmode must be one of"),
        ("postgres://u@h/d?schema=a;drop", "schema must be"),
        ("postgres://u@h/d?poool=2", "unknown PostgreSQL store option 'poool'"),
        ("postgres://u:secret@h:99999/d", "port"),
    ])
    func badURLsAreRefusedWithTheReason(url: String, reason: String) {
        do {
            _ = try PostgresLocation(url: url)
            Issue.record("\(url) was accepted")
        } catch {
            #expect("\(error)".contains(reason), "\(url): \(error)")
            #expect(!"\(error)".contains("secret"))
        }
    }

    @Test func anUnreachableDatabaseIsUnavailableAndTheMessageHasNoPassword() async throws {
        // A port nothing listens on (bound and closed at once).
        let location = try PostgresLocation(url: "postgres://parley:hunter2@127.0.0.1:1/parley?connect_timeout=2&sslmode=disable")
        do {
            let store = try await PostgresStore.connect(location)
            store.close()
            Issue.record("connected to nothing")
        } catch let error as StoreError {
            #expect(error.isUnavailable)
            #expect(error.message.contains("postgres://parley@127.0.0.1:1/parley"))
            #expect(!error.message.contains("hunter2"))
        }
    }

    @Test(.enabled(if: StoreBackends.postgresURL != nil && ProcessInfo.processInfo.environment["PARLEY_TEST_POSTGRES_TLS"] == "1"))
    func sslmodeDecidesWhetherTheConnectionIsEncrypted() async throws {
        let base = try #require(StoreBackends.postgresURL).replacingOccurrences(of: "sslmode=disable", with: "")
        func encrypted(_ mode: String) async throws -> Bool {
            let separator = base.contains("?") ? (base.hasSuffix("?") || base.hasSuffix("&") ? "" : "&") : "?"
            let store = try await PostgresStore.connect(PostgresLocation(url: "\(base)\(separator)sslmode=\(mode)&connect_timeout=5"))
            defer { store.close() }
            let rows = try await store.rows("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            return try rows.first?.value("ssl", as: Bool.self) ?? false
        }
        #expect(try await encrypted("require"))
        #expect(try await encrypted("prefer"))
        #expect(try await !encrypted("disable"))
        // The cluster's certificate is self-signed: verify-full refuses it.
        await #expect(throws: StoreError.unavailable("")) { _ = try await encrypted("verify-full") }
    }

    @Test(.enabled(if: StoreBackends.postgresURL != nil))
    func instancesStartingTogetherMigrateOnce() async throws {
        let url = try #require(StoreBackends.postgresURL)
        let schema = "parley_test_migrate_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())"
        let location = try PostgresLocation(url: "\(url)&schema=\(schema)&pool=2")
        let stores = try await withThrowingTaskGroup(of: PostgresStore.self) { group in
            for _ in 0..<4 { group.addTask { try await PostgresStore.connect(location) } }
            return try await group.reduce(into: [PostgresStore]()) { $0.append($1) }
        }
        let applied = try await stores[0].rows("SELECT version FROM parley_migrations ORDER BY version")
        #expect(try applied.map { try $0.value("version", as: String.self) } == PostgresStore.migrations.map(\.version))
        // And every one of them works on the same data.
        let entry = try await stores[1].accept(
            InboxEntry(traceId: "t", key: SessionKey(endpoint: "e", userId: "u", sessionId: "s"), kind: "message", payload: "{}", acceptedAt: Date())
        )
        #expect(try await stores[3].pendingInbox(limit: 10).map(\.id) == [entry.id])
        try await stores[0].dropSchema()
        for store in stores { store.close() }
    }
}
