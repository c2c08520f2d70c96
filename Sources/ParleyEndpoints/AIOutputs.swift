import ParleyEngine
import ParleyFlows
import ParleyRuntime

/// The Cognigy-shaped output bodies (DESIGN §5.1), shared by every channel that reaches the user's webhook.
public enum AIOutputs {
    /// `{"userId","sessionId","AIOutput":{"text","data","traceId","source","disableSensitiveLogging"},"disableSensitiveLogging"}`;
    /// `text` is `null` for a data-only output, `data` `{}` for a text-only one.
    public static func message(text: String?, data: JSONValue?, input: Input, endpoint: Endpoint, source: String) -> JSONValue {
        let sensitive = JSONValue.bool(endpoint.dataProtection.disableSensitiveLogging)
        return [
            "userId": .string(input.userId), "sessionId": .string(input.sessionId),
            "AIOutput": [
                "text": text.map(JSONValue.string) ?? .null, "data": data ?? .emptyObject, "traceId": .string(input.traceId),
                "source": .string(source),
                "disableSensitiveLogging": sensitive,
            ],
            "disableSensitiveLogging": sensitive,
        ]
    }

    /// One webhook delivery per output.
    static func webhook(_ outputs: [Output], outcome: TurnOutcome, source: String) -> [Delivery] {
        outputs.map {
            Delivery(
                destination: .webhook,
                body: message(text: $0.text, data: $0.data, input: outcome.input, endpoint: outcome.endpoint, source: source)
            )
        }
    }

    /// The turn's outputs as they reach the user. Without a handover URL, a handover is announced in the output
    /// that carries the handover text (or a data-only output) as `data.handover = {"status": "requested", ...}`.
    public static func outputs(of outcome: TurnOutcome) -> [Output] {
        var outputs = outcome.turn.outputs
        if outcome.endpoint.handover == nil, let request = outcome.handoverRequest {
            var handover = request.data?.objectValue ?? [:]
            handover["status"] = "requested"
            if let index = outputs.lastIndex(where: { request.text != nil && $0.text == request.text }) {
                var data = outputs[index].data?.objectValue ?? [:]
                data["handover"] = .object(handover)
                outputs[index].data = .object(data)
            } else {
                outputs.append(Output(text: nil, data: ["handover": .object(handover)]))
            }
        }
        return outputs
    }

    /// The text and data of a turn that only delivers (notify, an agent's message), with its `source`.
    static func passThrough(_ outcome: TurnOutcome) -> [Delivery] {
        guard case .deliver(let source) = outcome.action else { return [] }
        return webhook(outcome.turn.outputs, outcome: outcome, source: source)
    }
}

extension TurnOutcome {
    /// The handover the turn requested, if any.
    var handoverRequest: HandoverRequest? {
        for event in turn.events {
            if case .handover(let request) = event { return request }
        }
        return nil
    }

    /// The turn's copilot tile updates, in order.
    var tileUpdates: [TileUpdate] {
        turn.events.compactMap { if case .copilot(let update) = $0 { update } else { nil } }
    }
}
