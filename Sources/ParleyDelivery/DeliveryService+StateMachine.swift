import Foundation
import ParleyStore

extension DeliveryService {
    /// The delivery loop's decisions, with no I/O and no clock of its own: which messages may be claimed, which
    /// claimed ones go and which have expired, what an attempt's outcome changes, and when the loop must look again.
    ///
    /// ``DeliveryService`` owns one and drives it: it asks ``beginClaim(now:skipping:)`` what to claim, claims it from
    /// the store, hands the result to ``endClaim(_:messages:now:skipping:expiry:)`` and performs the actions it
    /// returns, reports each attempt's outcome to ``finish(_:outcome:now:)``, and sleeps until
    /// ``wakeDate(now:horizon:claimedAt:pollInterval:)``. The rules it keeps (DESIGN §6):
    ///
    /// - **Order**: never two messages of one session in flight; the store offers only each session's oldest
    ///   pending message.
    /// - **Isolation**: at most ``Limits/perEndpoint`` messages of one endpoint in flight, so a slow receiver holds
    ///   only that many slots of ``Limits/total``; an endpoint whose receiver failed is held back (a backoff per
    ///   endpoint, doubling up to ``Limits/endpointBackoff``'s cap) and then probed with one message at a time until
    ///   one is delivered, so a dead receiver costs one attempt per backoff instead of one per session.
    /// - **Expiry**: a claimed message older than its endpoint's `expireSeconds` (not counting the time the endpoint
    ///   was paused) is not sent but made a dead letter.
    ///
    /// ```swift
    /// var machine = DeliveryService.StateMachine(limits: .init(total: 32, perEndpoint: 8))
    /// if let claim = machine.beginClaim(now: now) {
    ///     let due = try await store.claimMessages(owner: "a", now: now, until: lease, limit: claim.fetch, excluding: claim.excluding)
    ///     for action in machine.endClaim(claim, messages: due, now: now, expiry: { _ in 86_400 }).actions { ... }
    /// }
    /// machine.finish(message, outcome: .delivered, now: now)
    /// ```
    struct StateMachine: Sendable {
        /// How much may be in flight.
        struct Limits: Sendable, Hashable {
            /// Messages in flight at once, over all endpoints.
            var total: Int
            /// Messages of one endpoint in flight at once.
            var perEndpoint: Int
            /// How long an endpoint whose receiver failed is held back: the shortest `backoff(attempt: n)` after n
            /// failures in a row (jitter-free: the machine draws no random numbers). The service uses its retry
            /// policy's base delay, capped at 30 s, so a receiver that is back is found within 30 s.
            var endpointBackoff: RetryPolicy

            init(total: Int, perEndpoint: Int, endpointBackoff: RetryPolicy = RetryPolicy(baseDelay: 0.5, maxDelay: 30)) {
                self.total = max(1, total)
                self.perEndpoint = min(max(1, perEndpoint), max(1, total))
                self.endpointBackoff = endpointBackoff
            }
        }

        /// A claim the driver is to make: up to ``limit`` messages, reading ``fetch`` candidates (some may be
        /// skipped), none of the endpoints in ``excluding``.
        struct Claim: Sendable, Hashable {
            /// Releases counted when the claim began: a session released after that may still show its delivered
            /// message in the claim's read.
            let ticket: UInt64
            let limit: Int
            let fetch: Int
            let excluding: Set<String>
        }

        /// What to do with a claimed message.
        enum Action: Sendable, Hashable {
            /// Attempt it.
            case send(OutgoingMessage)
            /// Make it a dead letter with reason `expired`, unsent: it is older than its endpoint allows.
            case expire(OutgoingMessage, age: TimeInterval, limit: TimeInterval)

            /// The id of the message it is about.
            var messageId: Int64 {
                switch self {
                case .send(let message), .expire(let message, _, _): message.id ?? -1
                }
            }
        }

        /// What the store now knows about a message that was in flight.
        enum Outcome: Sendable, Hashable {
            /// Delivered: the endpoint's receiver works.
            case delivered
            /// A retryable failure, scheduled again for this date: the endpoint's receiver is failing.
            case retry(at: Date)
            /// A dead letter (a permanent failure, an expired message), or abandoned at shutdown.
            case done
            /// The receiver answered `410 Gone` and the endpoint is paused in the store; the message stays pending.
            case paused
            /// The store could not record the outcome (it is failing): the session is left alone for 1 s, doubling
            /// with every such outcome in a row up to 30 s, so a broken store does not make a receiver get the same
            /// message every second.
            case unrecorded
        }

        let limits: Limits
        /// Sessions with a message in flight, and that message's id.
        private(set) var inFlight: [SessionKey: Int64] = [:]
        /// Messages in flight per endpoint.
        private(set) var inFlightByEndpoint: [String: Int] = [:]
        /// Failed attempts in a row per endpoint; zero (absent) once one is delivered.
        private(set) var failures: [String: Int] = [:]
        /// Endpoints held back after a failure, until this date.
        private(set) var heldUntil: [String: Date] = [:]
        /// Sessions whose outcome could not be recorded, left alone until then.
        private var coolingDown: [SessionKey: Date] = [:]
        /// Outcomes the store could not record in a row, per session.
        private(set) var unrecordedInARow: [SessionKey: Int] = [:]
        /// Retry dates scheduled by this machine's deliveries: the loop wakes for them.
        private var retryDates: [Date] = []
        private var releases: UInt64 = 0
        private var releasedDuringClaims: [SessionKey: UInt64] = [:]
        private var activeClaims = 0

        init(limits: Limits) {
            self.limits = limits
        }

        /// True when nothing is in flight.
        var isIdle: Bool { inFlight.isEmpty }

        /// How many messages of `endpoint` may be in flight now: one (a probe) while its receiver is failing.
        func capacity(of endpoint: String) -> Int {
            failures[endpoint, default: 0] > 0 ? 1 : limits.perEndpoint
        }

        /// The claim to make now, or nil when every slot is taken. `skipping` are ids the caller will not attempt
        /// again (a ``DeliveryService/deliverDue()`` pass attempts each message once), read past like the rest.
        mutating func beginClaim(now: Date, skipping: Set<Int64> = []) -> Claim? {
            coolingDown = coolingDown.filter { $0.value > now }
            heldUntil = heldUntil.filter { $0.value > now }
            let free = limits.total - inFlight.count
            guard free > 0 else { return nil }
            var excluding = Set(heldUntil.keys)
            for (endpoint, count) in inFlightByEndpoint where count >= capacity(of: endpoint) {
                excluding.insert(endpoint)
            }
            activeClaims += 1
            return Claim(ticket: releases, limit: free, fetch: free + inFlight.count + skipping.count + coolingDown.count, excluding: excluding)
        }

        /// Takes the claimed messages that may go (their session has nothing in flight, their endpoint has room) and
        /// marks them in flight; returns what to do with each, and the ids it passed over only for want of room
        /// (the claim's limit or their endpoint's share), which the driver releases so another instance may take
        /// them at once. Messages passed over for other reasons (their session is busy, a stale read) stay as they
        /// are.
        ///
        /// - Parameter expiry: the longest a message may wait, in seconds (its endpoint's `expireSeconds`, else the
        ///   retry window).
        mutating func endClaim(
            _ claim: Claim,
            messages: [OutgoingMessage],
            now: Date,
            skipping: Set<Int64> = [],
            expiry: (OutgoingMessage) -> TimeInterval
        ) -> (actions: [Action], passedOver: [Int64]) {
            defer { finishClaim() }
            var actions: [Action] = []
            var passedOver: [Int64] = []
            for message in messages {
                guard let id = message.id, inFlight[message.key] == nil, !skipping.contains(id), coolingDown[message.key] == nil
                else { continue }
                if let released = releasedDuringClaims[message.key], released > claim.ticket { continue }
                guard actions.count < claim.limit, !claim.excluding.contains(message.key.endpoint),
                    inFlightByEndpoint[message.key.endpoint, default: 0] < capacity(of: message.key.endpoint)
                else {
                    passedOver.append(id)
                    continue
                }
                inFlight[message.key] = id
                inFlightByEndpoint[message.key.endpoint, default: 0] += 1
                let limit = expiry(message)
                let age = message.age(at: now)
                actions.append(age >= limit ? .expire(message, age: age, limit: limit) : .send(message))
            }
            return (actions, passedOver)
        }

        /// Ends a claim that failed (the store could not be read).
        mutating func cancelClaim(_ claim: Claim) {
            finishClaim()
        }

        private mutating func finishClaim() {
            activeClaims -= 1
            if activeClaims == 0 { releasedDuringClaims.removeAll() }
        }

        /// Records the outcome of a message that was in flight and frees its slot.
        mutating func finish(_ message: OutgoingMessage, outcome: Outcome, now: Date) {
            let endpoint = message.key.endpoint
            guard inFlight[message.key] == message.id else { return }
            inFlight[message.key] = nil
            let remaining = inFlightByEndpoint[endpoint, default: 1] - 1
            inFlightByEndpoint[endpoint] = remaining > 0 ? remaining : nil
            releases += 1
            if activeClaims > 0 { releasedDuringClaims[message.key] = releases }
            if outcome != .unrecorded { unrecordedInARow[message.key] = nil }
            switch outcome {
            case .delivered:
                failures[endpoint] = nil
                heldUntil[endpoint] = nil
            case .retry(let date):
                let count = failures[endpoint, default: 0] + 1
                failures[endpoint] = count
                heldUntil[endpoint] = now.addingTimeInterval(limits.endpointBackoff.backoff(attempt: count, random: 0))
                retryDates.append(date)
            case .done, .paused:
                break
            case .unrecorded:
                let count = unrecordedInARow[message.key, default: 0] + 1
                unrecordedInARow[message.key] = count
                let until = now.addingTimeInterval(min(30, pow(2, Double(min(count, 6) - 1))))
                coolingDown[message.key] = until
                retryDates.append(until)
            }
        }

        /// When the loop must look at the outbox again: at the latest after `pollInterval`; sooner for the store's
        /// next due date (`horizon`, when it is later than the last claim: an earlier one is in flight or held), a
        /// retry this machine scheduled, or the end of an endpoint's hold.
        mutating func wakeDate(now: Date, horizon: Date?, claimedAt: Date, pollInterval: TimeInterval) -> Date {
            retryDates.removeAll { $0 <= now }
            var next = now.addingTimeInterval(pollInterval)
            if let horizon, horizon > claimedAt { next = min(next, horizon) }
            if let retry = retryDates.min() { next = min(next, retry) }
            if let held = heldUntil.values.min() { next = min(next, max(held, now)) }
            return next
        }
    }
}
