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
/// - **Isolation**: up to ``Settings/maxConcurrentDeliveries`` messages of different sessions are in flight, at most
///   ``Settings/maxConcurrentPerEndpoint`` of one endpoint; a failing endpoint is held back and probed with one
///   message at a time, so a slow or dead receiver holds only its own endpoint back.
/// - **Outcomes**: `2xx` delivers; connection errors, timeouts, `408`, `429` and `5xx` are retried with the
///   ``RetryPolicy`` (honouring `Retry-After` on `429`/`503`); `410 Gone` pauses the endpoint (its messages are kept
///   until it is resumed); a message older than its endpoint's `expireSeconds` (by default the retry window) becomes
///   a dead letter with reason `expired`, as do other answers and messages without a usable target
///   (`parley outbox retry` re-drives them).
/// - **Signatures**: with the endpoint's `webhook.signingSecret`, every request carries Standard Webhooks headers.
/// - **Privacy**: logs carry the idempotency key, endpoint, destination, status and error, never a body or a secret.
///
/// The decisions live in ``StateMachine`` (DeliveryService+StateMachine.swift); this actor is its one driver.
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
    /// What is in flight and what may go next: every decision of the loop (DeliveryService+StateMachine.swift).
    private var machine: StateMachine
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
        self.machine = StateMachine(
            limits: .init(
                total: settings.maxConcurrentDeliveries,
                perEndpoint: settings.maxConcurrentPerEndpoint,
                endpointBackoff: RetryPolicy(baseDelay: settings.retry.baseDelay, maxDelay: min(settings.retry.maxDelay, 30))
            )
        )
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
        logger.info(
            "delivery started",
            metadata: [
                "parley.delivery.max_in_flight": "\(settings.maxConcurrentDeliveries)",
                "parley.delivery.max_in_flight_per_endpoint": "\(settings.maxConcurrentPerEndpoint)",
            ]
        )
        let continuation = wakeContinuation
        await withGracefulShutdownHandler {
            await drive(.continuously)
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

    /// Delivers every message that is due now and returns how many it took (attempted or expired); each message is
    /// taken at most once per call (a failed one is scheduled for later), but a session's next message goes as soon
    /// as the one before it is delivered. For tests and the command line; ``run()`` does this continuously. Returns 0
    /// once the service's own client is shut down.
    @discardableResult
    public func deliverDue() async -> Int {
        guard !clientShutDown else { return 0 }
        return await drive(.once)
    }

    /// Shuts down the HTTP client the service created; an injected client is left to its owner. Idempotent;
    /// ``run()`` calls it when it returns. Call it when using only ``deliverDue()``.
    public func shutdown() async throws {
        guard ownsClient, !clientShutDown else { return }
        clientShutDown = true
        try await client.shutdown()
    }

    // MARK: The driver

    /// How long the driver goes on.
    private enum Mode {
        /// Until the wake-ups end (graceful shutdown): ``run()``.
        case continuously
        /// Until nothing due now is left that it has not taken: ``deliverDue()``.
        case once
    }

    /// The one delivery loop: claims what the state machine allows, performs its actions in child tasks, and waits,
    /// either for the next wake-up (a commit, a finished delivery, the timer) or, in a single pass, for one of its
    /// deliveries to finish. Returns how many messages it took.
    @discardableResult
    private func drive(_ mode: Mode) async -> Int {
        if mode == .continuously { wake() }
        var taken = Set<Int64>()
        var wakeups = self.wakeups.makeAsyncIterator()
        let (finished, finishedContinuation) = AsyncStream.makeStream(of: Void.self)
        var finishedEvents = finished.makeAsyncIterator()
        return await withDiscardingTaskGroup { group in
            var running = 0
            while true {
                // Read the horizon before claiming: anything due by then is claimed now (or is in flight or held),
                // anything later gets the timer.
                var horizon: Date?
                var failed = false
                do {
                    if mode == .continuously { horizon = try await store.nextDueDate() }
                } catch {
                    logger.error("cannot read the outbox", metadata: ["error": "\(error)"])
                    failed = true
                }
                let claimedAt = settings.now()
                if !failed {
                    do {
                        for action in try await claim(now: claimedAt, skipping: mode == .once ? taken : []) {
                            taken.insert(action.messageId)
                            running += 1
                            group.addTask {
                                await self.perform(action)
                                finishedContinuation.yield()
                            }
                        }
                    } catch {
                        logger.error("cannot read the outbox", metadata: ["error": "\(error)"])
                        failed = true
                    }
                }
                switch mode {
                case .once:
                    guard running > 0 else { return taken.count }
                    _ = await finishedEvents.next(isolation: self)
                    running -= 1
                case .continuously:
                    let now = settings.now()
                    let pollInterval = Self.seconds(settings.pollInterval)
                    arm(
                        at: failed
                            ? now.addingTimeInterval(1)
                            : machine.wakeDate(now: now, horizon: horizon, claimedAt: claimedAt, pollInterval: pollInterval)
                    )
                    guard await wakeups.next(isolation: self) != nil else { return taken.count }
                }
            }
        }
    }

    /// Wakes the loop at `date` (by the injected clock), replacing the previous timer.
    private func arm(at date: Date) {
        timer?.cancel()
        let continuation = wakeContinuation
        let sleep = settings.sleep
        timer = Task {
            try? await sleep(date)
            if !Task.isCancelled { continuation.yield() }
        }
    }

    private static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }

    // MARK: Claiming and finishing

    /// Claims what the state machine has room for and returns what to do with each claimed message.
    private func claim(now: Date, skipping: Set<Int64>) async throws -> [StateMachine.Action] {
        guard let claim = machine.beginClaim(now: now, skipping: skipping) else { return [] }
        let messages: [OutgoingMessage]
        do {
            messages = try await store.claimMessages(
                owner: settings.owner,
                now: now,
                until: now.addingTimeInterval(settings.lease),
                limit: claim.fetch,
                excluding: claim.excluding
            )
        } catch {
            machine.cancelClaim(claim)
            throw error
        }
        let (actions, passedOver) = machine.endClaim(claim, messages: messages, now: now, skipping: skipping) { message in
            expiry(of: endpoints(message.key.endpoint))
        }
        if !passedOver.isEmpty {
            do {
                try await store.releaseMessageClaims(owner: settings.owner, ids: passedOver)
            } catch {
                logger.warning("cannot release claims; they end with their lease", metadata: ["error": "\(error)"])
            }
        }
        return actions
    }

    private func finish(_ message: OutgoingMessage, outcome: StateMachine.Outcome) {
        machine.finish(message, outcome: outcome, now: settings.now())
        wake()
    }

    // MARK: One delivery

    /// Performs one action of the state machine and reports its outcome back.
    private nonisolated func perform(_ action: StateMachine.Action) async {
        switch action {
        case .send(let message):
            await finish(message, outcome: await attempt(message))
        case .expire(let message, let age, let limit):
            await finish(message, outcome: await expire(message, age: age, limit: limit))
        }
    }

    /// The metadata of every log line about a message: its idempotency key, endpoint, destination and attempt.
    private nonisolated func logger(for message: OutgoingMessage, attempt: Int) -> Logger {
        var logger = self.logger
        logger[metadataKey: "parley.idempotency_key"] = "\(message.idempotencyKey)"
        logger[metadataKey: "parley.endpoint"] = "\(message.key.endpoint)"
        logger[metadataKey: "parley.destination"] = "\(message.destination)"
        logger[metadataKey: "parley.attempt"] = "\(attempt)"
        return logger
    }

    /// Makes a message that waited too long a dead letter without sending it.
    private nonisolated func expire(_ message: OutgoingMessage, age: TimeInterval, limit: TimeInterval) async -> StateMachine.Outcome {
        guard let id = message.id else { return .done }
        let logger = logger(for: message, attempt: message.attempts)
        let now = settings.now()
        let error = DeliveryError.stale(age: age, limit: limit, attempts: message.attempts, last: message.lastError)
        do {
            try await store.markDead(id: id, attempts: message.attempts, error: error.message, at: now)
            metrics.record(.dead, attemptNanoseconds: 0, lagSeconds: nil)
            logger.error("delivery expired, dead letter", metadata: ["error": "\(error.message)"])
            return .done
        } catch {
            logger.error("cannot record a delivery outcome; the message stays pending", metadata: ["error": "\(error)"])
            return .unrecorded
        }
    }

    /// One HTTP attempt and the store's record of what came of it.
    private nonisolated func attempt(_ message: OutgoingMessage) async -> StateMachine.Outcome {
        guard let id = message.id else { return .done }
        let attempts = message.attempts + 1
        let logger = logger(for: message, attempt: attempts)
        let endpoint = endpoints(message.key.endpoint)

        let started = ContinuousClock.now
        let result: AttemptResult
        switch Self.target(of: message, endpoint: endpoint) {
        case .failure(let error):
            result = .failed(error, retryAfter: nil)
        case .success(let target):
            let request = Self.request(
                for: message,
                to: target,
                userAgent: settings.userAgent,
                signingSecrets: endpoint?.webhook?.signingSecrets ?? [],
                timestamp: settings.now()
            )
            result = await Self.send(request, client: client, settings: settings)
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
                return .delivered
            case .failed(let error, _) where error.status == 410:
                // The receiver is gone: keep the message (first in its session's order) and pause the endpoint
                // until an operator resumes it.
                let reason = "gone: the \(message.destination) receiver answered 410 Gone"
                let paused = try await store.pauseEndpoint(message.key.endpoint, reason: reason, at: now)
                try await store.scheduleRetry(id: id, attempts: message.attempts, nextAttemptAt: now, error: "\(error.message) (endpoint paused)")
                metrics.record(.paused, attemptNanoseconds: elapsed, lagSeconds: nil)
                if paused {
                    logger.warning(
                        "endpoint paused: its messages are kept until it is resumed (parley outbox resume --endpoint NAME)",
                        metadata: ["http.status": "410", "parley.pause_reason": "\(reason)"]
                    )
                }
                return .paused
            case .failed(let error, let retryAfter):
                let limit = expiry(of: endpoint)
                if error.isRetryable, message.age(at: now) < limit {
                    let delay = retryAfter ?? settings.retry.backoff(attempt: attempts, random: settings.random())
                    let next = now.addingTimeInterval(delay)
                    try await store.scheduleRetry(id: id, attempts: attempts, nextAttemptAt: next, error: error.message)
                    metrics.record(.retry, attemptNanoseconds: elapsed, lagSeconds: nil)
                    logger.warning(
                        "delivery failed, will retry",
                        metadata: ["error": "\(error.message)", "parley.retry_in_seconds": "\(delay)"].merging(Self.statusMetadata(error)) { $1 }
                    )
                    return .retry(at: next)
                }
                let final = error.isRetryable ? DeliveryError.expired(after: error, attempts: attempts, window: limit) : error
                try await store.markDead(id: id, attempts: attempts, error: final.message, at: now)
                metrics.record(.dead, attemptNanoseconds: elapsed, lagSeconds: nil)
                logger.error("delivery failed, dead letter", metadata: ["error": "\(final.message)"].merging(Self.statusMetadata(error)) { $1 })
                return .done
            }
        } catch {
            logger.error("cannot record a delivery outcome; the message stays pending", metadata: ["error": "\(error)"])
            return .unrecorded
        }
    }

    /// How long a message of `endpoint` may wait: its `webhook.expireSeconds`, else the retry window.
    private nonisolated func expiry(of endpoint: Endpoint?) -> TimeInterval {
        endpoint?.webhook?.expireSeconds.map(TimeInterval.init) ?? settings.retry.retryWindow
    }

    private static func statusMetadata(_ error: DeliveryError) -> Logger.Metadata {
        error.status.map { ["http.status": "\($0)"] } ?? [:]
    }
}
