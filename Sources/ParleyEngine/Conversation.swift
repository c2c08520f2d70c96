import ParleyFlows

/// A conversation with one flow, driven turn by turn: what `parley chat` and conversation tests use.
///
/// It keeps the session and the profile between turns and fills in the ids, the execution count and the trace
/// id of each input; the caller gives the time, so tests stay deterministic.
///
/// ```swift
/// var chat = try Conversation(engine: Engine(flows: flows), flow: "order-status", channel: "cli")
/// let turn = try chat.send(text: "hi", currentTime: "2025-01-01T12:00:00Z")
/// for output in turn.outputs { print(output.text ?? "") }
/// ```
public struct Conversation: Sendable {
    public let engine: Engine
    /// The session after the last turn.
    public private(set) var session: Session
    /// The user's profile after the last turn.
    public var profile: [String: JSONValue]
    public var userId: String
    public var sessionId: String
    /// The input channel (`cli` for chat, `test` for conversation tests).
    public var channel: String

    /// Starts a session on `flow`; `context` is merged over the flow's default context.
    public init(
        engine: Engine,
        flow: String,
        userId: String = "user",
        sessionId: String = "session",
        channel: String = "cli",
        profile: [String: JSONValue] = [:],
        context: [String: JSONValue] = [:]
    ) throws {
        self.engine = engine
        self.session = try engine.startSession(flow: flow, context: context)
        self.profile = profile
        self.userId = userId
        self.sessionId = sessionId
        self.channel = channel
    }

    /// Sends the user's text and/or data and runs one turn; `speaker` (`customer`/`agent`) is for voice flows.
    /// `effects` answers the calls the turn makes (by default each fails: no connections).
    public mutating func send(
        text: String = "",
        data: [String: JSONValue] = [:],
        speaker: String? = nil,
        currentTime: String,
        effects: ((Effect) throws -> EffectResult)? = nil
    ) throws -> Turn {
        var input = input(text: text, data: data, currentTime: currentTime)
        input.speaker = speaker
        return try run(input, effects: effects)
    }

    /// Tells the engine the human agent ended the handover; the flow resumes after the handover node.
    public mutating func endHandover(
        _ status: HandoverEnd.Status = .completed,
        currentTime: String,
        effects: ((Effect) throws -> EffectResult)? = nil
    ) throws -> Turn {
        var input = input(text: "", data: [:], currentTime: currentTime)
        input.handover = HandoverEnd(status: status)
        return try run(input, effects: effects)
    }

    /// Runs a prepared input (its execution and trace id are filled in when left empty).
    public mutating func run(_ input: Input, effects: ((Effect) throws -> EffectResult)? = nil) throws -> Turn {
        let input = prepared(input)
        let turn =
            if let effects {
                try engine.run(input, session: session, profile: profile, effects: effects)
            } else {
                try engine.run(input, session: session, profile: profile)
            }
        record(turn)
        return turn
    }

    /// Starts a turn whose effects the caller performs (asynchronously, `parley chat --config`); hand the finished
    /// turn to ``record(_:)``.
    public func start(_ input: Input) throws -> TurnProgress {
        try engine.start(prepared(input), session: session, profile: profile)
    }

    /// Keeps the session and profile a finished turn left.
    public mutating func record(_ turn: Turn) {
        session = turn.session
        profile = turn.profile
    }

    /// An input with its execution and trace id filled in.
    public func prepared(_ input: Input) -> Input {
        var input = input
        if input.execution <= 0 { input.execution = session.executionCount + 1 }
        if input.traceId.isEmpty { input.traceId = "\(channel)-\(sessionId)-\(input.execution)" }
        return input
    }

    /// The input of a user message at `currentTime`.
    public func input(
        text: String,
        data: [String: JSONValue],
        speaker: String? = nil,
        handover: HandoverEnd.Status? = nil,
        currentTime: String
    ) -> Input {
        var input = input(text: text, data: data, currentTime: currentTime)
        input.speaker = speaker
        input.handover = handover.map(HandoverEnd.init(status:))
        return input
    }

    private func input(text: String, data: [String: JSONValue], currentTime: String) -> Input {
        Input(
            text: text,
            data: data,
            userId: userId,
            sessionId: sessionId,
            channel: channel,
            endpoint: channel,
            execution: session.executionCount + 1,
            currentTime: currentTime
        )
    }
}
