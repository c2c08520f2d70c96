import Foundation
import Logging
import ParleyDelivery
import ParleyRuntime
import ParleyStore
import Testing

/// A clock tests move by hand, so retry dates are exact and nothing sleeps.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    init(_ start: Date = DeliveryFixture.t0) { current = start }

    var now: Date { lock.withLock { current } }

    func advance(_ seconds: TimeInterval) { lock.withLock { current = current.addingTimeInterval(seconds) } }

    private var sleepers: [UUID: Date] = [:]

    /// Returns once the clock has been advanced to `date`: the service's timer under this clock.
    func sleep(until date: Date) async throws {
        let id = UUID()
        lock.withLock { sleepers[id] = date }
        defer { lock.withLock { sleepers[id] = nil } }
        while now < date { try await Task.sleep(for: .milliseconds(2)) }
    }

    /// Waits (up to 10 s of real time) until something sleeps on this clock until `date` or later: the service has
    /// planned its next wake-up, so moving the clock now cannot fall before the plan.
    func waitForSleeper(until date: Date) async -> Bool {
        for _ in 0..<5000 {
            if lock.withLock({ sleepers.values.contains { $0 >= date } }) { return true }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return false
    }
}

/// Builders for the delivery tests.
enum DeliveryFixture {
    /// A fixed instant on a whole second.
    static let t0 = Date(timeIntervalSince1970: 1_750_000_000)

    static func key(_ session: String, endpoint: String = "web") -> SessionKey {
        SessionKey(endpoint: endpoint, userId: "u-\(session)", sessionId: session)
    }

    static func endpoint(
        _ name: String = "web",
        webhook: String?,
        user: String? = nil,
        password: String? = nil,
        handover: String? = nil
    )
        -> Endpoint
    {
        Endpoint(
            name: name,
            kind: .webhook,
            urlToken: String(repeating: "a", count: 64),
            flow: "main",
            webhook: webhook.map { Endpoint.Target(url: $0, user: user, password: password) },
            handover: handover.map { Endpoint.Target(url: $0) }
        )
    }

    /// A JSON body naming its session and position, so the receiver can check order.
    static func body(_ session: String, _ n: Int) -> String { #"{"session":"\#(session)","n":\#(n)}"# }

    static func message(_ key: SessionKey, _ n: Int, body: String? = nil, destination: String = "webhook", at: Date = t0) -> OutgoingMessage {
        OutgoingMessage(
            idempotencyKey: "idem-\(key.sessionId)-\(n)",
            key: key,
            destination: destination,
            payload: body ?? Self.body(key.sessionId, n),
            createdAt: at
        )
    }

    static func settings(
        clock: TestClock? = nil,
        random: Double = 0.5,
        timeoutMs: Int = 5_000,
        retry: RetryPolicy = RetryPolicy(),
        maxConcurrent: Int = 32,
        pollInterval: Duration = .seconds(5)
    ) -> DeliveryService.Settings {
        var settings = DeliveryService.Settings(
            timeoutMs: timeoutMs,
            retry: retry,
            maxConcurrentDeliveries: maxConcurrent,
            pollInterval: pollInterval,
            random: { random }
        )
        if let clock {
            settings.now = { clock.now }
            settings.sleep = { try await clock.sleep(until: $0) }
        } else {
            // Real time, starting at t0 like the messages, so they are young.
            let offset = Date().timeIntervalSince(t0)
            settings.now = { Date().addingTimeInterval(-offset) }
        }
        return settings
    }

    /// The service's logger: silent unless `PARLEY_DELIVERY_TEST_LOGS` is set.
    static var serviceLogger: Logger {
        var logger = Logger(label: "test.delivery")
        logger.logLevel = ProcessInfo.processInfo.environment["PARLEY_DELIVERY_TEST_LOGS"] == nil ? .critical : .trace
        return logger
    }

    static var quietLogger: Logger {
        var logger = Logger(label: "test.delivery")
        logger.logLevel = .critical
        return logger
    }
}

extension Store {
    /// Enqueues messages the only way the runtime does: accept an input, commit its turn with the messages.
    func enqueue(_ key: SessionKey, _ messages: [OutgoingMessage], at: Date = DeliveryFixture.t0) async throws {
        let entry = try await accept(
            InboxEntry(traceId: "trace-\(UUID().uuidString)", key: key, kind: "message", payload: #"{"text":"hi"}"#, acceptedAt: at)
        )
        let id = try #require(entry.id)
        try await commit(
            TurnCommit(inboxId: id, session: StoredSession(key: key, state: "{}", flowHash: "hash", updatedAt: at), messages: messages)
        )
    }

    /// Every message in any state, by id.
    func allMessages() async throws -> [Int64: OutgoingMessage] {
        var all: [Int64: OutgoingMessage] = [:]
        for status in OutgoingMessage.Status.allCases {
            for message in try await messages(status: status, limit: 10_000) { all[message.id ?? -1] = message }
        }
        return all
    }

    func count(_ status: OutgoingMessage.Status) async throws -> Int { try await messages(status: status, limit: 10_000).count }
}

/// Waits (at most about ten seconds, polling) until `condition` holds.
func eventually(_ condition: () async throws -> Bool) async rethrows -> Bool {
    for _ in 0..<1000 {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return false
}
