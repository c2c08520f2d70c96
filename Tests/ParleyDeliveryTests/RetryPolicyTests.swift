import Foundation
import NIOCore
@testable import ParleyDelivery
import ParleyRuntime
import Testing

@Suite("Retry policy")
struct RetryPolicyTests {
    let now = Date(timeIntervalSince1970: 1_445_412_480)  // Wed, 21 Oct 2015 07:28:00 GMT

    @Test("backoff doubles from the base, is jittered between half and all of the step, and is capped")
    func backoff() {
        let policy = RetryPolicy(baseDelay: 1, maxDelay: 600)
        #expect((1...5).map { policy.backoff(attempt: $0, random: 0) } == [0.5, 1, 2, 4, 8])
        #expect((1...5).map { policy.backoff(attempt: $0, random: 1) } == [1, 2, 4, 8, 16])
        #expect(policy.backoff(attempt: 3, random: 0.5) == 3)
        #expect(policy.backoff(attempt: 20, random: 1) == 600)
        #expect(policy.backoff(attempt: 10_000, random: 0) == 300)
    }

    @Test("the retry window is measured from the message's creation")
    func window() {
        let policy = RetryPolicy(retryWindow: 60)
        #expect(!policy.isExpired(createdAt: now, now: now.addingTimeInterval(59)))
        #expect(policy.isExpired(createdAt: now, now: now.addingTimeInterval(60)))
    }

    @Test("Retry-After accepts seconds and the three HTTP date forms, capped, never negative")
    func retryAfter() {
        let policy = RetryPolicy(maxRetryAfter: 3600)
        #expect(policy.retryAfter("120", now: now) == 120)
        #expect(policy.retryAfter(" 7 ", now: now) == 7)
        #expect(policy.retryAfter("Wed, 21 Oct 2015 07:30:00 GMT", now: now) == 120)
        #expect(policy.retryAfter("Wednesday, 21-Oct-15 07:29:00 GMT", now: now) == 60)
        #expect(policy.retryAfter("Wed Oct 21 07:28:30 2015", now: now) == 30)
        #expect(policy.retryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now: now) == 0)
        #expect(policy.retryAfter("999999", now: now) == 3600)
        #expect(policy.retryAfter("soon", now: now) == nil)
        #expect(policy.retryAfter("-5", now: now) == nil)
        #expect(policy.retryAfter("", now: now) == nil)
    }
}

/// Issue 26: a log line read `connection reset (error set): Connection refused) (errno: 111)`.
@Suite struct ConnectionFailureTests {
    @Test func aFailureWithAnErrnoReadsAsTheSystemsWords() {
        let nested = IOError(errnoCode: 111, reason: "connection reset (error set): Connection refused)")
        #expect(ConnectionFailure.describe(nested) == "Connection refused (errno 111)")
        #expect(DeliveryService.classify(nested, timeoutMs: 1000).message == "connection failed: Connection refused (errno 111)")
        struct Other: Error, CustomStringConvertible { var description: String { "the peer hung up" } }
        #expect(ConnectionFailure.describe(Other()) == "the peer hung up")
    }
}
