import Crypto
import Foundation
import ParleyFlows

/// Effects (DESIGN §3.1): where a turn waits for the outside world and how it goes on with the answer. The turn
/// only describes each call (``Effect``); whoever drives it performs the call, or answers from a recording.
extension TurnRunner {
    /// The effect a turn waits for, with what it needs to go on.
    enum Waiting {
        /// The input's classification by an external NLU service, before any node runs.
        case nlu(Effect)
        /// An `http` node's request.
        case http(NodeAddress, Node, HTTPCall, Effect)
        /// A request of the `llm` node in ``TurnRunner/toolFrame``.
        case llm(Effect)

        var effect: Effect {
            switch self {
            case .nlu(let effect), .http(_, _, _, let effect), .llm(let effect): effect
            }
        }
    }

    /// An `llm` node in progress: the messages so far and the tool calls of the current round.
    struct ToolFrame {
        var address: NodeAddress
        var node: Node
        var call: LLMCall
        /// The `messages` of the next request.
        var messages: [JSONValue]
        /// 1-based number of the next request (it seeds the model).
        var request = 1
        /// How many rounds with tool calls have run.
        var toolRounds = 0
        /// The assistant message that asked for the current calls, sent back unchanged.
        var assistant: JSONValue = .null
        var calls: [ToolCall] = []
        /// The results of ``calls`` so far, in order.
        var results: [JSONValue] = []
    }

    /// One call of a tool the model asked for.
    struct ToolCall {
        var id: String
        var name: String
        var arguments: JSONValue
    }

    private mutating func nextEffectIndex() -> Int {
        effectCount += 1
        return effectCount
    }

    // MARK: Intents

    /// Classifies a text input with the intents of the flow holding the entry point: with the built-in classifier
    /// at once, or by returning the request for the flow's external NLU connection.
    mutating func classify() -> Effect? {
        guard rawInput.handover == nil, !session.isHandedOver, let flow = flows.flow(session.flow),
            !flow.intents.isEmpty || flow.nlu != nil
        else { return nil }
        let text = rawInput.text.trimmingCharacters(in: .whitespacesAndNewlines)
        let slots = Slots.extract(from: rawInput.text, currentTime: rawInput.currentTime)
        if let connection = flow.nlu?.connection, !text.isEmpty {
            let effect = Effect(
                kind: .nlu,
                connection: connection,
                flow: flow.id,
                node: nil,
                index: nextEffectIndex(),
                method: "POST",
                path: "",
                body: [
                    "text": .string(rawInput.text), "flow": .string(flow.id), "userId": .string(rawInput.userId),
                    "sessionId": .string(rawInput.sessionId),
                ]
            )
            waiting = .nlu(effect)
            return effect
        }
        let scores = text.isEmpty ? [] : (classifiers[flow.id]?.classify(text) ?? [])
        let threshold = flow.nlu?.threshold ?? NLUSettings.defaultThreshold
        let best = scores.first
        setClassification(
            Classification(
                intent: best.flatMap { $0.score >= threshold ? $0.intent : nil },
                score: best?.score ?? 0,
                intents: Array(scores.prefix(3)),
                slots: slots
            )
        )
        return nil
    }

    /// `{intent, score, intents?, slots?}` from the NLU service; any other answer leaves the input unclassified (a
    /// warning in the trace), with the built-in slots.
    mutating func applyExternalClassification(_ result: EffectResult) {
        let flow = flows.flow(session.flow)
        let threshold = flow?.nlu?.threshold ?? NLUSettings.defaultThreshold
        let slots = Slots.extract(from: rawInput.text, currentTime: rawInput.currentTime)
        guard case .response(let status, _, let body) = result, (200...299).contains(status), body.objectValue != nil else {
            warn("nlu '\(flow?.nlu?.connection ?? "")' gave no classification: \(Self.describe(result))")
            setClassification(Classification(intent: nil, score: 0, intents: [], slots: slots))
            return
        }
        let score = min(max(body["score"]?.numberValue ?? 0, 0), 1)
        let intent = body["intent"]?.stringValue
        var intents = (body["intents"]?.arrayValue ?? []).compactMap { item -> IntentClassifier.Score? in
            guard let id = item["id"]?.stringValue ?? item["intent"]?.stringValue else { return nil }
            return IntentClassifier.Score(intent: id, score: min(max(item["score"]?.numberValue ?? 0, 0), 1))
        }
        if intents.isEmpty, let intent { intents = [IntentClassifier.Score(intent: intent, score: score)] }
        let given = body["slots"]?.objectValue
        setClassification(
            Classification(
                intent: score >= threshold ? intent : nil,
                score: score,
                intents: Array(intents.prefix(3)),
                slots: given.map(JSONValue.object) ?? slots
            )
        )
    }

    private mutating func setClassification(_ value: Classification) {
        classification = value
        for (key, field) in value.inputFields { input[key] = field }
    }

    // MARK: http

    /// The request of an `http` node, its templates rendered.
    mutating func httpEffect(_ call: HTTPCall, at address: NodeAddress) -> Effect {
        var path = renderText(call.path ?? "")
        if !call.query.isEmpty {
            let pairs = call.query.map { Self.percentEncoded($0.name) + "=" + Self.percentEncoded(renderText($0.value)) }
            path += (path.contains("?") ? "&" : "?") + pairs.joined(separator: "&")
        }
        let headers = call.headers.map { NamedValue(name: $0.name, value: renderText($0.value)) }
        return Effect(
            kind: .http,
            connection: call.connection,
            flow: address.flow,
            node: address.node,
            index: nextEffectIndex(),
            method: call.method,
            path: path,
            headers: headers,
            body: call.body.flatMap { renderValue($0) },
            timeoutMs: call.timeoutMs
        )
    }

    /// Any answer is a result in `store`; no answer stores `{status: 0, error}` and takes `onError` (else `next`).
    mutating func completeHTTP(_ call: HTTPCall, at address: NodeAddress, node: Node, result: EffectResult) -> NodeAddress? {
        switch result {
        case .response(let status, let headers, let body):
            write(["status": .number(Double(status)), "headers": .object(headers.mapValues(JSONValue.string)), "body": body], to: call.store)
            return proceed(address, node, edge: node.edges.next, label: "next")
        case .failure(let message):
            write(["status": 0, "error": .string(message)], to: call.store)
            if let onError = node.edges.onError {
                let target = NodeAddress(flow: address.flow, node: onError.target)
                record(address, node, outcome: "onError", target: target, error: message)
                return target
            }
            let target = follow(node.edges.next, in: address.flow)
            record(address, node, outcome: "failed", target: target, error: message)
            return target
        }
    }

    // MARK: llm

    /// Sends the first request of an `llm` node.
    mutating func startLLM(_ call: LLMCall, at address: NodeAddress, node: Node) -> NodeAddress? {
        guard toolFrame == nil else {
            fail("an llm node cannot run inside a tool branch", at: address, kind: "llm")
            return nil
        }
        var messages: [JSONValue] = []
        if let system = call.system { messages.append(["role": "system", "content": .string(renderText(system))]) }
        for message in session.history.suffix(call.history) {
            messages.append(["role": .string(message.role.rawValue), "content": .string(message.text)])
        }
        messages.append(["role": "user", "content": .string(renderText(call.prompt))])
        toolFrame = ToolFrame(address: address, node: node, call: call, messages: messages)
        requestModel()
        return nil
    }

    /// Makes the frame's next model request the effect the turn waits for.
    private mutating func requestModel() {
        guard let frame = toolFrame else { return }
        let call = frame.call
        let profile = configuration.connections[call.connection]
        var body: [String: JSONValue] = ["messages": .array(frame.messages), "seed": .number(Double(modelSeed(request: frame.request)))]
        if let model = call.model.map({ renderText($0) }) ?? profile?.model { body["model"] = .string(model) }
        if case .value(let temperature) = call.temperature { body["temperature"] = .number(temperature) }
        if let maxTokens = call.maxTokens { body[profile?.maxTokensField ?? "max_tokens"] = .number(Double(maxTokens)) }
        if !call.tools.isEmpty {
            body["tools"] = .array(
                call.tools.map { tool in
                    var function: [String: JSONValue] = ["name": .string(tool.name), "parameters": tool.parameters]
                    if let description = tool.description { function["description"] = .string(description) }
                    return ["type": "function", "function": .object(function)]
                }
            )
        }
        if call.json { body["response_format"] = ["type": "json_object"] }
        let effect = Effect(
            kind: .llm,
            connection: call.connection,
            flow: frame.address.flow,
            node: frame.address.node,
            index: nextEffectIndex(),
            method: "POST",
            path: "/chat/completions",
            body: .object(body)
        )
        waiting = .llm(effect)
    }

    /// DESIGN §3.1: the first four bytes of SHA-256 of sessionId, execution and the request number, NUL-separated,
    /// read as a big-endian unsigned integer.
    func modelSeed(request: Int) -> UInt32 {
        let digest = Array(SHA256.hash(data: Data("\(rawInput.sessionId)\u{0}\(rawInput.execution)\u{0}\(request)".utf8)))
        return digest.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    /// Reads the model's answer: tool calls start their branches, content finishes the node, anything else fails it.
    mutating func completeLLM(_ result: EffectResult) -> NodeAddress? {
        guard var frame = toolFrame else { return nil }
        guard case .response(let status, _, let body) = result else { return llmFailed(Self.describe(result), status: nil) }
        guard (200...299).contains(status) else {
            return llmFailed("the model server answered HTTP \(status)\(Self.errorDetail(body))", status: status)
        }
        guard let choice = body["choices"]?.arrayValue?.first, let message = choice["message"], message.objectValue != nil else {
            return llmFailed("the model's answer has no choices[0].message", status: status)
        }
        if choice["finish_reason"]?.stringValue == "length" {
            return llmFailed("the model's answer was cut off (finish_reason: length); raise maxTokens", status: status)
        }
        if let refusal = message["refusal"]?.stringValue, !refusal.isEmpty {
            return llmFailed("the model refused: \(refusal)", status: status)
        }
        let requested = message["tool_calls"]?.arrayValue ?? []
        if !requested.isEmpty {
            guard frame.toolRounds < frame.call.maxToolRounds else {
                return llmFailed("the model asked for tools again after \(frame.call.maxToolRounds) rounds (maxToolRounds)", status: status)
            }
            var calls: [ToolCall] = []
            for (index, item) in requested.enumerated() {
                guard let name = item["function"]?["name"]?.stringValue else {
                    return llmFailed("tool call \(index + 1) has no function name", status: status)
                }
                guard frame.call.tools.contains(where: { $0.name == name }), frame.node.edges.tool(name) != nil else {
                    return llmFailed("the model called the undeclared tool '\(name)'", status: status)
                }
                let text = item["function"]?["arguments"]?.stringValue ?? "{}"
                guard let arguments = try? JSONValue.parse(text.isEmpty ? "{}" : text) else {
                    return llmFailed("the arguments of tool call '\(name)' are not JSON", status: status)
                }
                calls.append(ToolCall(id: item["id"]?.stringValue ?? "call_\(index + 1)", name: name, arguments: arguments))
            }
            frame.toolRounds += 1
            frame.assistant = message
            frame.calls = calls
            frame.results = []
            toolFrame = frame
            return nextToolCall()
        }
        guard let content = message["content"]?.stringValue else { return llmFailed("the model's answer has no content", status: status) }
        let call = frame.call
        var value = JSONValue.string(content)
        if call.json {
            guard let parsed = try? JSONValue.parse(content) else { return llmFailed("the model's answer is not the JSON asked for", status: status) }
            value = parsed
        }
        toolFrame = nil
        input["tool"] = nil
        if let store = call.store { write(value, to: store) }
        if call.say, !call.json { outputs.append(Output(text: content)) }
        let target = follow(frame.node.edges.next, in: frame.address.flow)
        record(frame.address, frame.node, outcome: "answered", target: target)
        return target
    }

    /// Starts the next tool call's branch, or, when every call of the round has its result, sends the next request.
    private mutating func nextToolCall() -> NodeAddress? {
        guard var frame = toolFrame else { return nil }
        let index = frame.results.count
        if index < frame.calls.count {
            let call = frame.calls[index]
            input["tool"] = ["id": .string(call.id), "name": .string(call.name), "arguments": call.arguments]
            guard let edge = frame.node.edges.tool(call.name) else { return llmFailed("no branch for tool '\(call.name)'", status: nil) }
            let target = NodeAddress(flow: frame.address.flow, node: edge.target)
            record(frame.address, frame.node, outcome: "tool \(call.name)", target: target)
            return target
        }
        var messages = frame.messages
        messages.append(frame.assistant)
        for (call, result) in zip(frame.calls, frame.results) {
            let content = result.stringValue ?? result.canonicalJSON
            messages.append(["role": "tool", "tool_call_id": .string(call.id), "content": .string(content)])
        }
        frame.messages = messages
        frame.request += 1
        frame.calls = []
        frame.results = []
        toolFrame = frame
        input["tool"] = nil
        requestModel()
        return nil
    }

    /// A `resolveTool` node: its value is the result of the tool call whose branch is running.
    mutating func resolveTool(_ value: JSONValue, at address: NodeAddress, node: Node) -> NodeAddress? {
        guard var frame = toolFrame, frame.results.count < frame.calls.count else {
            fail("resolveTool node '\(address.node)' ran outside a tool branch", at: address, kind: "resolveTool")
            return nil
        }
        let result = renderValue(value) ?? .null
        record(address, node, outcome: "resolved")
        frame.results.append(result)
        toolFrame = frame
        return nextToolCall()
    }

    /// The running tool branch stopped without a `resolveTool` (a node without an edge, or one that waits).
    mutating func toolBranchEnded() -> NodeAddress? {
        let name = toolFrame.flatMap { $0.results.count < $0.calls.count ? $0.calls[$0.results.count].name : nil } ?? "?"
        // Whatever the branch set up to wait for (a question in a flow it executed) belongs to the abandoned branch.
        session.position = nil
        return llmFailed("the branch of tool '\(name)' ended without a resolveTool node", status: nil)
    }

    /// The `llm` node failed: `onError` with `input.llmError = {message, status?}`, else the turn ends with the error.
    private mutating func llmFailed(_ message: String, status: Int?) -> NodeAddress? {
        guard let frame = toolFrame else { return nil }
        toolFrame = nil
        input["tool"] = nil
        var error: [String: JSONValue] = ["message": .string(message)]
        if let status { error["status"] = .number(Double(status)) }
        input["llmError"] = .object(error)
        if let onError = frame.node.edges.onError {
            let target = NodeAddress(flow: frame.address.flow, node: onError.target)
            record(frame.address, frame.node, outcome: "onError", target: target, error: message)
            return target
        }
        fail(message, at: frame.address, kind: "llm")
        return nil
    }

    // MARK: History

    /// Appends the turn's user text and bot texts to the session's history, for flow sets with `llm` nodes.
    mutating func keepHistory() {
        guard flows.usesModels else { return }
        if rawInput.handover == nil, !initialSession.isHandedOver, !rawInput.text.isEmpty {
            session.history.append(HistoryMessage(role: .user, text: rawInput.text))
        }
        for output in outputs {
            if let text = output.text, !text.isEmpty { session.history.append(HistoryMessage(role: .assistant, text: text)) }
        }
        if session.history.count > Session.maxHistory { session.history.removeFirst(session.history.count - Session.maxHistory) }
    }

    // MARK: Helpers

    static func describe(_ result: EffectResult) -> String {
        switch result {
        case .failure(let message): message
        case .response(let status, _, _): "HTTP \(status)"
        }
    }

    /// `: message` from an OpenAI-style error body, when it has one (short, so no prompt text leaks through).
    private static func errorDetail(_ body: JSONValue) -> String {
        guard let message = body["error"]?["message"]?.stringValue ?? body["error"]?.stringValue else { return "" }
        return ": " + String(message.prefix(200))
    }

    /// RFC 3986 percent-encoding: everything but unreserved characters.
    static func percentEncoded(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF")
                encoded += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 0x0F)])
            }
        }
        return encoded
    }
}
