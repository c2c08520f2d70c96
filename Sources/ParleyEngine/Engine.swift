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

    public init(flows: FlowSet, configuration: EngineConfiguration = EngineConfiguration()) {
        self.flows = flows
        self.configuration = configuration
    }

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
    public func run(_ input: Input, session: Session, profile: [String: JSONValue]) throws -> Turn {
        guard session.flowHash == flows.contentHash else {
            throw EngineError(.flowHashMismatch, "the session is pinned to flows \(session.flowHash), not \(flows.contentHash)")
        }
        guard flows.flow(session.flow) != nil else { throw EngineError(.unknownFlow, "there is no flow '\(session.flow)'") }
        var runner = TurnRunner(flows: flows, configuration: configuration, input: input, session: session, profile: profile)
        return runner.run()
    }

    /// The `Math.random` seed of a turn: the first four bytes of SHA-256 over sessionId, a NUL and the execution.
    static func randomSeed(sessionId: String, execution: Int) -> UInt32 {
        let digest = Array(SHA256.hash(data: Data("\(sessionId)\u{0}\(execution)".utf8)))
        return digest.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }
}
