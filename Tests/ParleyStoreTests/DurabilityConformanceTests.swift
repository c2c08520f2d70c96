import Foundation
import ParleyStore
import Testing

@Suite("Store conformance: durability")
struct DurabilityConformanceTests {
    @Test(arguments: StoreBackends.durable)
    func everythingSurvivesClosingAndReopening(_ backend: StoreFactory) async throws {
        try await backend.withSubject { subject in
            let store = subject.store
            let key = Fixture.key("s1", user: "ada")
            let pendingEntry = try await store.accept(Fixture.input(key, trace: "pending", at: Fixture.time(9)))
            let session = Fixture.session(key, state: #"{"step":3}"#, at: Fixture.time(2))
            let committed = try await store.accept(Fixture.input(key, trace: "committed"))
            try await store.commit(
                TurnCommit(
                    inboxId: try #require(committed.id),
                    session: session,
                    profile: #"{"name":"Ada"}"#,
                    transcript: Fixture.transcript(key, turn: 1, redacted: true),
                    messages: [Fixture.message(key, "m1"), Fixture.message(key, "m2")]
                )
            )
            let firstMessage = try #require(try await store.messages(status: .pending, limit: 10).first?.id)
            try await store.markDead(id: firstMessage, attempts: 4, error: "HTTP 410", at: Fixture.t0)
            let version = FlowVersion(hash: "h", files: ["main.yaml": "flow: main\n"], createdAt: Fixture.time(1))
            try await store.saveFlowVersion(version)
            let apiKey = APIKeyRecord(id: "k1", endpoint: "web", name: "ci", keyHash: "ab", keyPreview: "pk_ab", createdAt: Fixture.time(1))
            try await store.createKey(apiKey)

            let messagesBefore = try await store.messages(status: .pending, limit: 10) + store.messages(status: .dead, limit: 10)
            let reopen = try #require(subject.reopen)
            let reopened = try await reopen()

            #expect(try await reopened.pendingInbox(limit: 10).map(\.normalized) == [pendingEntry.normalized])
            #expect(try await reopened.session(key)?.normalized == session)
            #expect(try await reopened.profile(userId: "ada") == #"{"name":"Ada"}"#)
            #expect(try await reopened.transcript(key).map(\.normalized) == [Fixture.transcript(key, turn: 1, redacted: true)])
            let messagesAfter = try await reopened.messages(status: .pending, limit: 10) + reopened.messages(status: .dead, limit: 10)
            #expect(messagesAfter == messagesBefore)
            #expect(try await reopened.flowVersion(hash: "h")?.normalized == version)
            #expect(try await reopened.keys(endpoint: "web").map(\.normalized) == [apiKey])

            // The committed entry stays processed, and new ids go on increasing.
            await #expect(throws: StoreError.alreadyProcessed(try #require(committed.id))) {
                try await reopened.commit(TurnCommit(inboxId: try #require(committed.id), session: session))
            }
            let next = try await reopened.accept(Fixture.input(key, trace: "after"))
            #expect(try #require(next.id) > #require(committed.id))
        }
    }
}
