import ParleyEngine
import ParleyFlows
import ParleyRuntime
import ParleyStore

/// Maps what a turn produced to the HTTP deliveries of DESIGN §5: one webhook POST per output, handover requests
/// and forwarded user messages to the handover URL, agent messages and notifications to the user's webhook.
///
/// REST endpoints answer in the HTTP response instead (``RESTAnswer``), so only their handover traffic becomes
/// deliveries.
public struct EndpointRouter: OutputRouter {
    public init() {}

    public func deliveries(for outcome: TurnOutcome) -> [Delivery] {
        let endpoint = outcome.endpoint
        let input = outcome.input
        switch outcome.action {
        case .deliver(let source):
            return webhook(AIOutputs.messages(outcome.turn.outputs, input: input, endpoint: endpoint, source: source), endpoint: endpoint)
        case .forwardToAgent:
            // While a human has the conversation the flow does not run: the user's message goes to the agent side.
            guard endpoint.handover != nil else {
                // Without a handover URL the system that got the handover request through the webhook gets the
                // user's messages there too (DESIGN §5.4). A REST caller sent the message itself.
                guard endpoint.kind != .rest, endpoint.webhook != nil else { return [] }
                let message: JSONValue = ["text": .string(input.text), "data": .object(input.data)]
                let body = AIOutputs.message(
                    text: nil,
                    data: ["handover": ["status": "active", "userMessage": message]],
                    input: input,
                    endpoint: endpoint,
                    source: "user"
                )
                return [Delivery(destination: "webhook", body: body)]
            }
            let body: JSONValue = [
                "userId": .string(input.userId), "sessionId": .string(input.sessionId), "endpoint": .string(endpoint.name),
                "text": .string(input.text), "data": .object(input.data), "source": "user", "traceId": .string(input.traceId),
            ]
            return [Delivery(destination: "handover", body: body)]
        case .interim, .unknown:
            return []
        case .runFlow:
            var deliveries: [Delivery] = []
            if endpoint.kind != .rest, endpoint.webhook != nil {
                deliveries += webhook(AIOutputs.forTurn(outcome), endpoint: endpoint)
            }
            if endpoint.kind == .voiceCopilot, endpoint.webhook != nil {
                // A copy of every tile update for the agent desktop: AIOutput with data.copilot.
                for event in outcome.turn.events {
                    guard case .copilot(let update) = event else { continue }
                    let body = AIOutputs.message(
                        text: update.fields["text"]?.stringValue,
                        data: ["copilot": update.json],
                        input: input,
                        endpoint: endpoint,
                        source: "bot"
                    )
                    deliveries.append(Delivery(destination: "webhook", body: body))
                }
            }
            if endpoint.handover != nil, let request = outcome.handoverRequest {
                deliveries.append(Delivery(destination: "handover", body: AIOutputs.handoverBody(request, outcome: outcome)))
            }
            return deliveries
        }
    }

    /// Voice copilot endpoints keep a workspace: the utterance joins the transcript (or its interim line), then
    /// the turn's tile updates apply in order.
    public func workspace(after outcome: TurnOutcome, previous: JSONValue?) -> JSONValue? {
        guard outcome.endpoint.kind == .voiceCopilot else { return nil }
        var workspace = Workspace(json: previous)
        let input = outcome.input
        let heard: Bool
        switch outcome.action {
        case .interim: heard = true
        case .runFlow, .forwardToAgent: heard = input.handover == nil
        case .deliver, .unknown: heard = false
        }
        if heard, !input.text.isEmpty {
            workspace.hear(input.text, speaker: input.speaker ?? "customer", final: outcome.action != .interim)
        }
        for event in outcome.turn.events {
            if case .copilot(let update) = event { workspace.apply(update, at: input.currentTime) }
        }
        return workspace.json
    }

    private func webhook(_ bodies: [JSONValue], endpoint: Endpoint) -> [Delivery] {
        bodies.map { Delivery(destination: "webhook", body: $0) }
    }
}

/// The Cognigy-shaped output bodies (DESIGN §5.1).
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

    static func messages(_ outputs: [Output], input: Input, endpoint: Endpoint, source: String) -> [JSONValue] {
        outputs.map { message(text: $0.text, data: $0.data, input: input, endpoint: endpoint, source: source) }
    }

    /// The turn's outputs as bodies. Without a handover URL, a handover is announced in the output that carries
    /// the handover text (or a data-only output) as `data.handover = {"status": "requested", ...node data}`.
    public static func forTurn(_ outcome: TurnOutcome) -> [JSONValue] {
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
        return messages(outputs, input: outcome.input, endpoint: outcome.endpoint, source: "bot")
    }

    /// `{userId, sessionId, endpoint, text, data, transcript}` for the handover URL.
    static func handoverBody(_ request: HandoverRequest, outcome: TurnOutcome) -> JSONValue {
        var transcript: [JSONValue] = []
        func add(_ entry: TranscriptEntry?, input: Input, outputs: [Output]) {
            if input.handover == nil, !input.text.isEmpty || !input.data.isEmpty {
                transcript.append(["source": "user", "text": .string(input.text), "data": .object(input.data)])
            }
            for output in outputs {
                transcript.append(["source": "bot", "text": .string(output.text ?? ""), "data": output.data ?? .emptyObject])
            }
        }
        for entry in outcome.history where entry.traceId != outcome.input.traceId {
            add(entry, input: entry.input, outputs: entry.outputs)
        }
        add(nil, input: outcome.input, outputs: outcome.turn.outputs)
        return [
            "userId": .string(outcome.input.userId), "sessionId": .string(outcome.input.sessionId), "endpoint": .string(outcome.endpoint.name),
            "text": request.text.map(JSONValue.string) ?? .null, "data": request.data ?? .emptyObject, "transcript": .array(transcript),
        ]
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
}

/// The synchronous answer of a REST endpoint (DESIGN §5.2): `{"text","data","outputStack","userId","sessionId"}`,
/// `text` the output texts joined with a space, `data` their data merged (last wins).
public enum RESTAnswer {
    public static func body(for outcome: TurnOutcome) -> JSONValue {
        let stack = AIOutputs.forTurn(outcome)
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
