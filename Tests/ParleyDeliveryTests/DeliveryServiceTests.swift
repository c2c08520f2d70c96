import Foundation
import ParleyDelivery
import ParleyRuntime
import ParleySQLite
import ParleyStore
import ParleyTestSupport
import Testing

/// Runs `body` with a live receiver, an in-memory store and a delivery service, and always stops them.
func withDelivery(
    script: @escaping WebhookReceiver.Script = { _ in .ok },
    settings: DeliveryService.Settings,
    endpoints: (WebhookReceiver) -> [Endpoint] = { [DeliveryFixture.endpoint(webhook: $0.url)] },
    _ body: (WebhookReceiver, SQLiteStore, DeliveryService) async throws -> Void
) async throws {
    let receiver = try await WebhookReceiver.start(script: script)
    let store = try SQLiteStore.inMemory()
    let service = DeliveryService(store: store, endpoints: endpoints(receiver), settings: settings, logger: DeliveryFixture.serviceLogger)
    do {
        try await body(receiver, store, service)
    } catch {
        await receiver.stop()
        try await service.shutdown()
        throw error
    }
    await receiver.stop()
    try await service.shutdown()
}

/// Calls ``DeliveryService/deliverDue()`` and moves the clock an hour on, until nothing is pending (at most `rounds`).
func drain(_ service: DeliveryService, _ store: SQLiteStore, clock: TestClock, rounds: Int = 30) async throws {
    for _ in 0..<rounds {
        await service.deliverDue()
        if try await store.count(.pending) == 0 { return }
        clock.advance(3600)
    }
}

func numbersBySession(_ requests: [WebhookReceiver.Received]) -> [String: [Int]] {
    var result: [String: [Int]] = [:]
    for request in requests { result[request.session ?? "?", default: []].append(request.number ?? -1) }
    return result
}

@Suite("Delivery over HTTP to a live receiver")
struct DeliveryServiceTests {
    @Test("headers are exact, the body passes byte for byte, the idempotency key survives retries")
    func headersAndBody() async throws {
        let clock = TestClock()
        try await withDelivery(
            script: { $0.attempt == 1 ? .init(status: 500) : .ok },
            settings: DeliveryFixture.settings(clock: clock),
            endpoints: { [DeliveryFixture.endpoint(webhook: $0.url, user: "parley", password: "pa:ss wörd")] }
        ) { receiver, store, service in
            let key = DeliveryFixture.key("s1")
            let body = "{\"text\": \"Grüße — \\\"hi\\\" 👋\",\n  \"data\": {\"a\": [1, 2.50, null]}, \"session\": \"s1\"}"
            try await store.enqueue(key, [DeliveryFixture.message(key, 1, body: body)])

            #expect(await service.deliverDue() == 1)
            clock.advance(60)
            #expect(await service.deliverDue() == 1)

            let requests = await receiver.requests
            #expect(requests.map(\.status) == [500, 200])
            for request in requests {
                #expect(request.method == "POST")
                #expect(request.path == "/hook")
                #expect(request.headers["idempotency-key"] == "idem-s1-1")
                #expect(request.headers["content-type"] == "application/json")
                #expect(request.headers["authorization"] == "Basic " + Data("parley:pa:ss wörd".utf8).base64EncodedString())
                #expect(request.headers["user-agent"]?.hasPrefix("Parley/") == true)
                #expect(request.body == Array(body.utf8))
            }
            #expect(try await store.count(.delivered) == 1)
        }
    }

    @Test("a handover message goes to the handover URL, without Authorization when the target has no user")
    func handoverTargetWithoutAuth() async throws {
        try await withDelivery(
            settings: DeliveryFixture.settings(clock: TestClock()),
            endpoints: { [DeliveryFixture.endpoint(webhook: $0.url("hook"), user: "parley", password: "x", handover: $0.url("agent"))] }
        ) { receiver, store, service in
            let key = DeliveryFixture.key("s1")
            try await store.enqueue(key, [DeliveryFixture.message(key, 1, destination: "handover")])
            #expect(await service.deliverDue() == 1)
            let request = try #require(await receiver.requests.first)
            #expect(request.path == "/agent")
            #expect(request.headers["authorization"] == nil)
            #expect(request.headers["idempotency-key"] == "idem-s1-1")
        }
    }

    @Test("per-session order holds across many concurrent sessions with failures")
    func perSessionOrder() async throws {
        let clock = TestClock()
        try await withDelivery(
            script: { request in
                let n = request.number ?? 0
                let s = Int(request.session?.dropFirst() ?? "") ?? 0
                return request.attempt == 1 && (n + s) % 3 == 0 ? .init(status: 500, delayMs: 2) : .init(delayMs: 2)
            },
            settings: DeliveryFixture.settings(clock: clock, maxConcurrent: 8)
        ) { receiver, store, service in
            let sessions = (0..<20).map { "s\($0)" }
            for n in 1...5 {
                for session in sessions {
                    let key = DeliveryFixture.key(session)
                    try await store.enqueue(key, [DeliveryFixture.message(key, n)])
                }
            }
            try await drain(service, store, clock: clock)

            #expect(try await store.count(.pending) == 0)
            #expect(try await store.count(.delivered) == 100)
            let bySession = numbersBySession(await receiver.accepted)
            for session in sessions { #expect(bySession[session] == [1, 2, 3, 4, 5], "session \(session)") }
            #expect(await receiver.maxConcurrentPerSession == 1)
        }
    }

    @Test("a receiver that answers 500 for a while loses nothing and keeps order")
    func outageWith500s() async throws {
        let clock = TestClock()
        try await withDelivery(script: { _ in .init(status: 500) }, settings: DeliveryFixture.settings(clock: clock)) { receiver, store, service in
            let sessions = ["a", "b", "c"]
            for session in sessions {
                let key = DeliveryFixture.key(session)
                try await store.enqueue(key, (1...4).map { DeliveryFixture.message(key, $0) })
            }
            // Every session is tried once; then the endpoint is failing and gets one probe per pass (DESIGN §6,
            // Isolation: backoff per endpoint), not one attempt per session.
            #expect(await service.deliverDue() == 3)
            for _ in 0..<3 {
                clock.advance(3600)
                #expect(await service.deliverDue() == 1)
            }
            #expect(try await store.count(.pending) == 12)
            #expect(Set(await receiver.requests.map(\.number)) == [1])

            await receiver.answer { _ in .ok }
            try await drain(service, store, clock: clock)

            #expect(try await store.count(.delivered) == 12)
            let accepted = await receiver.accepted
            #expect(accepted.count == 12)
            #expect(Set(accepted.compactMap { $0.headers["idempotency-key"] }).count == 12)
            let bySession = numbersBySession(accepted)
            for session in sessions { #expect(bySession[session] == [1, 2, 3, 4]) }
        }
    }

    @Test("a receiver that refuses connections, then comes back on its port, gets everything in order")
    func outageWithRefusedConnections() async throws {
        let clock = TestClock()
        let first = try await WebhookReceiver.start()
        let port = first.port
        await first.stop()

        let store = try SQLiteStore.inMemory()
        let service = DeliveryService(
            store: store,
            endpoints: [DeliveryFixture.endpoint(webhook: first.url)],
            // Refused connections fail at once; the timeout only has to outlast a loaded machine's answers.
            settings: DeliveryFixture.settings(clock: clock, timeoutMs: 10_000),
            logger: DeliveryFixture.quietLogger
        )
        for session in ["a", "b"] {
            let key = DeliveryFixture.key(session)
            try await store.enqueue(key, (1...3).map { DeliveryFixture.message(key, $0) })
        }
        #expect(await service.deliverDue() == 2)
        let pending = try await store.messages(status: .pending, limit: 10)
        #expect(pending.count == 6)
        #expect(pending.filter { $0.attempts == 1 }.allSatisfy { $0.lastError?.hasPrefix("connection failed") == true })
        #expect(pending.filter { $0.attempts == 1 }.count == 2)

        let receiver = try await WebhookReceiver.start(port: port)
        clock.advance(3600)
        try await drain(service, store, clock: clock)
        let accepted = await receiver.accepted
        await receiver.stop()
        try await service.shutdown()

        #expect(try await store.count(.delivered) == 6)
        let bySession = numbersBySession(accepted)
        #expect(bySession["a"] == [1, 2, 3])
        #expect(bySession["b"] == [1, 2, 3])
    }

    @Test("429 with Retry-After in seconds schedules the next attempt exactly then")
    func retryAfterSeconds() async throws {
        let clock = TestClock()
        try await withDelivery(
            script: { $0.attempt == 1 ? .init(status: 429, retryAfter: "120") : .ok },
            settings: DeliveryFixture.settings(clock: clock)
        ) { receiver, store, service in
            let key = DeliveryFixture.key("s1")
            try await store.enqueue(key, [DeliveryFixture.message(key, 1)])
            #expect(await service.deliverDue() == 1)

            let message = try #require(try await store.messages(status: .pending, limit: 1).first)
            #expect(message.attempts == 1)
            #expect(message.nextAttemptAt == DeliveryFixture.t0.addingTimeInterval(120))
            #expect(message.lastError == "HTTP 429 (Retry-After 120 s)")

            clock.advance(119)
            #expect(await service.deliverDue() == 0)
            clock.advance(1)
            #expect(await service.deliverDue() == 1)
            #expect(try await store.count(.delivered) == 1)
            #expect(await receiver.requests.count == 2)
        }
    }

    @Test("503 with Retry-After as an HTTP date is honoured")
    func retryAfterDate() async throws {
        let clock = TestClock()
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let date = formatter.string(from: DeliveryFixture.t0.addingTimeInterval(300))
        try await withDelivery(
            script: { $0.attempt == 1 ? .init(status: 503, retryAfter: date) : .ok },
            settings: DeliveryFixture.settings(clock: clock)
        ) { _, store, service in
            let key = DeliveryFixture.key("s1")
            try await store.enqueue(key, [DeliveryFixture.message(key, 1)])
            await service.deliverDue()
            let message = try #require(try await store.messages(status: .pending, limit: 1).first)
            #expect(message.nextAttemptAt == DeliveryFixture.t0.addingTimeInterval(300))
        }
    }

    @Test("retries back off exponentially with the injected jitter; Retry-After on a 500 is not a reason to wait")
    func backoffSchedule() async throws {
        let clock = TestClock()
        try await withDelivery(
            script: { _ in .init(status: 500, retryAfter: "999") },
            settings: DeliveryFixture.settings(clock: clock, random: 0.5)
        ) { _, store, service in
            let key = DeliveryFixture.key("s1")
            try await store.enqueue(key, [DeliveryFixture.message(key, 1)])
            var delays: [TimeInterval] = []
            for _ in 0..<5 {
                #expect(await service.deliverDue() == 1)
                let message = try #require(try await store.messages(status: .pending, limit: 1).first)
                delays.append(message.nextAttemptAt.timeIntervalSince(clock.now))
                clock.advance(message.nextAttemptAt.timeIntervalSince(clock.now))
            }
            #expect(delays == [0.75, 1.5, 3, 6, 12])
        }
    }

    @Test("400 makes a dead letter and the session's later messages still go")
    func badRequestIsDead() async throws {
        try await withDelivery(
            script: { $0.number == 1 ? .init(status: 400) : .ok },
            settings: DeliveryFixture.settings(clock: TestClock())
        ) { receiver, store, service in
            let key = DeliveryFixture.key("s1")
            try await store.enqueue(key, (1...3).map { DeliveryFixture.message(key, $0) })
            #expect(await service.deliverDue() == 3)

            let dead = try await store.messages(status: .dead, limit: 10)
            #expect(dead.map(\.idempotencyKey) == ["idem-s1-1"])
            #expect(dead.first?.lastError == "HTTP 400")
            #expect(dead.first?.attempts == 1)
            #expect(await receiver.accepted.map(\.number) == [2, 3])
        }
    }

    @Test("a destination without a URL, or an endpoint that is gone, makes a dead letter with a clear error")
    func missingTargetIsDead() async throws {
        try await withDelivery(settings: DeliveryFixture.settings(clock: TestClock())) { receiver, store, service in
            let handover = DeliveryFixture.key("s1")
            try await store.enqueue(handover, [DeliveryFixture.message(handover, 1, destination: "handover")])
            let gone = DeliveryFixture.key("s2", endpoint: "gone")
            try await store.enqueue(gone, [DeliveryFixture.message(gone, 1)])
            #expect(await service.deliverDue() == 2)

            let dead = try await store.messages(status: .dead, limit: 10)
            #expect(dead.map(\.lastError) == ["endpoint 'web' has no handover URL configured", "no endpoint named 'gone' is configured"])
            #expect(await receiver.requests.isEmpty)
        }
    }

    @Test("a message still pending after the retry window is a dead letter with reason expired, and is not sent again")
    func retryWindowExceeded() async throws {
        let clock = TestClock()
        try await withDelivery(
            script: { _ in .init(status: 503) },
            settings: DeliveryFixture.settings(clock: clock, retry: RetryPolicy(retryWindow: 60))
        ) { receiver, store, service in
            let key = DeliveryFixture.key("s1")
            try await store.enqueue(key, [DeliveryFixture.message(key, 1)])
            await service.deliverDue()
            #expect(try await store.count(.pending) == 1)

            clock.advance(61)
            #expect(await service.deliverDue() == 1)
            let dead = try #require(try await store.messages(status: .dead, limit: 1).first)
            #expect(dead.attempts == 1)
            #expect(dead.lastError == "expired: not delivered within 1 min (waited 61 s, 1 attempt); last: HTTP 503")
            #expect(await receiver.requests.count == 1)
        }
    }

    @Test("retryDead re-drives a dead letter with the same idempotency key")
    func retryDeadRedrives() async throws {
        let clock = TestClock()
        try await withDelivery(
            script: { $0.attempt == 1 ? .init(status: 422) : .ok },
            settings: DeliveryFixture.settings(clock: clock)
        ) { receiver, store, service in
            let key = DeliveryFixture.key("s1")
            try await store.enqueue(key, [DeliveryFixture.message(key, 1)])
            await service.deliverDue()
            let dead = try #require(try await store.messages(status: .dead, limit: 1).first)

            #expect(try await store.retryDead(ids: [try #require(dead.id)], now: clock.now) == 1)
            #expect(await service.deliverDue() == 1)
            #expect(try await store.count(.delivered) == 1)
            #expect(await receiver.requests.map { $0.headers["idempotency-key"] } == ["idem-s1-1", "idem-s1-1"])
        }
    }

    @Test("a timeout is retried")
    func timeoutIsRetried() async throws {
        let clock = TestClock()
        try await withDelivery(
            script: { $0.attempt == 1 ? .init(hold: true) : .ok },
            // Long enough that the second, answered attempt never times out on a loaded machine.
            settings: DeliveryFixture.settings(clock: clock, timeoutMs: 1500)
        ) { receiver, store, service in
            let key = DeliveryFixture.key("s1")
            try await store.enqueue(key, [DeliveryFixture.message(key, 1)])
            #expect(await service.deliverDue() == 1)
            let pending = try #require(try await store.messages(status: .pending, limit: 1).first)
            #expect(pending.lastError == "no answer within 1500 ms")
            #expect(pending.attempts == 1)

            clock.advance(60)
            #expect(await service.deliverDue() == 1)
            #expect(try await store.count(.delivered) == 1)
            #expect(await receiver.requests.count == 2)
        }
    }

    @Test("a slow receiver for one session does not hold back other sessions")
    func slowReceiverIsolated() async throws {
        try await withDelivery(
            script: { $0.path == "/slow" ? .init(hold: true) : .ok },
            // The held request must not time out while the others go through, however loaded the machine is.
            settings: DeliveryFixture.settings(timeoutMs: 120_000, maxConcurrent: 2, pollInterval: .seconds(60)),
            endpoints: { [DeliveryFixture.endpoint(webhook: $0.url), DeliveryFixture.endpoint("slow", webhook: $0.url("slow"))] }
        ) { receiver, store, service in
            let running = Task { try await service.run() }
            let slow = DeliveryFixture.key("a", endpoint: "slow")
            try await store.enqueue(slow, [DeliveryFixture.message(slow, 1)])
            service.wake()
            #expect(await receiver.waitUntil { $0.contains { $0.path == "/slow" } })

            for session in ["b", "c"] {
                let key = DeliveryFixture.key(session)
                try await store.enqueue(key, (1...5).map { DeliveryFixture.message(key, $0) })
            }
            service.wake()
            #expect(await receiver.waitUntil { $0.filter { $0.path == "/hook" && $0.status == 200 }.count == 10 })

            // Ten deliveries of b and c went through one free slot while a's first message was still in flight.
            // (The receiver records a request before its answer reaches the service, so the store may lag a moment.)
            #expect(try await eventually { try await store.messages(status: .pending, limit: 10).map(\.key) == [slow] })
            #expect(try await store.count(.delivered) == 10)
            #expect(await receiver.requests.filter { $0.path == "/slow" }.count == 1)
            let bySession = numbersBySession(await receiver.accepted)
            #expect(bySession["b"] == [1, 2, 3, 4, 5])
            #expect(bySession["c"] == [1, 2, 3, 4, 5])

            await receiver.releaseHeld()
            #expect(try await eventually { try await store.count(.delivered) == 11 })
            running.cancel()
            try await running.value
        }
    }

    @Test("run() retries on its own timer and stops on cancellation")
    func runLoopRetries() async throws {
        try await withDelivery(
            script: { $0.attempt <= 2 ? .init(status: 500) : .ok },
            settings: DeliveryFixture.settings(retry: RetryPolicy(baseDelay: 0.05, maxDelay: 0.2), pollInterval: .seconds(60))
        ) { receiver, store, service in
            let key = DeliveryFixture.key("s1")
            // The service runs on real time here, starting at t0 like the messages.
            try await store.enqueue(key, [DeliveryFixture.message(key, 1), DeliveryFixture.message(key, 2)])
            let running = Task { try await service.run() }
            #expect(try await eventually { try await store.count(.delivered) == 2 })
            running.cancel()
            try await running.value
            #expect(await receiver.accepted.map(\.number) == [1, 2])
            #expect(await receiver.requests.filter { $0.number == 1 }.count == 3)
        }
    }
}
