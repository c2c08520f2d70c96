import Foundation
import ParleyRuntime
import ParleySQLite
import ParleyStore
import ParleyTestSupport
import Testing

@testable import ParleyDelivery

@Suite("Delivery guarantees: signatures, expiry, pause on 410, isolation")
struct DeliveryGuaranteeTests {
    /// The example of the Standard Webhooks specification and its reference libraries.
    static let specSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    private static func endpoint(_ name: String = "web", url: String, secrets: [String] = [], expireSeconds: Int? = nil) throws -> Endpoint {
        var endpoint = DeliveryFixture.endpoint(name, webhook: url, handover: url + "-agent")
        endpoint.webhook?.signingSecrets = try secrets.map(SigningSecret.init(parsing:))
        endpoint.webhook?.expireSeconds = expireSeconds
        return endpoint
    }

    @Test func theSpecificationsExampleSignsAsItsReferenceLibrariesDo() throws {
        let signature = WebhookSignature(
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
            timestamp: Date(timeIntervalSince1970: 1_614_265_330),
            body: Data(#"{"test": 2432232314}"#.utf8)
        )
        #expect(signature.header(secrets: [try SigningSecret(parsing: Self.specSecret)]) == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test func signingSecretsParseAndNeverShowTheirKey() throws {
        let secret = try SigningSecret(parsing: Self.specSecret)
        #expect(secret.text == Self.specSecret)
        #expect(!"\(secret)".contains("MfKQ9r8"))
        #expect(throws: SigningSecret.FormatError.self) { try SigningSecret(parsing: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") }
        #expect(throws: SigningSecret.FormatError.self) { try SigningSecret(parsing: "whsec_not base64!") }
        #expect(throws: SigningSecret.FormatError.self) { try SigningSecret(parsing: "whsec_" + Data(count: 16).base64EncodedString()) }
        let fresh = SigningSecret.generate()
        #expect(fresh.key.count == 32)
        #expect(try SigningSecret(parsing: fresh.text) == fresh)
        #expect(fresh != SigningSecret.generate())
    }

    @Test func deliveriesCarryStandardWebhooksSignaturesForEverySecretStableIdsAcrossRetries() async throws {
        let clock = TestClock()
        let newSecret = SigningSecret.generate().text
        let unrelated = SigningSecret.generate().text
        try await withDelivery(
            script: { $0.attempt == 1 ? .init(status: 503) : .ok },
            settings: DeliveryFixture.settings(clock: clock),
            endpoints: { [try! Self.endpoint(url: $0.url, secrets: [newSecret, Self.specSecret])] }
        ) { receiver, store, service in
            let key = DeliveryFixture.key("s1")
            try await store.enqueue(key, [DeliveryFixture.message(key, 1), DeliveryFixture.message(key, 2, destination: "handover")])
            try await drain(service, store, clock: clock)

            let requests = await receiver.requests
            #expect(requests.map(\.status) == [503, 200, 503, 200])
            for request in requests {
                #expect(request.headers["webhook-id"] == request.headers["idempotency-key"])
                #expect(request.headers["webhook-signature"]?.split(separator: " ").count == 2)
                #expect(try StandardWebhooks.verifiedSecrets(request, secrets: [newSecret, Self.specSecret, unrelated]) == [0, 1])
            }
            // The id is stable across the retry; the timestamp is the attempt's.
            #expect(requests[0].headers["webhook-id"] == requests[1].headers["webhook-id"])
            #expect(requests[0].headers["webhook-timestamp"] == String(Int(DeliveryFixture.t0.timeIntervalSince1970)))
            #expect(requests[1].headers["webhook-timestamp"] == String(Int(DeliveryFixture.t0.timeIntervalSince1970) + 3600))
            // The handover delivery is signed with the webhook's secrets too.
            #expect(requests[2].path == "/hook-agent")
        }
    }

    @Test func unsignedEndpointsSendNoSignatureHeaders() async throws {
        let clock = TestClock()
        try await withDelivery(settings: DeliveryFixture.settings(clock: clock)) { receiver, store, service in
            let key = DeliveryFixture.key("s1")
            try await store.enqueue(key, [DeliveryFixture.message(key, 1)])
            await service.deliverDue()
            let request = try #require(await receiver.requests.first)
            #expect(request.headers["webhook-signature"] == nil && request.headers["webhook-id"] == nil)
        }
    }

    @Test func anExpiredReplyIsADeadLetterAndTheSessionsNextMessagesStillGoInOrder() async throws {
        let clock = TestClock()
        try await withDelivery(
            script: { $0.number == 1 ? .init(status: 503) : .ok },
            settings: DeliveryFixture.settings(clock: clock),
            endpoints: { [try! Self.endpoint(url: $0.url, expireSeconds: 30)] }
        ) { receiver, store, service in
            let key = DeliveryFixture.key("s1")
            try await store.enqueue(key, [DeliveryFixture.message(key, 1)])
            #expect(await service.deliverDue() == 1)
            clock.advance(20)
            try await store.enqueue(key, (2...3).map { DeliveryFixture.message(key, $0, at: clock.now) }, at: clock.now)
            clock.advance(11)
            #expect(await service.deliverDue() == 3, "message 1 (31 s old) expires unsent; 2 and 3 (11 s old) go")

            let dead = try #require(try await store.messages(status: .dead, limit: 5).first)
            #expect(dead.idempotencyKey == "idem-s1-1")
            #expect(dead.lastError?.hasPrefix("expired: not delivered within 30 s (waited 31 s, 1 attempt); last: HTTP 503") == true)
            let numbers = await receiver.requests.map(\.number)
            #expect(numbers == [1, 2, 3])
            #expect(await receiver.accepted.map(\.number) == [2, 3])
        }
    }

    @Test func aGoneReceiverPausesTheEndpointKeepsEverythingAndAResumeDeliversItInOrder() async throws {
        let clock = TestClock()
        try await withDelivery(
            script: { $0.path == "/gone" ? .init(status: 410) : .ok },
            settings: DeliveryFixture.settings(clock: clock),
            endpoints: { [try! Self.endpoint(url: $0.url("gone"), expireSeconds: 60), try! Self.endpoint("other", url: $0.url)] }
        ) { receiver, store, service in
            let keys = ["a", "b"].map { DeliveryFixture.key($0) }
            for key in keys { try await store.enqueue(key, (1...3).map { DeliveryFixture.message(key, $0) }) }
            let other = DeliveryFixture.key("o", endpoint: "other")
            try await store.enqueue(other, [DeliveryFixture.message(other, 1)])

            await service.deliverDue()
            let pauses = try await store.pausedEndpoints()
            #expect(pauses.map(\.endpoint) == ["web"])
            #expect(pauses.first?.reason == "gone: the webhook receiver answered 410 Gone")
            #expect(try await store.countMessages(status: .pending) == 6, "nothing of the paused endpoint is dropped")
            #expect(try await store.countMessages(status: .dead) == 0)
            #expect(try await store.countMessages(status: .delivered) == 1, "the other endpoint is not affected")

            // Paused for an hour, far past expireSeconds: nothing is attempted, nothing expires.
            clock.advance(3600)
            #expect(await service.deliverDue() == 0)
            let requestsWhilePaused = await receiver.requests.count
            await receiver.answer { _ in .ok }
            #expect(try await store.resumeEndpoint("web", at: clock.now))
            try await drain(service, store, clock: clock)
            #expect(try await store.countMessages(status: .dead) == 0)
            #expect(try await store.countMessages(status: .delivered) == 7)
            let bySession = numbersBySession(Array(await receiver.accepted))
            #expect(bySession["a"] == [1, 2, 3] && bySession["b"] == [1, 2, 3])
            #expect(await receiver.requests.count == requestsWhilePaused + 6)
        }
    }

    @Test func theLoopSleepsOnTheInjectedClockSoLongBackoffsNeedNoWaiting() async throws {
        let clock = TestClock()
        try await withDelivery(
            script: { $0.number == 1 && $0.attempt <= 2 ? .init(status: 503, retryAfter: "600") : .ok },
            settings: DeliveryFixture.settings(clock: clock, pollInterval: .seconds(3600)),
            endpoints: { [try! Self.endpoint(url: $0.url, expireSeconds: 1800)] }
        ) { receiver, store, service in
            let key = DeliveryFixture.key("s1")
            try await store.enqueue(key, [DeliveryFixture.message(key, 1), DeliveryFixture.message(key, 2)])
            let running = Task { try await service.run() }
            // Each step waits until the service recorded the attempt before the clock moves (a retry's date is the
            // service's now plus the delay).
            let attempts = { try await store.messages(status: .pending, limit: 1).first?.attempts }
            #expect(try await eventually { try await attempts() == 1 })
            #expect(await clock.waitForSleeper(until: clock.now.addingTimeInterval(0.001)))
            // Retry-After 600 s: nothing happens until the clock is moved, however long we wait in real time.
            clock.advance(599)
            try await Task.sleep(for: .milliseconds(100))
            #expect(await receiver.requests.count == 1)
            clock.advance(1)
            #expect(try await eventually { try await attempts() == 2 })
            // The attempt is recorded before the service has planned its next wake-up (the endpoint's hold runs from
            // its own now): wait until it sleeps again, or the clock would move between the two.
            #expect(await clock.waitForSleeper(until: clock.now.addingTimeInterval(0.001)))
            clock.advance(600)
            #expect(await receiver.waitUntil { $0.filter { $0.status == 200 }.count == 2 })
            #expect(await receiver.accepted.map(\.number) == [1, 2])
            #expect(try await eventually { try await store.countMessages(status: .pending) == 0 })
            running.cancel()
            try await running.value
        }
    }

    @Test func aSlowEndpointHoldsOnlyItsShareOfTheSlotsAndTheOthersKeepTheirPace() async throws {
        try await withDelivery(
            script: { $0.path == "/slow" ? .init(hold: true) : .ok },
            settings: DeliveryService.Settings(
                timeoutMs: 120_000,
                maxConcurrentDeliveries: 4,
                maxConcurrentPerEndpoint: 2,
                pollInterval: .seconds(60),
                now: { Date() }
            ),
            endpoints: { [try! Self.endpoint("slow", url: $0.url("slow")), try! Self.endpoint(url: $0.url)] }
        ) { receiver, store, service in
            let now = Date()
            let running = Task { try await service.run() }
            // Eight sessions of the slow endpoint, committed first: older than everything of the other endpoint.
            for index in 0..<8 {
                let key = DeliveryFixture.key("slow\(index)", endpoint: "slow")
                try await store.enqueue(key, [DeliveryFixture.message(key, 1, at: now)], at: now)
            }
            service.wake()
            #expect(await receiver.waitUntil { $0.filter { $0.path == "/slow" }.count == 2 })
            for index in 0..<6 {
                let key = DeliveryFixture.key("fast\(index)")
                try await store.enqueue(key, (1...5).map { DeliveryFixture.message(key, $0, at: now) }, at: now)
            }
            service.wake()
            #expect(await receiver.waitUntil { $0.filter { $0.path == "/hook" && $0.status == 200 }.count == 30 })
            #expect(await receiver.requests.filter { $0.path == "/slow" }.count == 2, "the slow endpoint never had more than its two slots")
            await receiver.releaseHeld()
            #expect(await receiver.waitUntil { $0.filter { $0.path == "/slow" }.count == 8 })
            running.cancel()
            try await running.value
        }
    }
}
