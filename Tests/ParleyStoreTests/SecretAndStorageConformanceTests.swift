import Foundation
import ParleyStore
import Testing

/// Named secrets every instance shares, and transformer session storage.
@Suite("Store conformance: secrets and session storage")
struct SecretAndStorageConformanceTests {
    /// Every cutoff at the same date.
    private static func cutoffs(_ date: Date) -> RetentionCutoffs {
        RetentionCutoffs(transcripts: date, delivered: date, inbox: date, dead: date, sessions: date)
    }

    /// Accepts an input for `key` and commits a turn for it that writes `storage` (nil leaves it alone).
    @discardableResult
    private func runTurn(_ store: any Store, _ key: SessionKey, storage: String?, at: Date = Fixture.t0) async throws -> Int64 {
        let entry = try await store.accept(Fixture.input(key, trace: "trace-\(UUID().uuidString)", at: at))
        let id = try #require(entry.id)
        try await store.commit(TurnCommit(inboxId: id, session: Fixture.session(key, state: "{}", at: at), sessionStorage: storage))
        return id
    }

    // MARK: Secrets

    @Test(arguments: StoreBackends.all)
    func aSecretIsCreatedOnceAndThenReturnedAsStored(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let calls = Calls()
            let first = try await store.secret(named: "workspace-links", orCreate: { calls.make("first-value") }, at: Fixture.t0)
            #expect(first == "first-value")
            #expect(calls.count == 1)

            let second = try await store.secret(named: "workspace-links", orCreate: { calls.make("second-value") }, at: Fixture.time(1))
            #expect(second == "first-value", "the stored value stays")
            #expect(calls.count == 1, "make is not called once a value is stored")

            // Another name is another secret.
            let other = try await store.secret(named: "other", orCreate: { calls.make("other-value") }, at: Fixture.time(2))
            #expect(other == "other-value")
            #expect(calls.count == 2)
            #expect(try await store.secret(named: "workspace-links", orCreate: { calls.make("third-value") }, at: Fixture.time(3)) == "first-value")
        }
    }

    @Test(arguments: StoreBackends.all)
    func callersRacingToCreateASecretAllGetTheSameValue(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let candidates = (0..<8).map { "candidate-\($0)" }
            let values = try await withThrowingTaskGroup(of: String.self) { group in
                for candidate in candidates {
                    group.addTask { try await store.secret(named: "workspace-links", orCreate: { candidate }, at: Fixture.t0) }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(values.count == candidates.count)
            let kept = try #require(values.first)
            #expect(candidates.contains(kept))
            #expect(Set(values) == [kept], "every caller gets the one value that was kept")
            #expect(try await store.secret(named: "workspace-links", orCreate: { "late" }, at: Fixture.time(1)) == kept)
        }
    }

    @Test(arguments: StoreBackends.durable)
    func secretsAndSessionStorageSurviveClosingAndReopening(_ backend: StoreFactory) async throws {
        try await backend.withSubject { subject in
            let key = Fixture.key("s1")
            let secret = try await subject.store.secret(named: "workspace-links", orCreate: { "kept" }, at: Fixture.t0)
            try await subject.store.saveSessionStorage(key, #"{"count":1}"#, at: Fixture.t0)

            let reopen = try #require(subject.reopen)
            let reopened = try await reopen()
            #expect(try await reopened.secret(named: "workspace-links", orCreate: { "new" }, at: Fixture.time(1)) == secret)
            #expect(try await reopened.sessionStorage(key) == #"{"count":1}"#)
        }
    }

    // MARK: Session storage

    @Test(arguments: StoreBackends.all)
    func sessionStorageIsReadBackAndReplacedPerSession(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let key = Fixture.key("s1")
            #expect(try await store.sessionStorage(key) == nil)

            try await store.saveSessionStorage(key, #"{"count":1}"#, at: Fixture.t0)
            #expect(try await store.sessionStorage(key) == #"{"count":1}"#)
            try await store.saveSessionStorage(key, #"{"count":2,"seen":["a"]}"#, at: Fixture.time(1))
            #expect(try await store.sessionStorage(key) == #"{"count":2,"seen":["a"]}"#)

            // Keyed by endpoint, user and session id.
            #expect(try await store.sessionStorage(Fixture.key("s2")) == nil)
            #expect(try await store.sessionStorage(Fixture.key("s1", user: "u2")) == nil)
            #expect(try await store.sessionStorage(Fixture.key("s1", endpoint: "voice")) == nil)
        }
    }

    @Test(arguments: StoreBackends.all)
    func sessionStorageIsWrittenByTheCommitThatChangesIt(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let key = Fixture.key("s1")
            let id = try await runTurn(store, key, storage: #"{"count":1}"#)
            #expect(try await store.sessionStorage(key) == #"{"count":1}"#)
            try await runTurn(store, key, storage: #"{"count":2}"#, at: Fixture.time(1))
            #expect(try await store.sessionStorage(key) == #"{"count":2}"#)
            // A turn that does not touch the storage leaves it as it was.
            try await runTurn(store, key, storage: nil, at: Fixture.time(2))
            #expect(try await store.sessionStorage(key) == #"{"count":2}"#)

            // A refused commit writes none of it.
            let again = TurnCommit(inboxId: id, session: Fixture.session(key, state: "{}", at: Fixture.time(3)), sessionStorage: #"{"count":9}"#)
            await #expect(throws: StoreError.alreadyProcessed(id)) { try await store.commit(again) }
            #expect(try await store.sessionStorage(key) == #"{"count":2}"#)
        }
    }

    @Test(arguments: StoreBackends.all)
    func erasingAUserRemovesTheirSessionStorageWithoutCountingIt(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let web = Fixture.key("s1", user: "alice", endpoint: "web")
            let voice = Fixture.key("s2", user: "alice", endpoint: "voice")
            let bob = Fixture.key("s1", user: "bob", endpoint: "web")
            try await runTurn(store, web, storage: #"{"name":"Alice"}"#)
            try await store.saveSessionStorage(voice, #"{"calls":1}"#, at: Fixture.t0)
            try await runTurn(store, bob, storage: #"{"name":"Bob"}"#)

            let counts = try await store.eraseUser("alice")
            #expect(counts == ErasureCounts(sessions: 1, inbox: 1))
            #expect(try await store.sessionStorage(web) == nil)
            #expect(try await store.sessionStorage(voice) == nil)
            #expect(try await store.sessionStorage(bob) == #"{"name":"Bob"}"#)
        }
    }

    @Test(arguments: StoreBackends.all)
    func pruningRemovesSessionStorageOlderThanTheSessionsCutoff(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let old = (0..<3).map { Fixture.key("old\($0)") }
            for key in old { try await store.saveSessionStorage(key, #"{"old":true}"#, at: Fixture.t0) }
            let recent = Fixture.key("recent")
            try await runTurn(store, recent, storage: #"{"old":false}"#, at: Fixture.time(100))

            let cutoffs = Self.cutoffs(Fixture.time(50))
            // At most `limit` rows a call, like every other kind; session storage is not counted.
            #expect(try await store.prune(cutoffs, limit: 2) == PruneCounts())
            var left = 0
            for key in old {
                if try await store.sessionStorage(key) != nil { left += 1 }
            }
            #expect(left == 1)
            _ = try await store.prune(cutoffs, limit: 2)
            for key in old { #expect(try await store.sessionStorage(key) == nil) }
            #expect(try await store.sessionStorage(recent) == #"{"old":false}"#)
        }
    }
}

/// Counts the calls of a secret's `make`, from whichever task makes them.
private final class Calls: @unchecked Sendable {
    private let lock = NSLock()
    private var calls = 0

    var count: Int { lock.withLock { calls } }

    /// Counts a call and returns `value`.
    func make(_ value: String) -> String {
        lock.withLock { calls += 1 }
        return value
    }
}
