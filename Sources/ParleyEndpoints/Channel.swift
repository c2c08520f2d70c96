import ParleyEngine
import ParleyFlows
import ParleyRuntime

/// One wire format of an endpoint route (DESIGN §9: an adapter only maps its format to and from the runtime's
/// types). A channel turns a checked request body into the input to store and, for the turns of its inputs that
/// do not run the flow, says what to deliver.
///
/// The server checks what every route shares (endpoint, shutdown, enabled, key, media type, size) and then hands the
/// body to the route's channel; the runtime's ``ChannelRouter`` finds the channel of a committed turn by its
/// `input.channel`. A new channel is one small type and one entry in ``ChannelDirectory``.
public protocol Channel: Sendable {
    /// The `input.channel` of the inputs this channel makes.
    var name: String { get }

    /// The input a request body stands for.
    ///
    /// - Throws: `400` errors naming the field, as DESIGN §5.1 lists them; nothing is stored then.
    func input(_ body: JSONObjectBody, endpoint: Endpoint) throws(APIError) -> InboxRequest

    /// What to deliver for a turn of this channel's input that did not run the flow (a notification, an agent's
    /// message); in order. Turns that run the flow are the endpoint channel's ``EndpointChannel/replies(to:)``.
    func deliveries(for outcome: TurnOutcome) -> [Delivery]
}

extension Channel {
    public func deliveries(for outcome: TurnOutcome) -> [Delivery] { [] }
}

/// The channel of an endpoint type (`webhook`, `rest`, `voiceCopilot`): the endpoint URL's format, and how the
/// flow's outputs reach the user.
public protocol EndpointChannel: Channel {
    /// Whether the user is reached through `webhook.url` (a REST caller gets its answer in the response).
    var pushesToUser: Bool { get }

    /// The deliveries of a turn that ran the flow, in order (handover requests are added by the router).
    func replies(to outcome: TurnOutcome) -> [Delivery]

    /// What the turn adds to the workspace's transcript besides its tile updates (the voice channel: the
    /// utterance heard); nil when nothing.
    func heard(_ outcome: TurnOutcome) -> Utterance?
}

/// A line for the workspace's transcript.
public struct Utterance: Sendable, Hashable {
    public var text: String
    public var speaker: String
    /// Interim lines replace their speaker's interim line; final ones join the transcript.
    public var final: Bool
}

extension EndpointChannel {
    public func heard(_ outcome: TurnOutcome) -> Utterance? { nil }
}

/// An endpoint channel that answers in the HTTP response, after the turn (REST): the server waits for the turn.
public protocol AnsweringChannel: EndpointChannel {
    /// The response body of a turn.
    func answer(to outcome: TurnOutcome) -> JSONValue
}

/// A request body that parsed as a JSON object.
public struct JSONObjectBody: Sendable, Hashable {
    public var object: [String: JSONValue]

    public init(_ object: [String: JSONValue]) {
        self.object = object
    }

    /// Parses raw bytes: `400 invalid_json` unless they are a JSON object.
    public init(bytes: [UInt8]) throws(APIError) {
        self.object = try UserMessage.object(bytes)
    }
}
