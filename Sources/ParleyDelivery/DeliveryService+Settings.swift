import Foundation
import ParleyFlows
import ParleyRuntime

extension DeliveryService {
    /// How the service delivers: timeouts, retries, concurrency, and the clock and random source it decides with.
    ///
    /// Built from `parley.yaml`'s `delivery` section with ``init(configuration:now:random:)``; tests inject a clock
    /// and a fixed random source so retry dates are exact.
    public struct Settings: Sendable {
        /// The limit on one attempt (connecting, sending and receiving the answer's head), in milliseconds.
        public var timeoutMs: Int
        /// Backoff, `Retry-After` cap and retry window.
        public var retry: RetryPolicy
        /// At most this many messages are in flight at once (each from a different session).
        public var maxConcurrentDeliveries: Int
        /// At most this many of them are of one endpoint, so a slow receiver leaves the other slots to the other
        /// endpoints (DESIGN §6, *Isolation*).
        public var maxConcurrentPerEndpoint: Int
        /// The longest ``DeliveryService/run()`` sleeps without looking at the outbox, so messages changed by other
        /// processes (`parley outbox retry`, another instance) are noticed without a ``DeliveryService/wake()``.
        public var pollInterval: Duration
        /// The `User-Agent` header of every delivery.
        public var userAgent: String
        /// The current time: when messages are due, how old they are, when to retry.
        public var now: @Sendable () -> Date
        /// Waits until ``now`` reads this date: the loop's timer. Tests inject a clock that moves only when told, so
        /// backoff, expiry and leases are tested without waiting.
        public var sleep: @Sendable (Date) async throws -> Void
        /// A number in `0..<1` for the backoff jitter.
        public var random: @Sendable () -> Double
        /// Who this service claims messages as: unique among the instances sharing a store (DESIGN §6).
        public var owner: String
        /// How long a claimed message stays this service's: longer than an attempt may take, so a message is sent
        /// by one instance at a time, and taken over by another only when this one stopped.
        public var lease: TimeInterval

        /// Settings with DESIGN §6's defaults: a 10 s timeout, a 24 h retry window, backoff from 1 s doubling to 10
        /// minutes, 32 messages in flight.
        public init(
            timeoutMs: Int = 10_000,
            retry: RetryPolicy = RetryPolicy(),
            maxConcurrentDeliveries: Int = 32,
            maxConcurrentPerEndpoint: Int? = nil,
            pollInterval: Duration = .seconds(5),
            userAgent: String = DeliveryService.userAgent,
            now: @escaping @Sendable () -> Date = { Date() },
            sleep: (@Sendable (Date) async throws -> Void)? = nil,
            random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
            owner: String = "local",
            lease: TimeInterval? = nil
        ) {
            self.owner = owner
            self.lease = max(lease ?? DeliveryService.defaultLease(timeoutMs: timeoutMs), Double(max(1, timeoutMs)) / 1000 + 1)
            self.timeoutMs = max(1, timeoutMs)
            self.retry = retry
            self.maxConcurrentDeliveries = max(1, maxConcurrentDeliveries)
            self.maxConcurrentPerEndpoint = min(
                max(1, maxConcurrentPerEndpoint ?? DeliveryService.defaultPerEndpoint(maxConcurrentDeliveries)),
                self.maxConcurrentDeliveries
            )
            self.sleep = sleep ?? { date in try await DeliveryService.sleep(max(0, date.timeIntervalSince(now()))) }
            self.pollInterval = pollInterval
            self.userAgent = userAgent
            self.now = now
            self.random = random
        }

        /// Settings from the configuration's `delivery` section (`timeoutMs`, `retryWindowSeconds`), other values
        /// at their defaults.
        public init(
            configuration: Configuration.DeliverySettings,
            owner: String = "local",
            lease: TimeInterval? = nil,
            pollInterval: Duration = .seconds(5),
            now: @escaping @Sendable () -> Date = { Date() },
            random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
        ) {
            self.init(
                timeoutMs: configuration.timeoutMs,
                retry: RetryPolicy(retryWindow: TimeInterval(configuration.retryWindowSeconds)),
                pollInterval: pollInterval,
                now: now,
                random: random,
                owner: owner,
                lease: lease
            )
        }
    }

    /// Half of all slots, at least one: a slow receiver never holds more than half, and a failing one holds one.
    public static func defaultPerEndpoint(_ total: Int) -> Int {
        max(1, total / 2)
    }

    /// Sleeps this many seconds in real time: the default timer's wait.
    @Sendable public static func sleep(_ seconds: TimeInterval) async throws {
        try await Task.sleep(for: .milliseconds(CheckedNumber.milliseconds(seconds)))
    }

    /// Twice the attempt timeout plus ten seconds (30 s with the default 10 s timeout).
    public static func defaultLease(timeoutMs: Int) -> TimeInterval {
        Double(max(1, timeoutMs)) / 500 + 10
    }

    /// The default `User-Agent`: `Parley/1 (outbox delivery)`.
    public static let userAgent = "Parley/1 (outbox delivery)"
}
