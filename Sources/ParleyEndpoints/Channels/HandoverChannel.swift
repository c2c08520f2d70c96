import ParleyEngine
import ParleyFlows
import ParleyRuntime

/// The agent side of a handover (DESIGN §5.4): `POST /handover/<urlToken>/message` delivers an agent's message to
/// the user (`source: "agent"`), `POST /handover/<urlToken>/end` resumes the flow; while a human has the
/// conversation, the user's messages are forwarded to `handover.url` (or, without one, to the webhook).
public struct HandoverChannel: Channel {
    public init() {}

    public var name: String { "agent" }

    /// An agent's message: `{userId, sessionId, text, data?}`, `text` required.
    public func input(_ body: JSONObjectBody, endpoint: Endpoint) throws(APIError) -> InboxRequest {
        let message = try UserMessage(object: body.object)
        guard let text = message.text, !text.isEmpty else { throw .invalidField("text", "is required for an agent's message") }
        var request = message.inbox(endpoint: endpoint, channel: name, kind: .agentMessage, prefix: "endpoint-agentMessage")
        request.payload.text = text
        return request
    }

    public func deliveries(for outcome: TurnOutcome) -> [Delivery] { AIOutputs.passThrough(outcome) }

    /// A user's message while the conversation is handed over: to `handover.url`, or without one to the webhook
    /// as `AIOutput {text: null, source: "user", data: {handover: {status: "active", userMessage}}}`. A REST caller
    /// sent the message itself, so it gets no copy.
    static func forward(_ outcome: TurnOutcome, pushesToUser: Bool) -> [Delivery] {
        let endpoint = outcome.endpoint
        let input = outcome.input
        guard endpoint.handover != nil else {
            guard pushesToUser, endpoint.webhook != nil else { return [] }
            let message: JSONValue = ["text": .string(input.text), "data": .object(input.data)]
            let body = AIOutputs.message(
                text: nil,
                data: ["handover": ["status": "active", "userMessage": message]],
                input: input,
                endpoint: endpoint,
                source: "user"
            )
            return [Delivery(destination: .webhook, body: body)]
        }
        let body: JSONValue = [
            "userId": .string(input.userId), "sessionId": .string(input.sessionId), "endpoint": .string(endpoint.name),
            "text": .string(input.text), "data": .object(input.data), "source": "user", "traceId": .string(input.traceId),
        ]
        return [Delivery(destination: .handover, body: body)]
    }

    /// The handover request of a turn that handed over, for `handover.url`:
    /// `{userId, sessionId, endpoint, text, data, transcript}`. Without a handover URL the request travels in the
    /// outputs instead (``AIOutputs/outputs(of:)``).
    static func requests(_ outcome: TurnOutcome) -> [Delivery] {
        guard outcome.endpoint.handover != nil, let request = outcome.handoverRequest else { return [] }
        var transcript: [JSONValue] = []
        func add(_ input: Input, outputs: [Output]) {
            if input.handover == nil, !input.text.isEmpty || !input.data.isEmpty {
                transcript.append(["source": "user", "text": .string(input.text), "data": .object(input.data)])
            }
            for output in outputs {
                transcript.append(["source": "bot", "text": .string(output.text ?? ""), "data": output.data ?? .emptyObject])
            }
        }
        for entry in outcome.history where entry.traceId != outcome.input.traceId {
            add(entry.input, outputs: entry.outputs)
        }
        add(outcome.input, outputs: outcome.turn.outputs)
        let body: JSONValue = [
            "userId": .string(outcome.input.userId), "sessionId": .string(outcome.input.sessionId), "endpoint": .string(outcome.endpoint.name),
            "text": request.text.map(JSONValue.string) ?? .null, "data": request.data ?? .emptyObject, "transcript": .array(transcript),
        ]
        return [Delivery(destination: .handover, body: body)]
    }
}

/// `POST /handover/<urlToken>/end`: `{userId, sessionId, status: completed|cancelled|error}` resumes the flow
/// after the handover node.
public struct HandoverEndChannel: Channel {
    public init() {}

    public var name: String { "handover" }

    public func input(_ body: JSONObjectBody, endpoint: Endpoint) throws(APIError) -> InboxRequest {
        let object = body.object
        let (userId, sessionId) = try UserMessage.session(object)
        guard let text = object["status"]?.stringValue, let status = HandoverEnd.Status(rawValue: text) else {
            throw .invalidField("status", "must be completed, cancelled or error")
        }
        return InboxRequest(
            endpoint: endpoint.name,
            userId: userId,
            sessionId: sessionId,
            kind: .handoverEnd,
            payload: InboxPayload(channel: name, handover: status),
            traceIdPrefix: "endpoint-handoverEnd"
        )
    }
}
