import Foundation
import ParleyStore
import Testing

@Suite("Store conformance: turn commits")
struct CommitConformanceTests {
    @Test(arguments: StoreBackends.all)
    func commitWritesEverythingTheTurnChanged(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let key = Fixture.key("s1", user: "ada")
            let entry = try await store.accept(Fixture.input(key, trace: "trace-1", at: Fixture.time(1)))
            let session = Fixture.session(key, state: #"{"step":2}"#, at: Fixture.time(2), flowHash: "hash-a")
            let transcript = Fixture.transcript(key, turn: 1, at: Fixture.time(2))
            let messages = [Fixture.message(key, "m1", at: Fixture.time(2)), Fixture.message(key, "m2", at: Fixture.time(2))]

            try await store.commit(
                TurnCommit(
                    inboxId: try #require(entry.id),
                    session: session,
                    profile: #"{"firstName":"Ada"}"#,
                    transcript: transcript,
                    messages: messages
                )
            )

            #expect(try await store.pendingInbox(limit: 10).isEmpty)
            #expect(try await store.session(key)?.normalized == session)
            #expect(try await store.profile(userId: "ada") == #"{"firstName":"Ada"}"#)
            #expect(try await store.transcript(key).map(\.normalized) == [transcript])
            let pending = try await store.messages(status: .pending, limit: 10)
            let ids = try pending.map { try #require($0.id) }
            #expect(ids[0] < ids[1])
            #expect(
                pending.map {
                    var message = $0.normalized
                    message.id = nil
                    return message
                } == messages
            )
        }
    }

    @Test(arguments: StoreBackends.all)
    func committingTheSameInboxEntryTwiceFailsAndChangesNothing(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let key = Fixture.key("s1", user: "ada")
            let entry = try await store.accept(Fixture.input(key, trace: "trace-1"))
            let id = try #require(entry.id)
            let first = TurnCommit(
                inboxId: id,
                session: Fixture.session(key, state: "first"),
                profile: "profile-1",
                transcript: Fixture.transcript(key, turn: 1),
                messages: [Fixture.message(key, "m1")]
            )
            try await store.commit(first)

            let second = TurnCommit(
                inboxId: id,
                session: Fixture.session(key, state: "second", at: Fixture.time(5)),
                profile: "profile-2",
                transcript: Fixture.transcript(key, turn: 2),
                messages: [Fixture.message(key, "m2")]
            )
            await #expect(throws: StoreError.alreadyProcessed(id)) {
                try await store.commit(second)
            }

            #expect(try await store.session(key)?.state == "first")
            #expect(try await store.profile(userId: "ada") == "profile-1")
            #expect(try await store.transcript(key).map(\.turn) == [1])
            #expect(try await store.messages(status: .pending, limit: 10).map(\.idempotencyKey) == ["idem-m1"])
        }
    }

    @Test(arguments: StoreBackends.all)
    func committingAnUnknownInboxEntryFailsAndChangesNothing(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let key = Fixture.key("s1", user: "ada")
            let entry = try await store.accept(Fixture.input(key, trace: "trace-1"))
            let unknown = try #require(entry.id) + 1000

            await #expect(throws: StoreError.unknownInboxEntry(unknown)) {
                try await store.commit(
                    TurnCommit(
                        inboxId: unknown,
                        session: Fixture.session(key, state: "x"),
                        profile: "p",
                        transcript: Fixture.transcript(key, turn: 1),
                        messages: [Fixture.message(key, "m1")]
                    )
                )
            }

            #expect(try await store.session(key) == nil)
            #expect(try await store.profile(userId: "ada") == nil)
            #expect(try await store.transcript(key).isEmpty)
            #expect(try await store.messages(status: .pending, limit: 10).isEmpty)
            #expect(try await store.pendingInbox(limit: 10).map(\.id) == [entry.id])
        }
    }

    /// A commit that fails after some of its writes (here a second transcript entry for the same input) rolls them all back.
    @Test(arguments: StoreBackends.all)
    func aCommitFailingHalfwayLeavesNoTrace(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let key = Fixture.key("s1", user: "ada")
            try await store.runTurn(key, state: "before", transcriptTurn: 1, profile: "profile-before", messages: [Fixture.message(key, "m1")])
            let entry = try await store.accept(Fixture.input(key, trace: "trace-2"))

            await #expect(throws: (any Error).self) {
                try await store.commit(
                    TurnCommit(
                        inboxId: try #require(entry.id),
                        session: Fixture.session(key, state: "after", at: Fixture.time(9)),
                        profile: "profile-after",
                        transcript: Fixture.transcript(key, turn: 1, at: Fixture.time(9)),
                        messages: [Fixture.message(key, "m2")]
                    )
                )
            }

            #expect(try await store.pendingInbox(limit: 10).map(\.id) == [entry.id])
            #expect(try await store.session(key)?.state == "before")
            #expect(try await store.profile(userId: "ada") == "profile-before")
            #expect(try await store.transcript(key).map(\.normalized) == [Fixture.transcript(key, turn: 1)])
            #expect(try await store.messages(status: .pending, limit: 10).map(\.idempotencyKey) == ["idem-m1"])
        }
    }

    @Test(arguments: StoreBackends.all)
    func anErasedInputCountsAsProcessed(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let key = Fixture.key("s1")
            let secret = try await store.accept(Fixture.input(key, trace: "trace-1", payload: #"{"text":"my card is 4242"}"#))
            let kept = try await store.accept(Fixture.input(key, trace: "trace-2"))
            let id = try #require(secret.id)
            try await store.commit(TurnCommit(inboxId: id, session: Fixture.session(key, state: "{}"), eraseInput: true))

            #expect(try await store.pendingInbox(limit: 10).map(\.id) == [kept.id])
            await #expect(throws: StoreError.alreadyProcessed(id)) {
                try await store.commit(TurnCommit(inboxId: id, session: Fixture.session(key, state: "again")))
            }
            #expect(try await store.session(key)?.state == "{}")
        }
    }
}
