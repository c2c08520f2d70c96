import Foundation
import ParleySQLite
import ParleyStore
import Testing

/// What only the SQLite backend promises: where its file lives, WAL mode, and erased content gone from the disk.
@Suite("SQLite store")
struct SQLiteStoreTests {
    private func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parley-sqlite-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try await body(directory)
    }

    @Test func theDefaultDatabaseLivesInTheParleyFolder() {
        #expect(SQLiteStore.defaultPath == ".parley/parley.sqlite")
    }

    @Test func openingCreatesTheParentFoldersAndAWriteAheadLoggedDatabase() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("nested/.parley/parley.sqlite").path
            let store = try SQLiteStore(path: path)
            #expect(store.path == path)
            _ = try await store.accept(Fixture.input(Fixture.key("s1"), trace: "t"))

            #expect(FileManager.default.fileExists(atPath: path + "-wal"))
            // Header bytes 18 and 19 (file format write and read versions) are 2 in WAL mode.
            let header = try #require(FileManager.default.contents(atPath: path)).prefix(20)
            #expect(Array(header.prefix(16)) == Array("SQLite format 3\0".utf8))
            #expect(header[18] == 2 && header[19] == 2)
            try store.close()
        }
    }

    @Test func openingAnUnusablePathThrowsUnavailable() async throws {
        try await withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("not-a-folder")
            try Data("x".utf8).write(to: file)
            #expect(throws: StoreError.unavailable("")) {
                try SQLiteStore(path: file.appendingPathComponent("parley.sqlite").path)
            }

            let garbage = directory.appendingPathComponent("garbage.sqlite")
            try Data(repeating: 0x41, count: 4096).write(to: garbage)
            #expect(throws: StoreError.unavailable("")) {
                try SQLiteStore(path: garbage.path)
            }
        }
    }

    @Test func aClosedStoreRefusesWorkAndClosesOnlyOnce() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("parley.sqlite").path
            let store = try SQLiteStore(path: path)
            let memory = try SQLiteStore.inMemory()
            for closed in [store, memory] {
                try closed.close()
                try closed.close()
                await #expect(throws: StoreError.unavailable("")) {
                    try await closed.accept(Fixture.input(Fixture.key("s1"), trace: "t"))
                }
                await #expect(throws: StoreError.unavailable("")) {
                    try await closed.pendingInbox(limit: 1)
                }
            }
        }
    }

    /// With `secure_delete`, a sensitive input erased by its commit and a sensitive message erased by its delivery
    /// leave no bytes behind in the database file or its log.
    @Test func erasedContentIsGoneFromTheFiles() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("parley.sqlite").path
            let store = try SQLiteStore(path: path)
            let key = Fixture.key("s1")
            let inputSecret = "INPUT-SECRET-\(UUID().uuidString)"
            let messageSecret = "MESSAGE-SECRET-\(UUID().uuidString)"
            // Long texts: the shorter row that replaces an erased one overwrites only part of its old bytes, so without
            // secure_delete most copies of the secret would survive in the page's free space.
            func longText(_ secret: String) -> String {
                #"{"text":"\#(Array(repeating: secret, count: 8).joined(separator: " "))"}"#
            }

            let entry = try await store.accept(Fixture.input(key, trace: "t", payload: longText(inputSecret)))
            // Rows after the erased ones, so their old bytes would sit in the middle of a page, not at its free end.
            _ = try await store.accept(Fixture.input(key, trace: "later"))
            try await store.commit(
                TurnCommit(
                    inboxId: try #require(entry.id),
                    session: Fixture.session(key, state: "{}"),
                    messages: [
                        Fixture.message(key, "m1", sensitive: true, payload: longText(messageSecret)),
                        Fixture.message(key, "m2"),
                    ],
                    eraseInput: true
                )
            )
            try await store.checkpoint()
            // Before delivery the message body is on disk; the input is already gone.
            #expect(try contains(path, messageSecret))
            #expect(try !contains(path, inputSecret))

            let message = try #require(try await store.messages(status: .pending, limit: 1).first?.id)
            try await store.markDelivered(id: message, at: Fixture.time(1))
            try await store.checkpoint()
            #expect(try !contains(path, messageSecret))
            #expect(try !contains(path, inputSecret))
            try store.close()
            // Closing folds the log into the database file and leaves it empty.
            #expect((FileManager.default.contents(atPath: path + "-wal") ?? Data()).isEmpty)
        }
    }

    /// Whether the database file or its write-ahead log holds `text`.
    private func contains(_ path: String, _ text: String) throws -> Bool {
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        if let log = FileManager.default.contents(atPath: path + "-wal") {
            data.append(log)
        }
        return data.range(of: Data(text.utf8)) != nil
    }
}

extension SQLiteStoreTests {
    /// Erasing a user (DESIGN §5.6) leaves none of their content in the database file or its write-ahead log, while
    /// the store stays open.
    @Test func anErasedUserIsGoneFromTheFiles() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.appendingPathComponent("parley.sqlite").path
            let store = try SQLiteStore(path: path)
            defer { try? store.close() }
            let secret = "ALICE-SECRET-\(UUID().uuidString)"
            let repeated = Array(repeating: secret, count: 8).joined(separator: " ")
            let alice = Fixture.key("s1", user: "alice")
            let bob = Fixture.key("s1", user: "bob")
            try await store.runTurn(
                alice,
                state: #"{"note":"\#(repeated)"}"#,
                transcriptTurn: 1,
                profile: #"{"note":"\#(repeated)"}"#,
                messages: [Fixture.message(alice, "a1", payload: #"{"text":"\#(repeated)"}"#)]
            )
            _ = try await store.accept(Fixture.input(alice, trace: "pending", payload: #"{"text":"\#(repeated)"}"#))
            try await store.runTurn(bob, transcriptTurn: 1, messages: [Fixture.message(bob, "b1")])
            try await store.checkpoint()
            #expect(try contains(path, secret))

            let counts = try await store.eraseUser("alice")
            #expect(counts == ErasureCounts(profiles: 1, sessions: 1, transcripts: 1, inbox: 2, outbox: 1))
            #expect(try !contains(path, secret))
            #expect(try await store.transcript(bob).count == 1)
        }
    }
}
