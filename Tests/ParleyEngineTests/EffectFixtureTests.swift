import Foundation
import ParleyEngine
import ParleyFlows
import Testing

/// Conversation tests whose turns call out: `effects:` answers, the failure when one is missing, `expect.intent`,
/// and `--record` writing what the calls answered.
@Suite struct EffectFixtureTests {
    static let flows = """
        flow: helper
        intents:
          order_status: ["where is my order", "track my parcel"]
          greeting: ["hello", "good morning"]
        nodes:
          route:
            switch: { value: input.intent, cases: { order_status: ask }, default: hi }
          hi: { say: "Hi!" }
          ask:
            llm:
              connection: model
              tools:
                lookup_order: { parameters: { type: object, properties: { orderId: { type: string } } }, node: find }
            onError: sorry
          find:
            http: { connection: orders, path: "/orders/{{input.tool.arguments.orderId}}", store: context.order }
            next: give
          give: { resolveTool: "{{context.order.body}}" }
          sorry: { say: "Sorry: {{input.llmError.message}}" }
        """

    static let tests = """
        flow: helper
        tests:
          - name: a tool round
            turns:
              - user: where is my order AB123456
                effects:
                  - llm: { toolCalls: [{ name: lookup_order, arguments: { orderId: AB123456 } }] }
                  - http: { status: 200, body: { status: shipped } }
                  - llm: { content: "It has shipped." }
                bot: ["It has shipped."]
                expect: { intent: order_status, context: { order: { status: 200, body: { status: shipped } } } }
              - user: hello
                bot: ["Hi!"]
                expect: { intent: greeting }
          - name: a failed call
            turns:
              - user: track my parcel
                effects:
                  - llm: { error: "connection refused" }
                bot: ["Sorry: connection refused"]
        """

    func runner() throws -> ConversationTestRunner {
        ConversationTestRunner(flows: try loadFlows([Self.flows]))
    }

    @Test func effectsAnswerTheCallsInOrder() throws {
        let file = try ConversationTestFile.parse(Self.tests, path: "helper.test.yaml")
        let results = try runner().run(file)
        #expect(results.map(\.passed) == [true, true], "\(results)")
        #expect(file.tests[0].turns[0].effects?.map(\.kind) == [.llm, .http, .llm])
    }

    @Test func aMissingEffectFailsWithWhatTheTurnNeeded() throws {
        let text = Self.tests.replacingOccurrences(of: "          - llm: { content: \"It has shipped.\" }\n", with: "")
        let results = try runner().run(try ConversationTestFile.parse(text, path: "helper.test.yaml"))
        let failure = try #require(results.first?.failures.first)
        #expect(failure.turn == 1)
        #expect(
            failure.message
                == "the turn needs effect 3, llm on connection 'model' from node 'ask', but the test gives 2; add its answer under 'effects:' (for example '- llm: { content: \"...\" }'), or record it with parley test --record --config F"
        )
    }

    @Test func anEffectOfTheWrongKindOrOneTooManyFails() throws {
        let wrongKind = Self.tests.replacingOccurrences(
            of: "- http: { status: 200, body: { status: shipped } }",
            with: "- nlu: { intent: x, score: 1 }"
        )
        let results = try runner().run(try ConversationTestFile.parse(wrongKind, path: "t.test.yaml"))
        #expect(
            results[0].failures.first?.message
                == "effect 2 of the turn is http on connection 'orders' from node 'find', but the test gives a nlu answer there"
        )
        let extra = Self.tests.replacingOccurrences(
            of: "- llm: { error: \"connection refused\" }",
            with: "- llm: { error: \"connection refused\" }\n          - http: { status: 200 }"
        )
        let more = try runner().run(try ConversationTestFile.parse(extra, path: "t.test.yaml"))
        #expect(more[1].failures.map(\.message) == ["the test gives 2 effects, the turn made 1 calls; remove the ones it does not make"])
    }

    @Test func aWrongIntentFailsWithTheScores() throws {
        let text = Self.tests.replacingOccurrences(of: "expect: { intent: greeting }", with: "expect: { intent: order_status }")
        let results = try runner().run(try ConversationTestFile.parse(text, path: "t.test.yaml"))
        let message = try #require(results[0].failures.first?.message)
        #expect(message.hasPrefix("intent\n    expected: \"order_status\"\n    actual:   \"greeting\" (greeting "))
    }

    @Test(arguments: [
        ("- llm: { content: [5] }", "'content' must be a string"),
        ("- llm: { toolCalls: [{ arguments: {} }] }", "a tool call needs a 'name'"),
        ("- ftp: { status: 200 }", "unknown effect 'ftp' (expected http, llm, nlu)"),
        ("- http: { status: 999 }", "'status' must be an HTTP status from 100 to 599"),
        ("- http: { stauts: 200 }", "unknown key 'stauts' in a http answer (expected status, headers, body, or error)"),
        ("- llm: { words: hi }", "an llm answer is { content }, { toolCalls }, { status, body } or { error }"),
    ])
    func badEffectsAreLocatedErrors(effect: String, message: String) {
        let text = "flow: helper\ntests:\n  - name: t\n    turns:\n      - user: hi\n        effects:\n          \(effect)\n"
        #expect {
            try ConversationTestFile.parse(text, path: "t.test.yaml")
        } throws: { error in
            "\(error)".hasPrefix("t.test.yaml:7:") && "\(error)".hasSuffix(message)
        }
    }

    /// `--record` performs each call (here through a closure standing in for the deployment's connections) and
    /// writes the answers into the file, in the short forms; the file then passes as it is.
    @Test func recordWritesTheAnswersIntoTheFile() async throws {
        let text = """
            flow: helper
            tests:
              - name: recorded
                turns:
                  - user: where is my order AB123456
                    bot: ["It has shipped."]
                  # a comment that stays
                  - user: hello
                    bot: ["Hi!"]
            """
        let file = try ConversationTestFile.parse(text, path: "helper.test.yaml")
        var seen: [String] = []
        let recorded = await (try runner()).record(file) { effect, traceId in
            seen.append("\(effect.kind.rawValue) \(traceId)-effect-\(effect.index)")
            switch effect.kind {
            case .http: return .response(status: 200, headers: ["content-type": "application/json"], body: ["status": "shipped"])
            default:
                let messages = effect.body?["messages"]?.arrayValue ?? []
                if messages.last?["role"] == "tool" {
                    return .response(
                        status: 200,
                        headers: [:],
                        body: ["choices": [["message": ["role": "assistant", "content": "It has shipped."], "finish_reason": "stop"]]]
                    )
                }
                return .response(
                    status: 200,
                    headers: [:],
                    body: [
                        "choices": [
                            [
                                "message": [
                                    "role": "assistant", "content": nil,
                                    "tool_calls": [
                                        [
                                            "id": "call_9", "type": "function",
                                            "function": ["name": "lookup_order", "arguments": #"{"orderId":"AB123456"}"#],
                                        ]
                                    ],
                                ],
                                "finish_reason": "tool_calls",
                            ]
                        ]
                    ]
                )
            }
        }
        #expect(seen == ["llm test-test-session-1-effect-1", "http test-test-session-1-effect-2", "llm test-test-session-1-effect-3"])
        #expect(recorded.results.allSatisfy { $0.passed })
        #expect(recorded.text.contains("  # a comment that stays"))
        #expect(recorded.text.contains(#"- llm: {"toolCalls": [{"arguments": {"orderId": "AB123456"}, "id": "call_9", "name": "lookup_order"}]}"#))
        #expect(recorded.text.contains(#"- http: {"body": {"status": "shipped"}, "status": 200}"#))
        #expect(recorded.text.contains(#"- llm: {"content": "It has shipped."}"#))
        let reread = try ConversationTestFile.parse(recorded.text, path: "helper.test.yaml")
        #expect(try runner().run(reread).allSatisfy(\.passed))
        #expect(reread.tests[0].turns[1].effects == nil)
    }
}
