import ParleyEngine
import ParleyFlows
import ParleyRuntime

/// `type: rest` (DESIGN §5.2): the webhook's request, answered synchronously with the turn's outputs. The outputs of
/// a turn no request waits for (the turn after a handover ends, an inject, a turn that finished after its request
/// got `504`) are delivered to the endpoint's `webhook.url` when it has one, as a webhook endpoint's are (issue 26);
/// handover traffic is delivered as on any endpoint.
public struct RESTChannel: AnsweringChannel {
    public init() {}

    public var name: String { "rest" }
    public var pushesToUser: Bool { false }

    public func input(_ body: JSONObjectBody, endpoint: Endpoint) throws(APIError) -> InboxRequest {
        try UserMessage(object: body.object).inbox(endpoint: endpoint, channel: name)
    }

    public func replies(to outcome: TurnOutcome) -> [Delivery] {
        guard !outcome.awaited, outcome.endpoint.webhook != nil else { return [] }
        return AIOutputs.webhook(AIOutputs.outputs(of: outcome), outcome: outcome, source: "bot")
    }

    /// The synchronous answer: `{"text","data","outputStack","userId","sessionId"}`, `text` the output texts
    /// joined with a space, `data` their data merged (last wins).
    public func answer(to outcome: TurnOutcome) -> JSONValue {
        let stack = AIOutputs.outputs(of: outcome).map {
            AIOutputs.message(text: $0.text, data: $0.data, input: outcome.input, endpoint: outcome.endpoint, source: "bot")
        }
        var texts: [String] = []
        var data: [String: JSONValue] = [:]
        for item in stack {
            if let text = item["AIOutput"]?["text"]?.stringValue, !text.isEmpty { texts.append(text) }
            for (key, value) in item["AIOutput"]?["data"]?.objectValue ?? [:] { data[key] = value }
        }
        return [
            "text": .string(texts.joined(separator: " ")), "data": .object(data), "outputStack": .array(stack.compactMap { $0["AIOutput"] }),
            "userId": .string(outcome.input.userId), "sessionId": .string(outcome.input.sessionId),
        ]
    }
}
