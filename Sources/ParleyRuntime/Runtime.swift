import Foundation
import ParleyEngine
import ParleyFlows
import ParleyStore

/// The one place where adapters meet the engine and the store (DESIGN §9, layer 4).
///
/// - ``accept(_:)`` stores an input durably and returns its trace id; nothing is lost once it returns.
/// - ``processPending()`` runs every accepted input as a turn: strictly in arrival order per session, sessions
///   concurrently, and commits the new session, the transcript entry and the outgoing messages in one
///   transaction before anything is sent (commit-then-send). After a crash, inputs whose turn was not committed
///   are still pending and run again; committed ones never run twice.
/// - Sessions expire after the endpoint's `sessionTTLMinutes` of inactivity; profiles persist.
/// - Sessions are pinned to the flow hash they started on; older flow versions are kept in the store.
public actor Runtime {
    /// What the runtime needs besides its collaborators. Everything non-deterministic is injected.
    public struct Settings: Sendable {
        public var engine: EngineConfiguration
        /// The clock the accept time (`input.currentTime`) and message times come from.
        public var now: @Sendable () -> Date
        /// Makes trace ids unique; receives the adapter's prefix.
        public var traceId: @Sendable (String) -> String
        /// Called at named points (`accepted`, `turn`, `committed`): crash drills stop the process there.
        public var failpoint: @Sendable (String) -> Void
        /// How many sessions run turns at the same time.
        public var maxConcurrentSessions: Int
        /// Called after every committed turn that enqueued messages: wakes the delivery loop.
        public var onCommit: @Sendable () -> Void
        /// Called with the time each turn took, from reading the session to the commit (metrics).
        public var observeTurn: @Sendable (Duration) -> Void
        /// Called after a commit that changed a copilot workspace, with the new workspace (live updates).
        public var onWorkspace: @Sendable (SessionKey, JSONValue) -> Void
        /// Performs the effects turns need: the deployment's connections (``EffectExecutor``), or none.
        public var effects: any EffectPerformer
        /// Called when an input's turn failed: with true when it is now dead, false when it will be retried.
        public var onInputFailure: @Sendable (Bool) -> Void
        /// Who this runtime claims sessions as: unique among the instances sharing a store (DESIGN §6).
        public var owner: String
        /// How long a claim on a session lasts without renewal; claims are renewed every third of it while turns
        /// run, so only an instance that stopped loses them, and its sessions move on once the lease has passed.
        public var inboxLease: Duration
        /// How failed inputs are retried before they are dead.
        public var poison: PoisonPolicy

        /// - Parameter maxConcurrentSessions: how many sessions run turns at once. A turn that waits for an effect
        ///   holds its place without using a core, so the default is large: a hundred sessions each waiting a second
        ///   on a model take about a second, not a hundred (DESIGN §3.1).
        public init(
            engine: EngineConfiguration = EngineConfiguration(),
            now: @escaping @Sendable () -> Date = { Date() },
            traceId: @escaping @Sendable (String) -> String = { "\($0)-\(UUID().uuidString.lowercased())" },
            failpoint: @escaping @Sendable (String) -> Void = { _ in },
            maxConcurrentSessions: Int = 256,
            onCommit: @escaping @Sendable () -> Void = {},
            observeTurn: @escaping @Sendable (Duration) -> Void = { _ in },
            onWorkspace: @escaping @Sendable (SessionKey, JSONValue) -> Void = { _, _ in },
            effects: any EffectPerformer = NoConnections(),
            onInputFailure: @escaping @Sendable (Bool) -> Void = { _ in },
            owner: String = "local",
            inboxLease: Duration = .seconds(30),
            poison: PoisonPolicy = PoisonPolicy()
        ) {
            self.engine = engine
            self.now = now
            self.traceId = traceId
            self.failpoint = failpoint
            self.maxConcurrentSessions = max(1, maxConcurrentSessions)
            self.onCommit = onCommit
            self.observeTurn = observeTurn
            self.onWorkspace = onWorkspace
            self.effects = effects
            self.onInputFailure = onInputFailure
            self.owner = owner
            self.inboxLease = max(inboxLease, .milliseconds(300))
            self.poison = poison
        }
    }

    private let store: any Store
    private let router: any OutputRouter
    private let settings: Settings
    private var endpoints: [String: Endpoint]
    private var current: Engine
    private var versions: [String: Engine] = [:]
    private var running: Set<SessionKey> = []
    /// Sessions this runtime claimed and has not released: running or about to run. Only these claims are renewed.
    private var held: Set<SessionKey> = []
    private var draining = false
    private var wakeUp: AsyncStream<Void>.Continuation?
    /// Callers of ``acceptAndWait(_:timeout:)`` by trace id.
    private var waiters: [String: CheckedContinuation<TurnOutcome, any Error>] = [:]
    /// Each waiter's timeout, cancelled when the turn answers first: left to sleep out the whole timeout, one task per
    /// REST request made the server's memory grow with its request rate (`Benchmarks/footprint`).
    private var timeouts: [String: Task<Void, Never>] = [:]
    /// Whether work arrived that no drain has looked at yet, and the drain waiting for it (``waitForArrival()``).
    private var arrived = false
    /// Waiters whose turn is being committed (``claimWaiter(_:)``): no longer timed out.
    private var claimed: Set<String> = []
    private var arrivalWaiter: CheckedContinuation<Void, Never>?

    public init(store: any Store, flows: FlowSet, endpoints: [Endpoint], router: any OutputRouter, settings: Settings = Settings()) {
        self.store = store
        self.router = router
        self.settings = settings
        self.endpoints = Dictionary(endpoints.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.current = Engine(flows: flows, configuration: settings.engine)
        self.versions[flows.contentHash] = current
    }

    /// The hash of the flows new sessions start on.
    public var flowHash: String { current.flows.contentHash }

    /// Keeps the current flow files in the store, so sessions pinned to them can finish after a reload, and
    /// publishes them: every instance sharing the store starts new sessions on them (DESIGN §6).
    public func saveFlowVersion(files: [String: String]) async throws {
        let now = settings.now()
        try await store.saveFlowVersion(FlowVersion(hash: current.flows.contentHash, files: files, createdAt: now))
        try await store.publishFlows(hash: current.flows.contentHash, at: now)
    }

    /// Switches new sessions to other flows and publishes them to the other instances; running sessions finish on
    /// the version they started with.
    public func reload(flows: FlowSet, files: [String: String]) async throws {
        let engine = Engine(flows: flows, configuration: settings.engine)
        let now = settings.now()
        try await store.saveFlowVersion(FlowVersion(hash: flows.contentHash, files: files, createdAt: now))
        try await store.publishFlows(hash: flows.contentHash, at: now)
        versions[flows.contentHash] = engine
        current = engine
    }

    /// Starts new sessions on the flow version another instance published, when it differs from the current one
    /// and still serves every endpoint; returns the hash switched to, or nil when nothing changed.
    ///
    /// - Throws: when the store cannot be read, or the published version cannot be loaded or does not serve the
    ///   endpoints (the current flows keep serving).
    public func adoptPublishedFlows(serves: @Sendable (FlowSet) -> Bool) async throws -> String? {
        guard let published = try await store.publishedFlows(), published != current.flows.contentHash else { return nil }
        guard let engine = try await engine(for: published) else {
            throw RuntimeError(code: "unknown_flow_version", message: "the published flow version \(published) is not stored or does not load")
        }
        guard serves(engine.flows) else {
            throw RuntimeError(code: "flows_do_not_serve", message: "the published flow version \(published) does not serve this deployment")
        }
        current = engine
        return published
    }

    // MARK: Accepting

    /// Stores an input durably and returns it with its id and trace id. The turn runs later, in order.
    @discardableResult
    public func accept(_ request: InboxRequest) async throws -> InboxEntry {
        guard endpoints[request.endpoint] != nil else { throw RuntimeError.unknownEndpoint(request.endpoint) }
        let traceId = request.traceId ?? settings.traceId(request.traceIdPrefix)
        let entry = InboxEntry(
            traceId: traceId,
            key: SessionKey(endpoint: request.endpoint, userId: request.userId, sessionId: request.sessionId),
            kind: request.kind.rawValue,
            payload: request.payload.canonicalJSON,
            acceptedAt: settings.now()
        )
        let stored = try await store.accept(entry)
        settings.failpoint("accepted")
        wakeUp?.yield()
        noteArrival()
        return stored
    }

    /// Tells ``run(retryInterval:)`` to look for work now: dead inputs were re-driven.
    public func wake() {
        wakeUp?.yield()
        noteArrival()
    }

    /// New work arrived: a drain in progress (``processPending()``) claims it at once instead of after one of its
    /// running turns ends.
    private func noteArrival() {
        if let waiter = arrivalWaiter {
            arrivalWaiter = nil
            waiter.resume()
        } else {
            arrived = true
        }
    }

    /// Returns when work arrived since the last call (at once if it did meanwhile), or when the task is cancelled.
    private func waitForArrival() async {
        if arrived {
            arrived = false
            return
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume()
                } else {
                    arrivalWaiter = continuation
                }
            }
        } onCancel: {
            Task { await self.stopWaitingForArrival() }
        }
    }

    private func stopWaitingForArrival() {
        arrivalWaiter?.resume()
        arrivalWaiter = nil
    }

    /// Accepts an input and waits until its turn is committed: the REST endpoint's synchronous answer.
    ///
    /// The input is stored first, like any other; if the turn does not commit within `timeout` the call throws
    /// ``RuntimeError/turnTimeout`` and the input still runs later.
    public func acceptAndWait(_ request: InboxRequest, timeout: Duration = .seconds(30)) async throws -> TurnOutcome {
        var request = request
        let traceId = request.traceId ?? settings.traceId(request.traceIdPrefix)
        request.traceId = traceId
        // The waiter is registered before the input is stored: a turn loop running meanwhile may commit the turn
        // before this call would otherwise get to register, and the answer must not be missed.
        return try await withCheckedThrowingContinuation { continuation in
            waiters[traceId] = continuation
            Task {
                do {
                    try await self.accept(request)
                } catch {
                    self.resolve(traceId, with: .failure(error))
                }
            }
            timeouts[traceId] = Task {
                do {
                    try await Task.sleep(for: timeout)
                } catch {
                    return  // cancelled: the turn answered
                }
                self.resolve(traceId, with: .failure(RuntimeError.turnTimeout))
            }
        }
    }

    /// Whether a request waits for the turn of `traceId`; if one does, its timeout is cancelled, since the turn is
    /// about to commit and answer it (``failWaiter(_:)`` answers it when the turn fails instead).
    private func claimWaiter(_ traceId: String) -> Bool {
        guard waiters[traceId] != nil else { return false }
        timeouts.removeValue(forKey: traceId)?.cancel()
        claimed.insert(traceId)
        return true
    }

    /// A claimed turn did not commit: its request gets `turn_timeout` at once (the input runs again later, and its
    /// outputs then go where an unawaited turn's go). A request whose turn failed before it was claimed keeps
    /// waiting: a retry within its timeout still answers it.
    private func failWaiter(_ traceId: String) {
        guard claimed.contains(traceId) else { return }
        resolve(traceId, with: .failure(RuntimeError.turnTimeout))
    }

    private func resolve(_ traceId: String, with result: Result<TurnOutcome, any Error>) {
        claimed.remove(traceId)
        timeouts.removeValue(forKey: traceId)?.cancel()
        waiters.removeValue(forKey: traceId)?.resume(with: result)
    }

    // MARK: Processing

    /// Runs every pending input until none is left: sessions in parallel, each session's inputs in order.
    ///
    /// Sessions are claimed from the store (DESIGN §6: with PostgreSQL, other instances claim too) with their
    /// pending inputs; each claimed session goes to one task, at most ``Settings/maxConcurrentSessions`` at a time,
    /// and is released when its inputs are done. Inputs that arrive meanwhile are claimed when the batches run out.
    /// A store failure leaves the session's remaining inputs pending for the next call; an input that fails for
    /// another reason is retried with backoff, then dead (``PoisonPolicy``).
    public func processPending() async {
        if draining { return }
        draining = true
        defer { draining = false }
        var failed: Set<SessionKey> = []
        let limit = settings.maxConcurrentSessions
        arrived = false
        await withTaskGroup(of: DrainEvent.self) { group in
            var queue: [[InboxEntry]] = []
            var next = 0
            var active = 0
            var watching = false
            while true {
                if next == queue.count {
                    queue = await claimBatches(free: limit - active, excluding: failed)
                    next = 0
                    if queue.isEmpty, active == 0 { break }
                }
                while active < limit, next < queue.count {
                    let batch = queue[next]
                    next += 1
                    guard let key = batch.first?.key else { continue }
                    running.insert(key)
                    active += 1
                    group.addTask { await self.runTurns(batch, of: key) }
                }
                // Inputs that arrive while turns run are claimed as they come, not when one of those turns ends: a
                // turn waiting a minute on a model must not hold a new session back that long.
                if !watching, active < limit {
                    watching = true
                    group.addTask {
                        await self.waitForArrival()
                        return .arrived
                    }
                }
                guard active > 0, let event = await group.next() else { continue }
                switch event {
                case .arrived:
                    watching = false
                case .finished(let key, let didFail):
                    active -= 1
                    running.remove(key)
                    held.remove(key)
                    if didFail { failed.insert(key) }
                    try? await store.releaseInboxClaim(owner: settings.owner, session: key)
                }
            }
            group.cancelAll()
        }
    }

    /// Claims sessions with due inputs, grouped by session in order of their oldest input; sessions that are
    /// running here or failed in this round are left out (and given back when this runtime does not run them).
    private func claimBatches(free: Int, excluding failed: Set<SessionKey>) async -> [[InboxEntry]] {
        guard free > 0 else { return [] }
        let now = settings.now()
        let claimed: [[InboxEntry]]
        do {
            claimed = try await store.claimInbox(
                owner: settings.owner,
                now: now,
                until: now.addingTimeInterval(Self.seconds(settings.inboxLease)),
                // Sessions this runtime runs are not offered again (it holds them); failed ones may be, and are given back.
                sessions: free + failed.count,
                inputsPerSession: 100
            )
        } catch {
            return []
        }
        var batches: [[InboxEntry]] = []
        for batch in claimed {
            guard let key = batch.first?.key, !running.contains(key) else { continue }
            if failed.contains(key) || batches.count == free {
                try? await store.releaseInboxClaim(owner: settings.owner, session: key)
                continue
            }
            batches.append(batch)
            held.insert(key)
        }
        return batches
    }

    /// Processes inputs as they arrive, and looks for inputs claimable again (retries, other instances' expired
    /// claims, inputs accepted elsewhere) every `retryInterval`, until ``stop()``. Meanwhile renews this runtime's
    /// claims every third of the lease.
    public func run(retryInterval: Duration = .seconds(1)) async {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        wakeUp = continuation
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: retryInterval)
                continuation.yield()
            }
        }
        let store = self.store
        let settings = self.settings
        // Claims of this owner's previous life (a restart with the same instance id) are given up at once: nothing
        // runs under them any more.
        try? await store.renewInboxClaims(owner: settings.owner, until: Date(timeIntervalSince1970: 0))
        let renewal = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: settings.inboxLease / 3)
                let until = settings.now().addingTimeInterval(Self.seconds(settings.inboxLease))
                // Only the sessions held here: a claim whose answer was lost (a broken connection) lapses.
                try? await store.renewInboxClaims(owner: settings.owner, sessions: await self.held, until: until)
            }
        }
        continuation.yield()
        for await _ in stream {
            await processPending()
        }
        ticker.cancel()
        renewal.cancel()
        wakeUp = nil
    }

    /// Ends ``run()`` once the turns in progress are committed.
    public func stop() {
        wakeUp?.finish()
    }

    /// Runs a session's inputs in order. Not isolated to the actor: sessions run their turns in parallel, and
    /// only the lookups of endpoints and flow versions go through the actor.
    ///
    /// An input whose turn fails is retried later (its session waits, in order) or, once the policy gives up, left
    /// dead while the session's next inputs run. A store that cannot be reached, or a claim taken over by another
    /// instance, ends the batch with the inputs left pending.
    nonisolated private func runTurns(_ entries: [InboxEntry], of key: SessionKey) async -> DrainEvent {
        for entry in entries {
            do {
                try await runTurn(entry)
            } catch let error as StoreError where error.isAlreadyDone {
                await failWaiter(entry.traceId)
                // Another instance committed it after its claim expired, or it was erased: nothing left to do.
                continue
            } catch let error as StoreError where error.isUnavailable || error.isClaimLost {
                await failWaiter(entry.traceId)
                return .finished(key, failed: true)
            } catch {
                await failWaiter(entry.traceId)
                guard let id = entry.id else { return .finished(key, failed: true) }
                let attempts = entry.attempts + 1
                let now = settings.now()
                let retryAt = settings.poison.retryDate(afterAttempt: attempts, now: now)
                do {
                    try await store.failInput(id: id, attempts: attempts, error: "\(error)", at: now, retryAt: retryAt)
                } catch {
                    return .finished(key, failed: true)
                }
                settings.onInputFailure(retryAt == nil)
                // A dead input no longer holds its session back; one waiting for its retry holds it, in order.
                if retryAt != nil { return .finished(key, failed: false) }
            }
        }
        return .finished(key, failed: false)
    }

    /// What a drain's task group reports: a session's batch ended, or new work arrived.
    private enum DrainEvent: Sendable {
        case finished(SessionKey, failed: Bool)
        case arrived
    }

    private static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }

    /// The shell of a turn: loads what the plan needs, performs the effects the engine asks for, commits, wakes
    /// delivery. What to commit is ``TurnPlan``'s pure decision.
    nonisolated private func runTurn(_ entry: InboxEntry) async throws {
        guard let id = entry.id else { return }
        guard let endpoint = await endpoint(named: entry.key.endpoint) else {
            throw PoisonInput("the endpoint '\(entry.key.endpoint)' is not configured")
        }
        let started = ContinuousClock.now
        let payload: InboxPayload
        do {
            payload = InboxPayload(json: try JSONValue.parse(entry.payload))
        } catch {
            throw PoisonInput("the input's payload does not parse: \(error)")
        }
        let (stored, profileText) = try await store.turnState(entry.key)
        let profile = profileText.flatMap { try? JSONValue.parse($0) }?.objectValue ?? [:]
        settings.failpoint("turn")

        let previous = try await restore(stored, endpoint: endpoint, acceptedAt: entry.acceptedAt)
        let input = TurnPlan.input(entry: entry, payload: payload, endpoint: endpoint, session: previous.session)
        let action = TurnAction(kind: entry.kind, handedOver: previous.session.isHandedOver)
        var effects: [EffectRecord] = []
        let turn: Turn
        if action.runsEngine {
            turn = await run(input, session: previous.session, profile: profile, engine: previous.engine, effects: &effects)
        } else {
            turn = TurnPlan.turn(for: action, input: input, session: previous.session, profile: profile)
        }
        var outcome = TurnOutcome(action: action, endpoint: endpoint, input: input, before: previous.session, turn: turn)
        // A waiting request takes this turn's answer; from here on it no longer times out, and it is answered (or
        // failed) once the turn is committed (or is not).
        outcome.awaited = await claimWaiter(entry.traceId)
        if outcome.handsOver {
            outcome.history = try await store.transcript(entry.key).compactMap { try? TranscriptEntry(json: JSONValue.parse($0.entry)) }
        }
        if router.needsSessionStorage(endpoint) {
            outcome.sessionStorage = try await store.sessionStorage(entry.key).flatMap { try? JSONValue.parse($0) }
        }
        // handleOutput transformers run JavaScript: off the cooperative threads, as the engine does.
        let routed = await ScriptWork.run { [router, outcome] in router.route(outcome) }
        var workspace: (live: JSONValue, stored: JSONValue)?
        if router.changesWorkspace(outcome) {
            let before = try await store.workspace(entry.key).flatMap { try? JSONValue.parse($0) }
            workspace = router.workspace(after: outcome, previous: before)
        }
        let commit = TurnPlan.commit(
            inboxId: id,
            entry: entry,
            outcome: outcome,
            profileBefore: profile,
            effects: effects,
            deliveries: routed.deliveries,
            workspace: workspace?.stored,
            sessionStorage: routed.sessionStorage,
            now: settings.now()
        )
        var owned = commit
        owned.owner = settings.owner
        try await store.commit(owned)
        settings.failpoint("committed")
        settings.observeTurn(ContinuousClock.now - started)
        if !commit.messages.isEmpty { settings.onCommit() }
        if let workspace { settings.onWorkspace(entry.key, workspace.live) }
        await resolve(entry.traceId, with: .success(outcome))
    }

    /// Runs the engine, performing each effect it waits for; the session waits alone, other sessions' turns go on.
    /// The turn commits once, after its last effect: a crash during an effect repeats the effect on restart, with
    /// the same `Idempotency-Key`.
    nonisolated private func run(
        _ input: Input,
        session: Session,
        profile: [String: JSONValue],
        engine: Engine,
        effects: inout [EffectRecord]
    ) async -> Turn {
        var progress: TurnProgress
        do {
            progress = try await ScriptWork.run { try engine.start(input, session: session, profile: profile) }
        } catch {
            // The session does not fit the flows it was restored with: record the failure, keep the session.
            let failure = TurnError(message: "\(error)", address: nil)
            return Turn(session: session, profile: profile, outputs: [], events: [.error(failure)], trace: [])
        }
        while true {
            switch progress {
            case .finished(let turn):
                return turn
            case .waiting(let effect, let pending):
                let performed = await settings.effects.perform(effect, traceId: input.traceId)
                effects.append(performed.record)
                progress = await ScriptWork.run { pending.resume(with: performed.result) }
            }
        }
    }

    private func endpoint(named name: String) -> Endpoint? { endpoints[name] }

    /// The session an input continues: the stored one, unless it expired or its flows are gone; else a new one.
    ///
    /// - Throws: ``PoisonInput`` when the stored session, still current, no longer decodes: starting over would
    ///   silently lose the conversation, so the input waits (and dies) instead (DESIGN §6, *Poison inputs*).
    private func restore(_ stored: StoredSession?, endpoint: Endpoint, acceptedAt: Date) async throws -> (session: Session, engine: Engine) {
        if let stored, acceptedAt.timeIntervalSince(stored.updatedAt) <= Double(endpoint.sessionTTLMinutes * 60) {
            let session: Session
            do {
                session = try Session(json: try JSONValue.parse(stored.state))
            } catch {
                throw PoisonInput("the stored session \(stored.key) no longer decodes: \(error)")
            }
            if let engine = try await engine(for: session.flowHash) {
                return (session, engine)
            }
        }
        return (try current.startSession(flow: endpoint.flow), current)
    }

    /// The engine for a flow hash: the current flows, a cached version, or one rebuilt from the store.
    private func engine(for hash: String) async throws -> Engine? {
        if let engine = versions[hash] { return engine }
        guard let flows = try await store.flowVersion(hash: hash)?.flowSet else { return nil }
        let engine = Engine(flows: flows, configuration: settings.engine)
        versions[hash] = engine
        return engine
    }

    /// ISO 8601 with milliseconds, UTC: the form `input.currentTime` takes (`2025-01-01T12:00:00.000Z`).
    ///
    /// Computed from the Unix time with the proleptic Gregorian calendar; a date formatter costs more to create
    /// than a whole turn without JavaScript.
    public static func timestamp(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        var days = milliseconds >= 0 ? milliseconds / 86_400_000 : (milliseconds - 86_399_999) / 86_400_000
        let inDay = milliseconds - days * 86_400_000
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(inDay / 3_600_000, 2)):\(pad(inDay / 60_000 % 60, 2))"
            + ":\(pad(inDay / 1000 % 60, 2)).\(pad(inDay % 1000, 3))Z"
    }
}

/// Runtime failures with a stable code.
public struct RuntimeError: Error, Sendable, Hashable, CustomStringConvertible {
    public let code: String
    public let message: String

    public static func unknownEndpoint(_ name: String) -> RuntimeError {
        RuntimeError(code: "unknown_endpoint", message: "there is no endpoint '\(name)'")
    }

    /// The turn of an ``Runtime/acceptAndWait(_:timeout:)`` call did not commit in time.
    public static let turnTimeout = RuntimeError(code: "turn_timeout", message: "the turn did not finish in time")

    public var description: String { "\(code): \(message)" }
}
