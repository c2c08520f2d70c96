import ParleyFlows

/// The recorded answer of one effect in a conversation test (`effects:` of a turn, DESIGN §4).
///
/// ```yaml
/// effects:
///   - llm: { toolCalls: [{ name: lookup_order, arguments: { orderId: AB123456 } }] }
///   - http: { status: 200, body: { status: shipped } }
///   - llm: { content: "It has shipped." }
///   - llm: { error: "connection refused" }          # a failed call, to test onError
///   - nlu: { intent: order_status, score: 0.92 }
///   - llm: { status: 500, body: { error: { message: overloaded } } }   # any raw answer
/// ```
public struct EffectFixture: Sendable, Hashable {
    /// What the fixture answers.
    public enum Answer: Sendable, Hashable {
        /// A model's final text.
        case content(String)
        /// A model's tool calls; a call without an id gets `call_1`, `call_2`, ... in order.
        case toolCalls([ToolCallFixture])
        /// An NLU classification: `{intent, score, intents?, slots?}`.
        case classification(JSONValue)
        /// Any HTTP answer as it came: `{status, headers?, body}`.
        case response(status: Int, headers: [String: String], body: JSONValue)
        /// No answer: the call failed.
        case error(String)
    }

    public var kind: Effect.Kind
    public var answer: Answer
    /// `keep: true`: a hand-written fixture that `parley test --record-all` leaves as it is (plain `--record` keeps
    /// every fixture already written).
    public var keep: Bool

    public init(kind: Effect.Kind, answer: Answer, keep: Bool = false) {
        self.kind = kind
        self.answer = answer
        self.keep = keep
    }

    /// The result the engine gets for the effect.
    public var result: EffectResult {
        let json = ["content-type": "application/json"]
        switch answer {
        case .error(let message): return .failure(message)
        case .response(let status, let headers, let body): return .response(status: status, headers: headers, body: body)
        case .classification(let body): return .response(status: 200, headers: json, body: body)
        case .content(let text):
            return .response(
                status: 200,
                headers: json,
                body: ["choices": [["index": 0, "message": ["role": "assistant", "content": .string(text)], "finish_reason": "stop"]]]
            )
        case .toolCalls(let calls):
            let items: [JSONValue] = calls.enumerated().map { index, call in
                [
                    "id": .string(call.id ?? "call_\(index + 1)"), "type": "function",
                    "function": ["name": .string(call.name), "arguments": .string(call.arguments.canonicalJSON)],
                ]
            }
            return .response(
                status: 200,
                headers: json,
                body: [
                    "choices": [
                        ["index": 0, "message": ["role": "assistant", "content": nil, "tool_calls": .array(items)], "finish_reason": "tool_calls"]
                    ]
                ]
            )
        }
    }

    /// The fixture that answers like `result` did, in the shortest form the file reads back the same way: what
    /// `parley test --record` writes.
    public init(recording result: EffectResult, of kind: Effect.Kind) {
        self.kind = kind
        self.keep = false
        switch result {
        case .failure(let message):
            answer = .error(message)
        case .response(let status, let headers, let body):
            let message = body["choices"]?.arrayValue?.first?["message"]
            let finish = body["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue
            if kind == .llm, status == 200, let message, finish != "length", message["refusal"] == nil || message["refusal"] == .null {
                let calls = message["tool_calls"]?.arrayValue ?? []
                if !calls.isEmpty, let parsed = Self.toolCalls(calls) {
                    answer = .toolCalls(parsed)
                    return
                }
                if calls.isEmpty, let content = message["content"]?.stringValue {
                    answer = .content(content)
                    return
                }
            }
            if kind == .nlu, (200...299).contains(status), body.objectValue != nil {
                answer = .classification(body)
                return
            }
            answer = .response(status: status, headers: kind == .http ? [:] : headers, body: body)
        }
    }

    private static func toolCalls(_ items: [JSONValue]) -> [ToolCallFixture]? {
        var calls: [ToolCallFixture] = []
        for item in items {
            guard let name = item["function"]?["name"]?.stringValue,
                let arguments = (try? JSONValue.parse(item["function"]?["arguments"]?.stringValue ?? "{}"))
            else { return nil }
            calls.append(ToolCallFixture(id: item["id"]?.stringValue, name: name, arguments: arguments))
        }
        return calls
    }

    /// The fixture as YAML reads it: `{content: ...}`, `{toolCalls: [...]}`, `{status, body}`, `{error}`, with
    /// `keep: true` when it is marked so.
    public var value: JSONValue {
        guard keep, case .object(var members) = answerValue else { return answerValue }
        members["keep"] = true
        return .object(members)
    }

    private var answerValue: JSONValue {
        switch answer {
        case .content(let text): return ["content": .string(text)]
        case .error(let message): return ["error": .string(message)]
        case .classification(let body): return body
        case .toolCalls(let calls):
            return [
                "toolCalls": .array(
                    calls.map { call in
                        var object: [String: JSONValue] = ["name": .string(call.name), "arguments": call.arguments]
                        if let id = call.id { object["id"] = .string(id) }
                        return .object(object)
                    }
                )
            ]
        case .response(let status, let headers, let body):
            var object: [String: JSONValue] = ["status": .number(Double(status)), "body": body]
            if !headers.isEmpty { object["headers"] = .object(headers.mapValues(JSONValue.string)) }
            return .object(object)
        }
    }
}

/// One tool call of a model answer in a test fixture.
public struct ToolCallFixture: Sendable, Hashable {
    public var id: String?
    public var name: String
    public var arguments: JSONValue

    public init(id: String? = nil, name: String, arguments: JSONValue = .emptyObject) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}
