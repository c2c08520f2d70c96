import Foundation
import ParleyEngine
import ParleyFlows
import Testing

@Suite struct ConversationTestTests {
    static let orderStatus = """
        flow: order-status
        context: { attempts: 0 }
        nodes:
          greet:
            say: "Hi {{profile.firstName || 'there'}}!"
            next: ask_order
          ask_order:
            question:
              text: What is your order number?
              type: regex
              pattern: "^[A-Z]{2}[0-9]{6}$"
              store: context.orderId
              reprompt: Two letters and six digits, please.
              maxAttempts: 3
              onFail: to_agent
            next: lookup
          lookup:
            code: |
              const known = { AB123456: "shipped", CD654321: "packing" };
              context.status = known[context.orderId] || "unknown";
            next: check
          check:
            condition: context.status === "unknown"
            then: to_agent
            else: tell
          tell:
            say:
              text: "Order {{context.orderId}} is {{context.status}}."
              data: { status: "{{context.status}}" }
          to_agent:
            handover:
              text: Let me connect you with a colleague.
              data: { queue: orders }
            next: after_agent
          after_agent:
            copilot: { tile: summary, type: nextAction, text: "Handover {{input.handover.status}}" }
            next: bye
          bye:
            say: Bye.
            next: stop
          stop:
            end: {}
        """

    let runner: ConversationTestRunner

    init() throws {
        runner = ConversationTestRunner(flows: try loadFlows([Self.orderStatus]))
    }

    @Test func passingTestsPass() throws {
        let file = try ConversationTestFile.parse(
            """
            flow: order-status
            tests:
              - name: known order
                profile: { firstName: Ada }
                turns:
                  - user: hi
                    bot: ["Hi Ada!", "What is your order number?"]
                  - user: AB123456
                    bot:
                      - { text: "Order AB123456 is shipped.", data: { status: shipped } }
                    expect: { context: { status: shipped, orderId: AB123456 }, profile: { firstName: Ada }, handover: false }
              - name: unknown order goes to an agent and back
                turns:
                  - user: hi
                    bot: ["Hi there!", What is your order number?]
                  - user: ZZ999999
                    bot: [Let me connect you with a colleague.]
                    expect: { handover: true, context: { status: unknown } }
                  - user: anyone?
                    bot: []
                  - handover: completed
                    bot: [Bye.]
                    expect: { ended: true, copilot: [{ tile: summary, text: Handover completed }] }
              - name: data-only turn with context preset
                context: { attempts: 2 }
                turns:
                  - data: { clicked: true }
                    bot: ["Hi there!", "What is your order number?"]
                    expect: { context: { attempts: 2, missing: null } }
            """,
            path: "order-status.test.yaml"
        )
        let results = runner.run(file)
        #expect(results.map(\.name) == ["known order", "unknown order goes to an agent and back", "data-only turn with context preset"])
        for result in results {
            #expect(result.passed, "\(result)")
        }
    }

    @Test func failuresNameTheTestTheTurnAndBothValues() throws {
        let file = try ConversationTestFile.parse(
            """
            flow: order-status
            tests:
              - name: wrong expectations
                turns:
                  - user: hi
                    bot: ["Hi there!", "What is your order number?"]
                  - user: CD654321
                    bot: ["Order CD654321 is shipped."]
                    expect: { context: { status: shipped }, ended: true }
            """,
            path: "t.test.yaml"
        )
        let result = try #require(runner.run(file).first)
        #expect(!result.passed)
        #expect(result.failures.map(\.turn) == [2, 2, 2])
        #expect(
            result.failures[0].description == """
                turn 2 (user "CD654321"): bot
                    expected: ["Order CD654321 is shipped."]
                    actual:   [{ text: "Order CD654321 is packing.", data: {"status": "packing"} }]
                """
        )
        #expect(result.failures[1].message == #"context.status: expected "shipped", actual "packing""#)
        #expect(result.failures[2].message == "expected the conversation to end, it did not")
        #expect(result.description.hasPrefix("FAIL t.test.yaml: wrong expectations\n  turn 2 (user \"CD654321\"): bot\n      expected:"))
    }

    @Test func aTurnThatErrorsFailsUnlessExpected() throws {
        let flows = try loadFlows(["flow: boom\nnodes:\n  a:\n    code: throw new Error('no')\n"])
        let runner = ConversationTestRunner(flows: flows)
        let file = try ConversationTestFile.parse(
            """
            flow: boom
            tests:
              - name: unexpected
                turns: [{ user: x, bot: [] }]
              - name: expected
                turns: [{ user: x, bot: [], expect: { error: true } }]
            """,
            path: "b.test.yaml"
        )
        let results = runner.run(file)
        #expect(results[0].failures.map(\.message) == ["the turn failed: Error: no (line 1)"])
        #expect(results[1].passed)
    }

    @Test func parseErrorsHavePositions() {
        #expect(throws: EngineError.self) {
            try ConversationTestFile.parse("flow: x\ntests:\n  - name: a\n    turns:\n      - bot: [hi]\n", path: "p.test.yaml")
        }
        do {
            _ = try ConversationTestFile.parse("flow: x\ntests:\n  - name: a\n    turns:\n      - user: hi\n        bto: []\n", path: "p.test.yaml")
            Issue.record("expected a parse error")
        } catch {
            #expect("\(error)" == "p.test.yaml:6:9: unknown key 'bto' in a turn (expected user, data, speaker, handover, bot, effects, expect)")
        }
    }

    @Test func updateRewritesOnlyTheBotLists() throws {
        let original = """
            # Tests for the order flow.
            flow: order-status
            tests:
              - name: known order   # the happy path
                profile: { firstName: Ada }
                turns:
                  - user: hi
                    bot:
                      - "Hello!"
                      # a comment inside the list goes with it
                      - "Wrong"
                    # this comment stays
                    expect: { context: { attempts: 0 } }
                  - user: AB123456
                  - bot: ["stale"]
                    user: CD654321
              - name: unchanged
                turns:
                  - user: hi
                    bot: ["Hi there!", "What is your order number?"]   # kept as written
            """
        let file = try ConversationTestFile.parse(original, path: "u.test.yaml")
        let (results, text) = runner.update(file)
        #expect(results.map(\.passed) == [false, true])
        #expect(
            text == """
                # Tests for the order flow.
                flow: order-status
                tests:
                  - name: known order   # the happy path
                    profile: { firstName: Ada }
                    turns:
                      - user: hi
                        bot: ["Hi Ada!", "What is your order number?"]
                        # this comment stays
                        expect: { context: { attempts: 0 } }
                      - user: AB123456
                        bot: [{ text: "Order AB123456 is shipped.", data: {"status": "shipped"} }]
                      - bot: ["Hi Ada!", "What is your order number?"]
                        user: CD654321
                  - name: unchanged
                    turns:
                      - user: hi
                        bot: ["Hi there!", "What is your order number?"]   # kept as written
                """
        )
        let updated = try ConversationTestFile.parse(text, path: "u.test.yaml")
        #expect(runner.run(updated).allSatisfy { $0.passed })
    }

    @Test func updateFallsBackToRewritingFlowMappings() throws {
        let file = try ConversationTestFile.parse(
            """
            flow: order-status
            tests:
              - { name: compact, turns: [{ user: hi, bot: [] }, { user: "AB123456" }] }
            """,
            path: "c.test.yaml"
        )
        let (_, text) = runner.update(file)
        let updated = try ConversationTestFile.parse(text, path: "c.test.yaml")
        #expect(
            updated.tests.first?.turns.map(\.bot) == [
                [.text("Hi there!"), .text("What is your order number?")],
                [.message(text: "Order AB123456 is shipped.", data: ["status": "shipped"])],
            ]
        )
        #expect(runner.run(updated).allSatisfy { $0.passed })
    }

    @Test func updatedNumbersAndStringsReadBackExactly() throws {
        let flows = try loadFlows([
            """
            flow: values
            nodes:
              a:
                say:
                  text: "quote \\" backslash \\\\ tab\\t yes"
                  data: { small: 0.0000001, big: 1.0e21, int: 3, neg: -2.5, yes: "yes", no: false, nothing: null, list: ["no", 1] }
            """
        ])
        let runner = ConversationTestRunner(flows: flows)
        let file = try ConversationTestFile.parse("flow: values\ntests:\n  - name: v\n    turns:\n      - user: x\n", path: "v.test.yaml")
        let (_, text) = runner.update(file)
        let updated = try ConversationTestFile.parse(text, path: "v.test.yaml")
        let results = runner.run(updated)
        #expect(results.allSatisfy { $0.passed }, "\(text)\n\(results)")
        #expect(updated.tests[0].turns[0].bot?.count == 1)
    }

    @Test func findsTestFiles() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parley-find-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("sub"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for name in ["a.test.yaml", "a.yaml", "sub/b.test.yaml", "sub/c.test.yml"] {
            try "flow: a\ntests: []\n".write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let found = ConversationTestFile.find(in: [folder.path])
        #expect(found.map { String($0.dropFirst(folder.path.count + 1)) } == ["a.test.yaml", "sub/b.test.yaml", "sub/c.test.yml"])
        let loaded = try ConversationTestFile.load(path: found[0])
        #expect(loaded.flow == "a" && loaded.tests.isEmpty)
    }
}
