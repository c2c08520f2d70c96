import Crypto
import Foundation
import ParleyFlows

/// The deterministic interpreter: `(flows, session, input) -> (session', outputs, events, trace)` (DESIGN §3).
///
/// The engine reads no clock, no randomness and no network of its own: the time, the ids and the execution
/// count come in the ``Input``, `Math.random` is seeded from (sessionId, execution), and every script runs in a
/// fresh JavaScript global object. The same arguments give the same ``Turn``, byte for byte.
///
/// ```swift
/// let engine = Engine(flows: flowSet)
/// var session = try engine.startSession(flow: "order-status")
/// let turn = try engine.run(Input(text: "hi", userId: "u1", sessionId: "s1", currentTime: "2025-01-01T12:00:00Z"),
///                           session: session, profile: [:])
/// session = turn.session
/// ```
public struct Engine: Sendable {
    /// The flows the engine runs; sessions are pinned to their content hash.
    public let flows: FlowSet
    public let configuration: EngineConfiguration
    /// The built-in intent classifier of each flow that declares intents, built once.
    let classifiers: [String: IntentClassifier]

    public init(flows: FlowSet, configuration: EngineConfiguration = EngineConfiguration()) {
        self.flows = flows
        self.configuration = configuration
        var classifiers: [String: IntentClassifier] = [:]
        for (id, flow) in flows.flows where !flow.intents.isEmpty { classifiers[id] = IntentClassifier(intents: flow.intents) }
        self.classifiers = classifiers
    }

    /// The built-in classifier of a flow's intents (`parley intents`), when it declares any.
    public func classifier(of flow: String) -> IntentClassifier? { classifiers[flow] }

    /// A new session at the start of `flow`, with the flow's default `context` (and `context` merged over it).
    public func startSession(flow id: String, context: [String: JSONValue] = [:]) throws -> Session {
        guard let flow = flows.flow(id) else { throw EngineError(.unknownFlow, "there is no flow '\(id)'") }
        return Session(flowHash: flows.contentHash, flow: id, context: flow.context.merging(context) { _, new in new })
    }

    /// Runs one turn.
    ///
    /// - Parameters:
    ///   - input: what arrived; `input.execution` 0 means "the session's count plus one".
    ///   - session: the session before the turn, pinned to ``flows``' content hash.
    ///   - profile: the user's profile before the turn.
    /// - Returns: the session and profile after the turn, and its outputs, events and trace in order.
    /// - Throws: ``EngineError`` when the session belongs to other flows; problems inside the turn are reported
    ///   in the returned events and trace instead.
    ///
    /// Effects are answered with failures ("no connections here"): `onError` paths run. Use
    /// ``run(_:session:profile:effects:)`` to answer them, or ``start(_:session:profile:)`` to perform them.
    public func run(_ input: Input, session: Session, profile: [String: JSONValue]) throws -> Turn {
        try run(input, session: session, profile: profile) { effect in
            .failure("connection '\(effect.connection)' is unknown here: no deployment connections are available")
        }
    }

    /// Runs one turn, answering each effect it needs with `answer`, in order.
    public func run(
        _ input: Input,
        session: Session,
        profile: [String: JSONValue],
        effects answer: (Effect) throws -> EffectResult
    ) throws -> Turn {
        var progress = try start(input, session: session, profile: profile)
        while true {
            switch progress {
            case .finished(let turn): return turn
            case .waiting(let effect, let pending): progress = pending.resume(with: try answer(effect))
            }
        }
    }

    /// Starts a turn that may wait for effects: the runtime performs each one and resumes the turn with its result.
    ///
    /// ```swift
    /// var progress = try engine.start(input, session: session, profile: profile)
    /// while case .waiting(let effect, let pending) = progress {
    ///     progress = pending.resume(with: await executor.perform(effect))
    /// }
    /// ```
    public func start(_ input: Input, session: Session, profile: [String: JSONValue]) throws -> TurnProgress {
        guard session.flowHash == flows.contentHash else {
            throw EngineError(.flowHashMismatch, "the session is pinned to flows \(session.flowHash), not \(flows.contentHash)")
        }
        guard flows.flow(session.flow) != nil else { throw EngineError(.unknownFlow, "there is no flow '\(session.flow)'") }
        var runner = TurnRunner(
            flows: flows,
            configuration: configuration,
            classifiers: classifiers,
            input: input,
            session: session,
            profile: profile
        )
        return PendingTurn.progress(runner.start(), runner: runner)
    }

    /// The `Math.random` seed of a turn: the first four bytes of SHA-256 over sessionId, a NUL and the execution.
    static func randomSeed(sessionId: String, execution: Int) -> UInt32 {
        let digest = Array(SHA256.hash(data: Data("\(sessionId)\u{0}\(execution)".utf8)))
        return digest.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }
}

/// Where a turn stands: finished, or waiting for an effect.
public enum TurnProgress {
    case finished(Turn)
    /// The turn needs `Effect`; resume the pending turn with its result.
    case waiting(Effect, PendingTurn)
}

/// A turn suspended at an effect (DESIGN §3.1): the engine's state for the rest of the turn, JavaScript included.
///
/// Not `Sendable`: it lives in the task that drives the turn, which resumes it once with each result.
public final class PendingTurn {
    private var runner: TurnRunner?

    private init(runner: TurnRunner) {
        self.runner = runner
    }

    static func progress(_ step: TurnRunner.Step, runner: TurnRunner) -> TurnProgress {
        switch step {
        case .finished(let turn): .finished(turn)
        case .waiting(let effect): .waiting(effect, PendingTurn(runner: runner))
        }
    }

    /// Goes on with the effect's result. A pending turn resumes once; a second call finds nothing to do.
    public func resume(with result: EffectResult) -> TurnProgress {
        guard var runner else { preconditionFailure("a pending turn resumes once") }
        self.runner = nil
        return Self.progress(runner.resume(with: result), runner: runner)
    }
}
