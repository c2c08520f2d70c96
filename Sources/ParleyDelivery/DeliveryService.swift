import AsyncHTTPClient
import Foundation
import Logging
import ParleyFlows
import ParleyRuntime
import ParleyStore
import ServiceLifecycle

/// Delivers the outbox: POSTs every committed outgoing message to its endpoint's `webhook` or `handover` URL, in
/// order per session, at least once, with retries and dead letters (DESIGN §6).
///
/// A swift-service-lifecycle `Service`: add it to the server's `ServiceGroup`. ``run()`` sleeps until the next
/// message is due (or until ``wake()``, which the runtime's `onCommit` calls after a turn enqueued messages) and
/// stops starting deliveries on graceful shutdown, letting the ones in flight finish; whatever is not delivered
/// stays pending in the store for the next start.
///
/// - **Order**: the store offers only each session's oldest pending message, and the service never has two
///   messages of one session in flight, so a session's messages arrive one after the other, in commit order.
/// - **Concurrency**: up to ``Settings/maxConcurrentDeliveries`` messages of different sessions are in flight;
///   each finished delivery immediately makes room for the next due one, so a slow or dead receiver holds only its
///   own sessions back.
/// - **Outcomes**: `2xx` delivers; connection errors, timeouts, `408`, `429` and `5xx` are retried with the
///   ``RetryPolicy`` (honouring `Retry-After` on `429`/`503`) until the retry window has passed; other answers and
///   messages without a usable target become dead letters (`parley outbox retry` re-drives them).
/// - **Privacy**: logs carry the idempotency key, endpoint, destination, status and error, never a body.
///
/// ```swift
/// let delivery = DeliveryService(store: store, endpoints: configuration.endpoints,
///                                settings: .init(configuration: configuration.delivery))
/// let runtime = Runtime(store: store, flows: flows, endpoints: configuration.endpoints, router: router,
///                       settings: .init(onCommit: { delivery.wake() }))
/// let group = ServiceGroup(services: [server, delivery], gracefulShutdownSignals: [.sigterm], logger: logger)
/// ```
public actor DeliveryService: Service {
    private enum State {
        case idle, running, stopped
    }

    private let store: any Store
    private let endpoints: @Sendable (String) -> Endpoint?
    private let settings: Settings
    private let client: HTTPClient
    private let ownsClient: Bool
    private let logger: Logger
    private let metrics: DeliveryMetrics
    private let wakeups: AsyncStream<Void>
    private let wakeContinuation: AsyncStream<Void>.Continuation

    private var state = State.idle
    private var clientShutDown = false
    /// Sessions with a message in flight, and that message's id: never two of one session.
    private var inFlight: [SessionKey: Int64] = [:]
    /// Counts releases, so a claim can tell which sessions were released while it read the store: its read may
    /// predate the release's write and still show the message just delivered.
    private var releases: UInt64 = 0
    private var releasedDuringClaims: [SessionKey: UInt64] = [:]
    private var activeClaims = 0
    /// Sessions whose outcome could not be recorded (the store failed): left alone until then.
    private var coolingDown: [SessionKey: Date] = [:]
    /// Deliveries started by ``run()`` and not finished.
    private var loopRunning = 0
    /// Retry dates this service scheduled: ``run()`` wakes for them even while other deliveries are in flight.
    private var knownRetryDates: [Date] = []
    private var timer: Task<Void, Never>?

    /// A service delivering the messages of `store`, looking endpoints up by name at each attempt (so a
    /// configuration reload can swap them).
    ///
    /// - Parameters:
    ///   - httpClient: a client to use and leave open; when nil the service creates one with
    ///     ``httpClientConfiguration(_:)`` and shuts it down when ``run()`` returns or on ``shutdown()``.
    ///   - logger: where delivery outcomes are logged (never bodies).
    public init(
        store: any Store,
        endpoints: @escaping @Sendable (String) -> Endpoint?,
        settings: Settings = Settings(),
        httpClient: HTTPClient? = nil,
        logger: Logger = Logger(label: "parley.delivery")
    ) {
        self.store = store
        self.endpoints = endpoints
        self.settings = settings
        if let httpClient {
            self.client = httpClient
            self.ownsClient = false
        } else {
            self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: Self.httpClientConfiguration(settings))
            self.ownsClient = true
        }
        self.logger = logger
        self.metrics = DeliveryMetrics()
        (self.wakeups, self.wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// A service for a fixed list of endpoints.
    public init(
        store: any Store,
        endpoints: [Endpoint],
        settings: Settings = Settings(),
        httpClient: HTTPClient? = nil,
        logger: Logger = Logger(label: "parley.delivery")
    ) {
        let byName = Dictionary(endpoints.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.init(store: store, endpoints: { byName[$0] }, settings: settings, httpClient: httpClient, logger: logger)
    }

    // MARK: Running

    /// Tells ``run()`` to look at the outbox now: new messages were committed or dead letters re-driven.
    ///
    /// Cheap and callable from anywhere (it only signals); wake-ups that arrive while the service is busy fold into
    /// one.
    public nonisolated func wake() {
        wakeContinuation.yield()
    }

    /// Delivers until graceful shutdown or cancellation, then waits for the deliveries in flight (each bounded by
    /// the timeout) and shuts down an owned HTTP client. A service runs once; a second call returns at once.
    public func run() async throws {
        guard state == .idle else { return }
        state = .running
        logger.info("delivery started", metadata: ["parley.delivery.max_in_flight": "\(settings.maxConcurrentDeliveries)"])
        let continuation = wakeContinuation
        await withGracefulShutdownHandler {
            await loop()
        } onGracefulShutdown: {
            continuation.finish()
        }
        state = .stopped
        timer?.cancel()
        timer = nil
        continuation.finish()
        logger.info("delivery stopped")
        try await shutdown()
    }

    /// Delivers every message that is due now and returns how many attempts it made; each message is attempted at
    /// most once per call (a failed one is scheduled for later), but a session's next message goes as soon as the
    /// one before it is delivered. For tests and the command line; ``run()`` does this continuously. Returns 0 once
    /// the service's own client is shut down.
    @discardableResult
    public func deliverDue() async -> Int {
        guard !clientShutDown else { return 0 }
        var attempted = Set<Int64>()
        let capacity = settings.maxConcurrentDeliveries
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            while true {
                if running < capacity {
                    do {
                        for message in try await claim(limit: capacity - running, skipping: attempted) {
                            if let id = message.id { attempted.insert(id) }
                            running += 1
                            group.addTask { await self.deliver(message, fromLoop: false) }
                        }
                    } catch {
                        logger.error("cannot read the outbox", metadata: ["error": "\(error)"])
                    }
                }
                if running == 0 { break }
                await group.next()
                running -= 1
            }
        }
        pruneRetryDates(now: settings.now())
        return attempted.count
    }

    /// Shuts down the HTTP client the service created; an injected client is left to its owner. Idempotent;
    /// ``run()`` calls it when it returns. Call it when using only ``deliverDue()``.
    public func shutdown() async throws {
        guard ownsClient, !clientShutDown else { return }
        clientShutDown = true
        try await client.shutdown()
    }

    // MARK: The loop

    private func loop() async {
        wake()
        await withDiscardingTaskGroup { group in
            for await _ in wakeups {
                // Read the horizon before claiming: anything due by then is claimed now (or is in flight), anything
                // later gets the timer.
                let horizon: Date?
                do {
                    horizon = try await store.nextDueDate()
                } catch {
                    logger.error("cannot read the outbox", metadata: ["error": "\(error)"])
                    arm(at: settings.now().addingTimeInterval(1))
                    continue
                }
                let claimedAt = settings.now()
                let free = settings.maxConcurrentDeliveries - loopRunning
                if free > 0 {
                    do {
                        for message in try await claim(limit: free) {
                            loopRunning += 1
                            group.addTask { await self.deliver(message, fromLoop: true) }
                        }
                    } catch {
                        logger.error("cannot read the outbox", metadata: ["error": "\(error)"])
                        arm(at: settings.now().addingTimeInterval(1))
                        continue
                    }
                }
                let now = settings.now()
                pruneRetryDates(now: now)
                var next = now.addingTimeInterval(Self.seconds(settings.pollInterval))
                if let horizon, horizon > claimedAt { next = min(next, horizon) }
                if let retry = knownRetryDates.min() { next = min(next, retry) }
                arm(at: next)
            }
        }
    }

    /// Wakes the loop at `date` (by the injected clock's reckoning, slept in real time), replacing the previous timer.
    private func arm(at date: Date) {
        timer?.cancel()
        let delay = max(0, date.timeIntervalSince(settings.now()))
        let continuation = wakeContinuation
        timer = Task {
            try? await Task.sleep(for: .milliseconds(CheckedNumber.milliseconds(delay)))
            if !Task.isCancelled { continuation.yield() }
        }
    }

    private func pruneRetryDates(now: Date) {
        knownRetryDates.removeAll { $0 <= now }
    }

    private static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }

    // MARK: Claiming and releasing sessions

    /// Takes up to `limit` due messages of sessions with nothing in flight and marks those sessions in flight.
    private func claim(limit: Int, skipping attempted: Set<Int64> = []) async throws -> [OutgoingMessage] {
        guard limit > 0 else { return [] }
        let releasesBefore = releases
        activeClaims += 1
        defer {
            activeClaims -= 1
            if activeClaims == 0 { releasedDuringClaims.removeAll() }
        }
        let now = settings.now()
        coolingDown = coolingDown.filter { $0.value > now }
        let due = try await store.claimMessages(
            owner: settings.owner,
            now: now,
            until: now.addingTimeInterval(settings.lease),
            limit: limit + inFlight.count + attempted.count + coolingDown.count
        )
        var batch: [OutgoingMessage] = []
        for message in due where batch.count < limit {
            guard let id = message.id, inFlight[message.key] == nil, !attempted.contains(id), coolingDown[message.key] == nil else { continue }
            if let released = releasedDuringClaims[message.key], released > releasesBefore { continue }
            inFlight[message.key] = id
            batch.append(message)
        }
        return batch
    }

    private func release(_ message: OutgoingMessage, after outcome: RecordedOutcome, fromLoop: Bool) {
        inFlight[message.key] = nil
        releases += 1
        if activeClaims > 0 { releasedDuringClaims[message.key] = releases }
        switch outcome {
        case .done: break
        case .retry(let date): knownRetryDates.append(date)
        case .unrecorded(let until):
            coolingDown[message.key] = until
            knownRetryDates.append(until)
        }
        if fromLoop { loopRunning -= 1 }
        wake()
    }

    // MARK: One delivery

    /// What the store now knows about an attempted message.
    private enum RecordedOutcome: Sendable {
        /// Delivered, dead, or abandoned at shutdown.
        case done
        /// Scheduled for another attempt at this date.
        case retry(Date)
        /// The store could not record the outcome: leave the session alone until this date.
        case unrecorded(until: Date)
    }

    private nonisolated func deliver(_ message: OutgoingMessage, fromLoop: Bool) async {
        let outcome = await attempt(message)
        await release(message, after: outcome, fromLoop: fromLoop)
    }

    private nonisolated func attempt(_ message: OutgoingMessage) async -> RecordedOutcome {
        guard let id = message.id else { return .done }
        let attempts = message.attempts + 1
        var logger = self.logger
        logger[metadataKey: "parley.idempotency_key"] = "\(message.idempotencyKey)"
        logger[metadataKey: "parley.endpoint"] = "\(message.key.endpoint)"
        logger[metadataKey: "parley.destination"] = "\(message.destination)"
        logger[metadataKey: "parley.attempt"] = "\(attempts)"

        let started = ContinuousClock.now
        let result: AttemptResult
        switch Self.target(of: message, endpoint: endpoints(message.key.endpoint)) {
        case .failure(let error):
            result = .failed(error, retryAfter: nil)
        case .success(let target):
            result = await Self.send(Self.request(for: message, to: target, userAgent: settings.userAgent), client: client, settings: settings)
        }
        let (seconds, attoseconds) = (ContinuousClock.now - started).components
        let elapsed = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        let now = settings.now()

        do {
            switch result {
            case .abandoned:
                logger.debug("delivery abandoned: the service is stopping")
                return .done
            case .delivered(let status):
                try await store.markDelivered(id: id, at: now)
                metrics.record(.delivered, attemptNanoseconds: elapsed, lagSeconds: now.timeIntervalSince(message.createdAt))
                logger.debug("delivered", metadata: ["http.status": "\(status)"])
                return .done
            case .failed(let error, let retryAfter):
                if error.isRetryable, !settings.retry.isExpired(createdAt: message.createdAt, now: now) {
                    let delay = retryAfter ?? settings.retry.backoff(attempt: attempts, random: settings.random())
                    let next = now.addingTimeInterval(delay)
                    try await store.scheduleRetry(id: id, attempts: attempts, nextAttemptAt: next, error: error.message)
                    metrics.record(.retry, attemptNanoseconds: elapsed, lagSeconds: nil)
                    logger.warning(
                        "delivery failed, will retry",
                        metadata: ["error": "\(error.message)", "parley.retry_in_seconds": "\(delay)"].merging(Self.statusMetadata(error)) { $1 }
                    )
                    return .retry(next)
                }
                let final = error.isRetryable ? DeliveryError.expired(after: error, attempts: attempts, window: settings.retry.retryWindow) : error
                try await store.markDead(id: id, attempts: attempts, error: final.message, at: now)
                metrics.record(.dead, attemptNanoseconds: elapsed, lagSeconds: nil)
                logger.error("delivery failed, dead letter", metadata: ["error": "\(final.message)"].merging(Self.statusMetadata(error)) { $1 })
                return .done
            }
        } catch {
            logger.error("cannot record a delivery outcome; the message stays pending", metadata: ["error": "\(error)"])
            return .unrecorded(until: now.addingTimeInterval(1))
        }
    }

    private static func statusMetadata(_ error: DeliveryError) -> Logger.Metadata {
        error.status.map { ["http.status": "\($0)"] } ?? [:]
    }
}
