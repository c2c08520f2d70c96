import ParleyEngine
import ParleyFlows
import ParleyStore

/// Turns what a turn produced into HTTP deliveries. Adapters implement it (DESIGN §9: each adapter maps its wire
/// format to and from the runtime's types); the runtime stores what it returns in the outbox with the turn.
public protocol OutputRouter: Sendable {
    /// The deliveries of a committed turn, in the order they must arrive.
    func deliveries(for outcome: TurnOutcome) -> [Delivery]

    /// The deliveries and the session storage after the endpoint's transformer (nil: unchanged). The default is
    /// ``deliveries(for:)`` with no transformer.
    func route(_ outcome: TurnOutcome) -> RoutedTurn

    /// Whether turns of the endpoint need their session's transformer storage (``TurnOutcome/sessionStorage``).
    func needsSessionStorage(_ endpoint: Endpoint) -> Bool

    /// Whether the turn changes the session's copilot workspace (DESIGN §5.5): only then does the runtime load it.
    func changesWorkspace(_ outcome: TurnOutcome) -> Bool

    /// The session's copilot workspace after the turn, given the one before (nil: none yet): what watchers are
    /// shown (`live`) and what is committed with the turn (`stored`, masked under `disableSensitiveLogging`).
    func workspace(after outcome: TurnOutcome, previous: JSONValue?) -> (live: JSONValue, stored: JSONValue)?
}

extension OutputRouter {
    public func route(_ outcome: TurnOutcome) -> RoutedTurn { RoutedTurn(deliveries: deliveries(for: outcome)) }
    public func needsSessionStorage(_ endpoint: Endpoint) -> Bool { false }
    public func changesWorkspace(_ outcome: TurnOutcome) -> Bool { false }
    public func workspace(after outcome: TurnOutcome, previous: JSONValue?) -> (live: JSONValue, stored: JSONValue)? { nil }
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
    /// The session's transformer storage (DESIGN §5.7), loaded only when the router needs it.
    public var sessionStorage: JSONValue?
    /// Whether a request waits for this turn's answer (a REST request, ``Runtime/acceptAndWait(_:timeout:)``): when
    /// none does (a turn resumed by the end of a handover, an inject, a turn that finished after its request timed
    /// out), a REST endpoint's outputs go to its webhook instead of nowhere.
    public var awaited = false

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

/// What a router made of a turn.
public struct RoutedTurn: Sendable, Hashable {
    public var deliveries: [Delivery]
    /// The session's transformer storage when the turn changed it; committed with the turn.
    public var sessionStorage: JSONValue?

    public init(deliveries: [Delivery], sessionStorage: JSONValue? = nil) {
        self.deliveries = deliveries
        self.sessionStorage = sessionStorage
    }
}

/// One HTTP body for one destination.
public struct Delivery: Sendable, Hashable {
    /// Which of the endpoint's targets a message goes to; the outbox stores the raw value.
    public enum Destination: String, Sendable, Hashable, CaseIterable {
        /// `webhook.url`: the user's channel.
        case webhook
        /// `handover.url`: the agent side.
        case handover
    }

    public var destination: Destination
    public var body: JSONValue
    /// The body carries user content that must be erased once delivered, whatever the endpoint's setting.
    public var sensitive: Bool
    /// Why the body cannot be delivered (an output transformer failed): the message is committed as a dead letter
    /// with this reason, so it is kept, visible and re-drivable, never silently dropped.
    public var failure: String?

    public init(destination: Destination, body: JSONValue, sensitive: Bool = false, failure: String? = nil) {
        self.destination = destination
        self.body = body
        self.sensitive = sensitive
        self.failure = failure
    }
}
