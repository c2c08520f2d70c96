import ParleyEngine
import ParleyRuntime

/// `type: webhook` (DESIGN §5.1): `{userId, sessionId, text?, data?}` in, each output POSTed to `webhook.url`.
public struct WebhookChannel: EndpointChannel {
    public init() {}

    public var name: String { "webhook" }
    public var pushesToUser: Bool { true }

    public func input(_ body: JSONObjectBody, endpoint: Endpoint) throws(APIError) -> InboxRequest {
        try UserMessage(object: body.object).inbox(endpoint: endpoint, channel: name)
    }

    public func replies(to outcome: TurnOutcome) -> [Delivery] {
        guard outcome.endpoint.webhook != nil else { return [] }
        return AIOutputs.webhook(AIOutputs.outputs(of: outcome), outcome: outcome, source: "bot")
    }
}
