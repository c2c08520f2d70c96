import ParleyEngine
import ParleyFlows
import ParleyStore

/// Turns what a turn produced into HTTP deliveries. Adapters implement it (DESIGN §9: each adapter maps its wire
/// format to and from the runtime's types); the runtime stores what it returns in the outbox with the turn.
public protocol OutputRouter: Sendable {
    /// The deliveries of a committed turn, in the order they must arrive.
    func deliveries(for outcome: TurnOutcome) -> [Delivery]

    /// The session's voice copilot workspace after the turn, given the one before (nil: none yet); nil when the
    /// endpoint keeps no workspace. It is committed with the turn.
    func workspace(after outcome: TurnOutcome, previous: JSONValue?) -> JSONValue?
}

extension OutputRouter {
    public func workspace(after outcome: TurnOutcome, previous: JSONValue?) -> JSONValue? { nil }
}

/// Everything a router may look at.
public struct TurnOutcome: Sendable {
    /// What the turn did with its input, decided once by the runtime.
    public var action: TurnAction
    public var endpoint: Endpoint
    /// The input as the engine saw it.
    public var input: Input
    /// The session before the turn (was it handed over?).
    public var before: Session
    public var turn: Turn
    /// The session's earlier turns, loaded only when the turn hands over (the handover request carries them).
    public var history: [TranscriptEntry]

    public init(action: TurnAction, endpoint: Endpoint, input: Input, before: Session, turn: Turn, history: [TranscriptEntry] = []) {
        self.action = action
        self.endpoint = endpoint
        self.input = input
        self.before = before
        self.turn = turn
        self.history = history
    }

    /// True when the turn handed the conversation to a human.
    public var handsOver: Bool {
        turn.events.contains { if case .handover = $0 { true } else { false } }
    }
}

/// One HTTP body for one destination.
public struct Delivery: Sendable, Hashable {
    /// Which of the endpoint's targets: `webhook` or `handover`.
    public var destination: String
    public var body: JSONValue
    /// The body carries user content that must be erased once delivered, whatever the endpoint's setting.
    public var sensitive: Bool

    public init(destination: String, body: JSONValue, sensitive: Bool = false) {
        self.destination = destination
        self.body = body
        self.sensitive = sensitive
    }
}
