import Foundation
import ParleyEngine
import ParleyFlows
import ParleyRuntime
import ParleySQLite
import ParleyStore
import ParleyTestSupport
import Synchronization
import Testing

@Suite struct RuntimeTests {
    let clock = TestClock()

    private func runtime(
        store: any Store,
        flows: FlowSet,
        endpoints: [Endpoint],
        counter: Counter = Counter()
    ) -> Runtime {
        Runtime(
            store: store,
            flows: flows,
            endpoints: endpoints,
            router: EchoRouter(),
            settings: Runtime.Settings(now: { [clock] in clock.now }, traceId: { "\($0)-\(counter.next())" }, effects: SampleOrders())
        )
    }

    @Test func acceptedInputsRunAsTurnsAndCommitTheirMessages() async throws {
        let store = try SQLiteStore.inMemory()
        let (flows, _) = try RuntimeFixtures.sampleFlows()
        let runtime = runtime(store: store, flows: flows, endpoints: [RuntimeFixtures.endpoint(flow: "order-status")])
        let first = try await runtime.accept(RuntimeFixtures.message("hi"))
        #expect(first.traceId == "endpoint-httpIncomingMessage-1")
        #expect(try await store.pendingInbox(limit: 10).count == 1)
        try await runtime.accept(RuntimeFixtures.message("AB123456"))
        await runtime.processPending()

        #expect(try await store.pendingInbox(limit: 10).isEmpty)
        let key = SessionKey(endpoint: "web", userId: "u1", sessionId: "s1")
        let entries = try await RuntimeFixtures.transcript(store, key)
        #expect(entries.map(\.turn) == [1, 2])
        #expect(entries.map(\.traceId) == ["endpoint-httpIncomingMessage-1", "endpoint-httpIncomingMessage-2"])
        #expect(entries[0].input.currentTime == Runtime.timestamp(clock.now))
        #expect(entries[1].outputs.first?.text == "Order AB123456 is on its way with DHL, expected on 2024-06-14.")
        let messages = try await store.messages(status: .pending, limit: 10)
        #expect(
            messages.map(\.idempotencyKey) == [
                "endpoint-httpIncomingMessage-1-1", "endpoint-httpIncomingMessage-1-2", "endpoint-httpIncomingMessage-2-1",
                "endpoint-httpIncomingMessage-2-2",
            ]
        )
        let session = try #require(try await store.session(key))
        #expect(session.flowHash == flows.contentHash)
        #expect(try Session(json: JSONValue.parse(session.state)).context["status"] == "shipped")
    }

    /// The REST endpoint's wait: the answer once the turn commits, or `turnTimeout` with the input still accepted
    /// (it runs later); a timeout that fires after its answer came changes nothing.
    @Test func aWaitingCallerGetsItsTurnOrATimeoutWithTheInputKept() async throws {
        let store = try SQLiteStore.inMemory()
        let (flows, _) = try RuntimeFixtures.sampleFlows()
        let runtime = runtime(store: store, flows: flows, endpoints: [RuntimeFixtures.endpoint(flow: "order-status")])
        // Nothing runs turns yet: the caller times out, and the input stays pending.
        await #expect(throws: RuntimeError.turnTimeout) {
            try await runtime.acceptAndWait(RuntimeFixtures.message("hi", session: "late"), timeout: .milliseconds(50))
        }
        #expect(try await store.pendingInbox(limit: 10).count == 1)

        let loop = Task { await runtime.run(retryInterval: .milliseconds(20)) }
        // A generous timeout: a loaded machine must not turn the answer into a timeout.
        let outcome = try await runtime.acceptAndWait(RuntimeFixtures.message("hi", session: "now"), timeout: .seconds(60))
        #expect(outcome.input.sessionId == "now" && !outcome.turn.outputs.isEmpty)
        // The timed-out input runs too, later.
        for _ in 0..<600 where try await !store.pendingInbox(limit: 10).isEmpty {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(try await store.pendingInbox(limit: 10).isEmpty)
        #expect(try await store.session(SessionKey(endpoint: "web", userId: "u1", sessionId: "late")) != nil)
        await runtime.stop()
        await loop.value
    }

    @Test func eachSessionRunsInArrivalOrderWhileSessionsInterleave() async throws {
        let store = try SQLiteStore.inMemory()
        let (flows, _) = try RuntimeFixtures.flows(
            """
            flow: echo
            nodes:
              count:
                code: context.seen = (context.seen || []).concat([input.text]);
                next: say
              say:
                say: "{{context.seen.join(',')}}"
            """
        )
        let runtime = runtime(store: store, flows: flows, endpoints: [RuntimeFixtures.endpoint(flow: "echo")])
        for round in 1...6 {
            for session in ["a", "b", "c"] {
                try await runtime.accept(RuntimeFixtures.message("\(session)\(round)", session: session))
            }
        }
        async let one: Void = runtime.processPending()
        async let two: Void = runtime.processPending()
        _ = await (one, two)
        for session in ["a", "b", "c"] {
            let entries = try await RuntimeFixtures.transcript(store, SessionKey(endpoint: "web", userId: "u1", sessionId: session))
            #expect(entries.map(\.turn) == Array(1...6))
            #expect(entries.last?.outputs.first?.text == (1...6).map { "\(session)\($0)" }.joined(separator: ","))
        }
        #expect(try await store.messages(status: .pending, limit: 100).count == 18)
    }

    @Test func processingTwiceRunsNothingTwice() async throws {
        let store = try SQLiteStore.inMemory()
        let (flows, _) = try RuntimeFixtures.sampleFlows()
        let runtime = runtime(store: store, flows: flows, endpoints: [RuntimeFixtures.endpoint(flow: "faq")])
        try await runtime.accept(RuntimeFixtures.message("hi"))
        await runtime.processPending()
        await runtime.processPending()
        #expect(try await store.transcript(SessionKey(endpoint: "web", userId: "u1", sessionId: "s1")).count == 1)
        #expect(try await store.messages(status: .pending, limit: 10).count == 2)
    }

    @Test func sessionsExpireAfterTheirTTLAndProfilesStay() async throws {
        let store = try SQLiteStore.inMemory()
        let (flows, _) = try RuntimeFixtures.sampleFlows()
        let runtime = runtime(store: store, flows: flows, endpoints: [RuntimeFixtures.endpoint(flow: "faq", ttl: 30)])
        try await runtime.accept(RuntimeFixtures.message("hi"))
        try await runtime.accept(RuntimeFixtures.message("when are you open"))
        await runtime.processPending()
        clock.advance(by: 29 * 60)
        try await runtime.accept(RuntimeFixtures.message("yes"))
        await runtime.processPending()
        clock.advance(by: 31 * 60)
        try await runtime.accept(RuntimeFixtures.message("hello again"))
        await runtime.processPending()

        let entries = try await RuntimeFixtures.transcript(store, SessionKey(endpoint: "web", userId: "u1", sessionId: "s1"))
        try #require(entries.map(\.input.execution) == [1, 2, 3, 1])
        #expect(entries[2].outputs.map(\.text) == ["How can I help you today?"])
        #expect(entries[3].outputs.first?.text == "Welcome to Acme support.")
        #expect(entries[3].profileBefore["contacts"] == 1)
        let profile = try #require(try await store.profile(userId: "u1"))
        #expect(try JSONValue.parse(profile)["contacts"] == 1)
    }

    @Test func sessionsFinishOnTheFlowsTheyStartedWith() async throws {
        let store = try SQLiteStore.inMemory()
        let text = """
            flow: pinned
            nodes:
              ask: { question: { text: "v1: your name?", type: text }, next: tell }
              tell: { say: "v1: thanks {{input.result}}" }
            """
        let (v1, v1Files) = try RuntimeFixtures.flows(text)
        let (v2, v2Files) = try RuntimeFixtures.flows(text.replacingOccurrences(of: "v1", with: "v2"))
        let endpoints = [RuntimeFixtures.endpoint(flow: "pinned")]
        let counter = Counter()
        let first = runtime(store: store, flows: v1, endpoints: endpoints, counter: counter)
        try await first.saveFlowVersion(files: v1Files)
        try await first.accept(RuntimeFixtures.message("hi", session: "old"))
        await first.processPending()
        try await first.reload(flows: v2, files: v2Files)
        try await first.accept(RuntimeFixtures.message("hi", session: "new"))
        await first.processPending()

        // A restarted process knows only v2; the old session's flows come from the store.
        let restarted = runtime(store: store, flows: v2, endpoints: endpoints, counter: counter)
        try await restarted.accept(RuntimeFixtures.message("Ada", session: "old"))
        try await restarted.accept(RuntimeFixtures.message("Alan", session: "new"))
        await restarted.processPending()
        let old = try await RuntimeFixtures.transcript(store, SessionKey(endpoint: "web", userId: "u1", sessionId: "old"))
        let new = try await RuntimeFixtures.transcript(store, SessionKey(endpoint: "web", userId: "u1", sessionId: "new"))
        #expect(old.map { $0.outputs.first?.text } == ["v1: your name?", "v1: thanks Ada"])
        #expect(new.map { $0.outputs.first?.text } == ["v2: your name?", "v2: thanks Alan"])
        #expect(old.map(\.flowHash) == [v1.contentHash, v1.contentHash])
        #expect(try await store.flowVersion(hash: v1.contentHash)?.files == v1Files)
    }

    @Test func sensitiveEndpointsMaskTranscriptsAndEraseInputs() async throws {
        let store = try SQLiteStore.inMemory()
        let (flows, _) = try RuntimeFixtures.sampleFlows()
        let runtime = runtime(store: store, flows: flows, endpoints: [RuntimeFixtures.endpoint(flow: "order-status", sensitive: true)])
        try await runtime.accept(RuntimeFixtures.message("hi"))
        try await runtime.accept(RuntimeFixtures.message("AB123456"))
        await runtime.processPending()
        let records = try await store.transcript(SessionKey(endpoint: "web", userId: "u1", sessionId: "s1"))
        #expect(records.map(\.redacted) == [true, true])
        for record in records {
            #expect(!record.entry.contains("AB123456"))
            #expect(!record.entry.contains("Hi there"))
        }
        let entries = try await RuntimeFixtures.transcript(store, SessionKey(endpoint: "web", userId: "u1", sessionId: "s1"))
        #expect(entries[1].input.text == TranscriptEntry.mask)
        #expect(entries[1].outputs.map(\.text) == [TranscriptEntry.mask, TranscriptEntry.mask])
        #expect(try await store.messages(status: .pending, limit: 10).allSatisfy(\.sensitive))
    }

    @Test func notifyDeliversWithoutRunningTheFlow() async throws {
        let store = try SQLiteStore.inMemory()
        let (flows, _) = try RuntimeFixtures.sampleFlows()
        let runtime = runtime(store: store, flows: flows, endpoints: [RuntimeFixtures.endpoint(flow: "faq")])
        try await runtime.accept(
            InboxRequest(
                endpoint: "web",
                userId: "u1",
                sessionId: "s1",
                kind: .notify,
                payload: InboxPayload(text: "Your parcel left", channel: "notify")
            )
        )
        await runtime.processPending()
        let messages = try await store.messages(status: .pending, limit: 10)
        #expect(messages.map { try? JSONValue.parse($0.payload)["text"] } == [.string("Your parcel left")])
        #expect(try await store.transcript(SessionKey(endpoint: "web", userId: "u1", sessionId: "s1")).isEmpty)
        #expect(try await store.session(SessionKey(endpoint: "web", userId: "u1", sessionId: "s1"))?.state.contains("\"executionCount\":0") == true)
    }

    @Test func unknownEndpointsAreRefused() async throws {
        let store = try SQLiteStore.inMemory()
        let (flows, _) = try RuntimeFixtures.sampleFlows()
        let runtime = runtime(store: store, flows: flows, endpoints: [])
        await #expect(throws: RuntimeError.unknownEndpoint("web")) { try await runtime.accept(RuntimeFixtures.message("hi")) }
        #expect(try await store.pendingInbox(limit: 10).isEmpty)
    }
}

/// Numbers trace ids 1, 2, 3...
final class Counter: Sendable {
    private let value = Mutex(0)

    func next() -> Int {
        value.withLock {
            $0 += 1
            return $0
        }
    }
}

@Suite struct TimestampTests {
    @Test func matchesFoundationsISO8601Formatter() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        var random = SystemRandomNumberGenerator()
        var dates = [0, 951_782_400_000, 951_868_799_999, 4_107_542_400_000, -1, -86_400_000, 1_767_225_600_123].map {
            Date(timeIntervalSince1970: Double($0) / 1000)
        }
        for _ in 0..<2000 {
            dates.append(Date(timeIntervalSince1970: Double(Int64.random(in: -2_000_000_000_000...8_000_000_000_000, using: &random)) / 1000))
        }
        for date in dates {
            #expect(Runtime.timestamp(date) == formatter.string(from: date), "\(date.timeIntervalSince1970)")
        }
        #expect(Runtime.timestamp(Date(timeIntervalSince1970: 1_735_732_800)) == "2025-01-01T12:00:00.000Z")
    }
}
