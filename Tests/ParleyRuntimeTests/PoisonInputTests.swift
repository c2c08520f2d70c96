import Foundation
import ParleyFlows
import ParleyRuntime
import ParleySQLite
import ParleyStore
import ParleyTestSupport
import Synchronization
import Testing

/// DESIGN §6, *Poison inputs*: an input whose turn cannot run is retried with backoff, then kept as a dead input
/// with its reason; it never blocks its session for good, and never other sessions.
@Suite struct PoisonInputTests {
    let clock = TestClock()

    /// Counts the runtime's failure reports: retried ones and dead ones.
    final class Failures: Sendable {
        private let counts = Mutex((retried: 0, dead: 0))
        func record(dead: Bool) { counts.withLock { dead ? ($0.dead += 1) : ($0.retried += 1) } }
        var retried: Int { counts.withLock { $0.retried } }
        var dead: Int { counts.withLock { $0.dead } }
    }

    private func runtime(store: any Store, failures: Failures) throws -> Runtime {
        let (flows, _) = try RuntimeFixtures.flows(
            """
            flow: echo
            nodes:
              say: { say: "echo: {{input.text}}" }
            """
        )
        return Runtime(
            store: store,
            flows: flows,
            endpoints: [RuntimeFixtures.endpoint(flow: "echo")],
            router: EchoRouter(),
            settings: Runtime.Settings(
                now: { [clock] in clock.now },
                onInputFailure: { failures.record(dead: $0) },
                poison: PoisonPolicy(maxAttempts: 3, initialBackoff: 10)
            )
        )
    }

    private func raw(_ key: SessionKey, payload: String) -> InboxEntry {
        InboxEntry(traceId: "raw-\(UUID().uuidString)", key: key, kind: "message", payload: payload, acceptedAt: clock.now)
    }

    @Test func anInputThatDoesNotParseIsRetriedThenDeadAndItsSessionGoesOn() async throws {
        let store = try SQLiteStore.inMemory()
        let failures = Failures()
        let runtime = try runtime(store: store, failures: failures)
        let s1 = SessionKey(endpoint: "web", userId: "u1", sessionId: "s1")
        let s2 = SessionKey(endpoint: "web", userId: "u1", sessionId: "s2")
        let bad = try await store.accept(raw(s1, payload: "{not json"))
        try await runtime.accept(RuntimeFixtures.message("second", session: "s1"))
        try await runtime.accept(RuntimeFixtures.message("other", session: "s2"))

        await runtime.processPending()
        // The other session ran; s1 waits behind its failed input, in order.
        #expect(try await RuntimeFixtures.transcript(store, s2).map(\.input.text) == ["other"])
        #expect(try await store.transcript(s1).isEmpty)
        let waiting = try await store.pendingInbox(limit: 10)
        #expect(waiting.map(\.id) == [bad.id, waiting.last?.id])
        #expect(waiting.first?.attempts == 1)
        #expect(waiting.first?.lastError?.contains("does not parse") == true)

        // Before the backoff has passed nothing is tried; after it, the next attempt.
        clock.advance(by: 5)
        await runtime.processPending()
        #expect(try await store.pendingInbox(limit: 1).first?.attempts == 1)
        clock.advance(by: 5)
        await runtime.processPending()
        #expect(try await store.pendingInbox(limit: 1).first?.attempts == 2)
        #expect(failures.retried == 2)

        // The third failure is the last: the input is dead, and s1's next input runs in the same pass.
        clock.advance(by: 20)
        await runtime.processPending()
        let dead = try await store.inputs(status: .dead, limit: 10)
        #expect(dead.map(\.id) == [bad.id])
        #expect(dead.first?.attempts == 3)
        #expect(failures.dead == 1)
        #expect(try await RuntimeFixtures.transcript(store, s1).map(\.input.text) == ["second"])
        #expect(try await store.pendingInbox(limit: 10).isEmpty)
    }

    @Test func aStoredSessionThatNoLongerDecodesIsNotSilentlyReplaced() async throws {
        let store = try SQLiteStore.inMemory()
        let failures = Failures()
        let runtime = try runtime(store: store, failures: failures)
        let key = SessionKey(endpoint: "web", userId: "u1", sessionId: "s1")
        // A session row written by something else (or damaged): its state is not a session.
        let seed = try await store.accept(raw(key, payload: "{}"))
        try await store.commit(
            TurnCommit(
                inboxId: try #require(seed.id),
                session: StoredSession(key: key, state: #"{"broken":true}"#, flowHash: "x", updatedAt: clock.now)
            )
        )
        try await runtime.accept(RuntimeFixtures.message("hello"))
        for _ in 0..<3 {
            await runtime.processPending()
            clock.advance(by: 60)
        }
        let dead = try #require(try await store.inputs(status: .dead, limit: 10).first)
        #expect(dead.lastError?.contains("no longer decodes") == true)
        // The conversation was not restarted over the stored one.
        #expect(try await store.session(key)?.state == #"{"broken":true}"#)
        #expect(try await store.transcript(key).isEmpty)
        #expect(failures.dead == 1)

        // Once the session is repaired (here: removed by retention), retrying the dead input runs it.
        _ = try await store.prune(
            RetentionCutoffs(transcripts: .distantPast, delivered: .distantPast, inbox: .distantPast, dead: .distantPast, sessions: clock.now),
            limit: 10
        )
        #expect(try await store.retryDeadInputs(ids: nil, now: clock.now) == 1)
        await runtime.processPending()
        #expect(try await RuntimeFixtures.transcript(store, key).map(\.input.text) == ["hello"])
    }

    @Test func anInputForAnEndpointThatIsGoneDiesWithItsReason() async throws {
        let store = try SQLiteStore.inMemory()
        let failures = Failures()
        let runtime = try runtime(store: store, failures: failures)
        _ = try await store.accept(raw(SessionKey(endpoint: "gone", userId: "u1", sessionId: "s1"), payload: #"{"text":"hi"}"#))
        for _ in 0..<3 {
            await runtime.processPending()
            clock.advance(by: 60)
        }
        let dead = try await store.inputs(status: .dead, limit: 10)
        #expect(dead.count == 1)
        #expect(dead.first?.lastError == "the endpoint 'gone' is not configured")
    }
}
