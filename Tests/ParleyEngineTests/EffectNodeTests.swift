import Foundation
import ParleyEngine
import ParleyFlows
import Testing

/// `http` and `llm` nodes, tool branches and their errors, with no network: every effect is answered here.
@Suite struct EffectNodeTests {
    static let orders = """
        flow: orders
        nodes:
          lookup:
            http:
              connection: orders
              method: get
              path: "/orders/{{input.text}}"
              query: { lang: "{{profile.lang || 'en'}}", q: "a b&c" }
              headers: { X-Request: "{{input.traceId}}" }
              store: context.order
            next: check
            onError: down
          check:
            condition: context.order.status === 200
            then: tell
            else: missing
          tell: { say: "{{input.text}} is {{context.order.body.state}}." }
          missing: { say: "No order {{input.text}} ({{context.order.status}})." }
          down: { say: "The order system is down: {{context.order.error}}" }
        """

    static let json = EffectResult.response(status: 200, headers: ["content-type": "application/json"], body: ["state": "shipped"])

    func chat(_ flow: String, profiles: [String: ConnectionProfile] = [:]) throws -> TestChat {
        try TestChat(flow, configuration: EngineConfiguration(connections: profiles))
    }

    @Test func anHTTPNodeDescribesItsRequestAndStoresTheAnswer() throws {
        var chat = try chat(Self.orders)
        var seen: [Effect] = []
        let turn = try chat.conversation.send(text: "AB 1", currentTime: "2025-01-01T00:00:00Z") { effect in
            seen.append(effect)
            return Self.json
        }
        #expect(turn.outputs.map(\.text) == ["AB 1 is shipped."])
        let effect = try #require(seen.first)
        #expect(seen.count == 1)
        #expect(effect.kind == .http)
        #expect(effect.connection == "orders")
        #expect(effect.method == "GET")
        #expect(effect.path == "/orders/AB 1?lang=en&q=a%20b%26c")
        #expect(effect.headers == [NamedValue(name: "X-Request", value: "test-s1-1")])
        #expect(effect.index == 1)
        #expect(effect.node == "lookup")
        #expect(turn.session.context["order"] == ["status": 200, "headers": ["content-type": "application/json"], "body": ["state": "shipped"]])
    }

    @Test func anyStatusIsAResultAndNoAnswerTakesOnError() throws {
        var chat = try chat(Self.orders)
        let notFound = try chat.conversation.send(text: "X", currentTime: "2025-01-01T00:00:00Z") { _ in
            .response(status: 404, headers: [:], body: "no such order")
        }
        #expect(notFound.outputs.map(\.text) == ["No order X (404)."])
        let down = try chat.conversation.send(text: "X", currentTime: "2025-01-01T00:00:01Z") { _ in .failure("connection refused") }
        #expect(down.outputs.map(\.text) == ["The order system is down: connection refused"])
        #expect(down.session.context["order"] == ["status": 0, "error": "connection refused"])
        #expect(down.trace.first?.outcome == "onError")
    }

    static let assistant = """
        flow: assistant
        nodes:
          ask:
            llm:
              connection: gpt
              system: "You help {{profile.name}} with orders."
              history: 4
              maxTokens: 200
              tools:
                lookup_order:
                  description: Finds an order by its number.
                  parameters: { type: object, properties: { orderId: { type: string } }, required: [orderId] }
                  node: find
              store: context.answer
            onError: sorry
          find:
            http: { connection: orders, path: "/orders/{{input.tool.arguments.orderId}}", store: context.order }
            next: give
          give:
            resolveTool: "{{context.order.body}}"
          sorry:
            say: "Sorry, {{input.llmError.message}} ({{input.llmError.status}})"
        """

    static func answer(_ content: String) -> EffectResult {
        .response(
            status: 200,
            headers: [:],
            body: ["choices": [["message": ["role": "assistant", "content": .string(content)], "finish_reason": "stop"]]]
        )
    }

    static func toolCall(_ name: String, _ arguments: String, id: String = "call_a") -> EffectResult {
        .response(
            status: 200,
            headers: [:],
            body: [
                "choices": [
                    [
                        "message": [
                            "role": "assistant", "content": nil,
                            "tool_calls": [
                                ["id": .string(id), "type": "function", "function": ["name": .string(name), "arguments": .string(arguments)]]
                            ],
                        ],
                        "finish_reason": "tool_calls",
                    ]
                ]
            ]
        )
    }

    @Test func aToolRoundRunsTheBranchAndSendsItsResultBack() throws {
        var chat = try TestChat(
            Self.assistant,
            profile: ["name": "Ada"],
            configuration: EngineConfiguration(connections: ["gpt": ConnectionProfile(kind: .openai, model: "small-1")])
        )
        var seen: [Effect] = []
        let answers = [Self.toolCall("lookup_order", #"{"orderId":"AB123456"}"#), Self.json, Self.answer("It has shipped.")]
        let turn = try chat.conversation.send(text: "where is AB123456?", currentTime: "2025-01-01T00:00:00Z") { effect in
            seen.append(effect)
            return answers[seen.count - 1]
        }
        #expect(turn.outputs.map(\.text) == ["It has shipped."])
        #expect(turn.session.context["answer"] == "It has shipped.")
        #expect(seen.map(\.kind) == [.llm, .http, .llm])
        #expect(seen.map(\.index) == [1, 2, 3])
        #expect(seen[1].path == "/orders/AB123456")

        let first = try #require(seen[0].body)
        #expect(first["model"] == "small-1")
        #expect(first["temperature"] == 0)
        #expect(first["max_tokens"] == 200)
        #expect(first["seed"]?.numberValue != nil)
        #expect(
            first["messages"] == [
                ["role": "system", "content": "You help Ada with orders."], ["role": "user", "content": "where is AB123456?"],
            ]
        )
        #expect(
            first["tools"] == [
                [
                    "type": "function",
                    "function": [
                        "name": "lookup_order", "description": "Finds an order by its number.",
                        "parameters": ["type": "object", "properties": ["orderId": ["type": "string"]], "required": ["orderId"]],
                    ],
                ]
            ]
        )
        // The second request repeats the messages, then the assistant's tool calls unchanged and the tool's result.
        let second = try #require(seen[2].body?["messages"]?.arrayValue)
        #expect(second.count == 4)
        #expect(second[2]["tool_calls"]?.arrayValue?.first?["id"] == "call_a")
        #expect(second[3] == ["role": "tool", "tool_call_id": "call_a", "content": #"{"state":"shipped"}"#])
        #expect(first["seed"] != seen[2].body?["seed"])
        #expect(turn.trace.map(\.outcome) == ["tool lookup_order", "next", "resolved", "answered"])

        // The next turn sends the history: the last user and bot messages, oldest first.
        var next: [Effect] = []
        _ = try chat.conversation.send(text: "thanks", currentTime: "2025-01-01T00:00:01Z") { effect in
            next.append(effect)
            return Self.answer("You're welcome.")
        }
        let messages = try #require(next.first?.body?["messages"]?.arrayValue)
        #expect(
            messages.dropFirst().map { $0["content"] } == ["where is AB123456?", "It has shipped.", "thanks"]
        )
    }

    @Test(arguments: [
        (EffectResult.failure("no answer within 30000 ms"), "no answer within 30000 ms"),
        (.response(status: 503, headers: [:], body: ["error": ["message": "overloaded"]]), "the model server answered HTTP 503: overloaded"),
        (.response(status: 200, headers: [:], body: ["id": "x"]), "the model's answer has no choices[0].message"),
        (toolCall("cancel_order", "{}"), "the model called the undeclared tool 'cancel_order'"),
        (toolCall("lookup_order", "{not json"), "the arguments of tool call 'lookup_order' are not JSON"),
        (
            .response(status: 200, headers: [:], body: ["choices": [["message": ["content": "It has"], "finish_reason": "length"]]]),
            "the model's answer was cut off (finish_reason: length); raise maxTokens"
        ),
        (
            .response(status: 200, headers: [:], body: ["choices": [["message": ["content": nil, "refusal": "I can't"], "finish_reason": "stop"]]]),
            "the model refused: I can't"
        ),
    ])
    func failedModelCallsTakeOnErrorWithLLMError(result: EffectResult, message: String) throws {
        var chat = try chat(Self.assistant)
        let turn = try chat.conversation.send(text: "hi", currentTime: "2025-01-01T00:00:00Z") { _ in result }
        let status: String
        if case .response(let code, _, _) = result { status = "\(code)" } else { status = "" }
        #expect(turn.outputs.map(\.text) == ["Sorry, \(message) (\(status))"])
        #expect(turn.trace.last?.kind == "say")
        #expect(turn.events.isEmpty)
    }

    @Test func tooManyToolRoundsFail() throws {
        let flow = Self.assistant.replacingOccurrences(of: "maxTokens: 200", with: "maxToolRounds: 2")
        var chat = try chat(flow)
        var calls = 0
        let turn = try chat.conversation.send(text: "hi", currentTime: "2025-01-01T00:00:00Z") { effect in
            calls += 1
            return effect.kind == .http ? Self.json : Self.toolCall("lookup_order", #"{"orderId":"A"}"#)
        }
        // Two rounds of tool calls run (llm, http, llm, http), the third request's tool calls are refused.
        #expect(calls == 5)
        #expect(turn.outputs.map(\.text) == ["Sorry, the model asked for tools again after 2 rounds (maxToolRounds) (200)"])
    }

    @Test func withoutOnErrorAFailedCallEndsTheTurnWithAnError() throws {
        let flow = Self.assistant.replacingOccurrences(of: "    onError: sorry\n", with: "")
            .replacingOccurrences(of: "  sorry:\n    say: \"Sorry, {{input.llmError.message}} ({{input.llmError.status}})\"\n", with: "")
        var chat = try chat(flow)
        let turn = try chat.conversation.send(text: "hi", currentTime: "2025-01-01T00:00:00Z") { _ in .failure("refused") }
        #expect(turn.outputs.isEmpty)
        #expect(turn.events == [.error(TurnError(message: "refused", address: NodeAddress(flow: "assistant", node: "ask")))])
    }

    @Test func jsonModeStoresTheParsedAnswerAndSaysNothing() throws {
        let flow = """
            flow: extract
            nodes:
              read:
                llm: { connection: gpt, prompt: "Extract: {{input.text}}", json: true, temperature: null, store: context.fields }
                next: show
                onError: bad
              show: { say: "{{context.fields.name}}" }
              bad: { say: "bad: {{input.llmError.message}}" }
            """
        var chat = try chat(flow)
        var body: JSONValue?
        let turn = try chat.conversation.send(text: "I am Ada", currentTime: "2025-01-01T00:00:00Z") { effect in
            body = effect.body
            return Self.answer(#"{"name":"Ada"}"#)
        }
        #expect(turn.outputs.map(\.text) == ["Ada"])
        #expect(turn.session.context["fields"] == ["name": "Ada"])
        #expect(body?["response_format"] == ["type": "json_object"])
        #expect(body?["temperature"] == nil)
        #expect(body?["model"] == nil)
        let broken = try chat.conversation.send(text: "x", currentTime: "2025-01-01T00:00:01Z") { _ in Self.answer("not json") }
        #expect(broken.outputs.map(\.text) == ["bad: the model's answer is not the JSON asked for"])
    }

    @Test func aToolBranchThatStopsWithoutResolveToolFailsTheModelCall() throws {
        let flow = Self.assistant.replacingOccurrences(of: "    next: give\n", with: "")
        // Validation rejects such a flow; the engine still copes with one built without it.
        let loaded = FlowLoader().load(sources: [("a.yaml", flow)])
        #expect(loaded.diagnostics.contains { $0.code == "tool-branch" })
        let flows = FlowSet(flows: loaded.flows)
        var conversation = try Conversation(engine: Engine(flows: flows), flow: "assistant")
        let turn = try conversation.send(text: "hi", currentTime: "2025-01-01T00:00:00Z") { effect in
            effect.kind == .http ? Self.json : Self.toolCall("lookup_order", #"{"orderId":"A"}"#)
        }
        #expect(turn.outputs.map(\.text) == ["Sorry, the branch of tool 'lookup_order' ended without a resolveTool node ()"])
    }

    @Test func aTurnSuspendsAtEachEffectAndResumesWithItsResult() throws {
        let flows = try loadFlows([Self.orders])
        let engine = Engine(flows: flows)
        let session = try engine.startSession(flow: "orders")
        let input = Input(text: "A1", userId: "u", sessionId: "s", traceId: "t", currentTime: "2025-01-01T00:00:00Z")
        guard case .waiting(let effect, let pending) = try engine.start(input, session: session, profile: [:]) else {
            Issue.record("the turn did not wait for its http call")
            return
        }
        #expect(effect.path == "/orders/A1?lang=en&q=a%20b%26c")
        guard case .finished(let turn) = pending.resume(with: Self.json) else {
            Issue.record("the turn did not finish")
            return
        }
        #expect(turn.outputs.map(\.text) == ["A1 is shipped."])
        // The same flows, session, input and results give the same turn.
        let again = try engine.run(input, session: session, profile: [:]) { _ in Self.json }
        #expect(again == turn)
    }

    @Test func historyIsKeptOnlyByFlowSetsWithModelNodes() throws {
        var plain = try TestChat(TestFlows.greeting)
        let turn = try plain.conversation.send(text: "hi", currentTime: "2025-01-01T00:00:00Z")
        #expect(turn.session.history.isEmpty)
        #expect(turn.session.json["history"] == nil)

        var model = try chat(Self.assistant)
        for index in 0..<30 {
            _ = try model.conversation.send(text: "message \(index)", currentTime: "2025-01-01T00:00:00Z") { _ in Self.answer("reply \(index)") }
        }
        let history = model.conversation.session.history
        #expect(history.count == Session.maxHistory)
        #expect(history.last == HistoryMessage(role: .assistant, text: "reply 29"))
        #expect(history.first == HistoryMessage(role: .user, text: "message 5"))
        #expect(try Session(json: model.conversation.session.json) == model.conversation.session)
    }
}

/// Small flows shared by the effect and intent tests.
enum TestFlows {
    static let greeting = """
        flow: greeting
        nodes:
          hello: { say: "Hello!" }
        """
}
