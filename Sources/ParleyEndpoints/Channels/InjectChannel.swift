import ParleyEngine
import ParleyRuntime

/// `POST /inject/<urlToken>` (DESIGN §5.3): runs the flow with the body as if the user sent it; the flow's
/// answer goes the endpoint's way.
public struct InjectChannel: Channel {
    public init() {}

    public var name: String { "inject" }

    public func input(_ body: JSONObjectBody, endpoint: Endpoint) throws(APIError) -> InboxRequest {
        try UserMessage(object: body.object).inbox(endpoint: endpoint, channel: name, prefix: "endpoint-inject")
    }
}

/// `POST /notify/<urlToken>` (DESIGN §5.3): the text and data go to the user's webhook as they are; the flow does
/// not run.
public struct NotifyChannel: Channel {
    public init() {}

    public var name: String { "notify" }

    public func input(_ body: JSONObjectBody, endpoint: Endpoint) throws(APIError) -> InboxRequest {
        try UserMessage(object: body.object).inbox(endpoint: endpoint, channel: name, kind: .notify, prefix: "endpoint-notify")
    }

    public func deliveries(for outcome: TurnOutcome) -> [Delivery] { AIOutputs.passThrough(outcome) }
}
