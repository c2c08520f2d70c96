import Foundation
import ParleyEngine
import ParleyFlows
import Testing

/// The built-in intent classifier, slots, and classification by an external NLU service.
@Suite struct IntentTests {
    static let support = """
        flow: support
        intents:
          order_status: { examples: ["where is my order", "track my parcel", "has my package shipped yet", "when will my delivery arrive"] }
          opening_hours: { examples: ["when are you open", "what are your opening hours", "are you open on sunday"] }
          cancel: ["cancel my order", "I want to cancel the purchase", "please stop my order"]
        nodes:
          route:
            switch:
              value: input.intent
              cases: { order_status: status, opening_hours: hours, cancel: cancel }
              default: unknown
          status: { say: "status {{input.intentScore > 0.5}}" }
          hours: { say: "hours" }
          cancel: { say: "cancel" }
          unknown: { say: "unknown {{input.intents.length}}" }
        """

    @Test(arguments: [
        ("Where's my order?", "status true"), ("tracking my parcels", "status true"), ("has the package shipped", "status true"),
        ("What are the opening hours?", "hours"), ("are you opened on sunday", "hours"), ("I'd like to cancel my order", "cancel"),
        ("what is the capital of peru", "unknown 3"), ("bananas", "unknown 3"),
    ])
    func inputsAreRoutedByTheirIntent(text: String, expected: String) throws {
        var chat = try TestChat(Self.support)
        let turn = try chat.conversation.send(text: text, currentTime: "2025-01-01T00:00:00Z")
        #expect(turn.outputs.map(\.text) == [expected], "\(turn.classification.map { "\($0.intents)" } ?? "")")
    }

    @Test func theClassificationIsDeterministicAndScored() throws {
        let flows = try loadFlows([Self.support])
        let classifier = try #require(Engine(flows: flows).classifier(of: "support"))
        let scores = classifier.classify("where is my parcel")
        #expect(scores.map(\.intent).first == "order_status")
        #expect(scores.count == 3)
        #expect(scores.allSatisfy { (0...1).contains($0.score) })
        #expect(scores[0].score > scores[1].score)
        // A new classifier from the same examples gives the very same numbers.
        #expect(IntentClassifier(intents: try #require(flows.flow("support")).intents).classify("where is my parcel") == scores)
        #expect(classifier.classify("").allSatisfy { $0.score < 0.5 })
    }

    @Test func aThresholdLeavesWeakMatchesUnnamed() throws {
        let strict = Self.support.replacingOccurrences(of: "intents:\n", with: "nlu: { threshold: 0.99 }\nintents:\n")
        var chat = try TestChat(strict)
        let turn = try chat.conversation.send(text: "is my order on its way", currentTime: "2025-01-01T00:00:00Z")
        #expect(turn.classification?.intent == nil)
        #expect(turn.classification?.intents.first?.intent == "order_status")
        #expect(turn.outputs.map(\.text) == ["unknown 3"])
    }

    @Test func slotsAreFoundInTextOrder() throws {
        let flow = """
            flow: slots
            intents:
              book: ["book a table"]
            nodes:
              show: { say: "{{input.slots}}" }
            """
        var chat = try TestChat(flow)
        let turn = try chat.conversation.send(
            text:
                "Book for two, then 3 more and 1,250.5 on 14 June, June 3rd 2026, tomorrow and next friday; mail ada@example.org, not AB123456 or 2024-02-30",
            currentTime: "2025-06-20T10:00:00.000Z"
        )
        let slots = try #require(turn.classification?.slots)
        #expect(slots["number"] == [2, 3, 1250.5])
        #expect(slots["email"] == ["ada@example.org"])
        #expect(slots["date"] == ["2026-06-14", "2026-06-03", "2025-06-21", "2025-06-27"])
        #expect(
            try chat.conversation.send(text: "2024-06-14 and yesterday", currentTime: "2025-01-01T00:00:00Z").classification?.slots["date"]
                == ["2024-06-14", "2024-12-31"]
        )
    }

    @Test func anExternalNLUClassifiesTheInputBeforeTheTurn() throws {
        let flow = """
            flow: remote
            nlu: { connection: nlu, threshold: 0.6 }
            nodes:
              show: { say: "{{input.intent}} {{input.intentScore}} {{input.slots.number}}" }
            """
        var chat = try TestChat(flow)
        var seen: [Effect] = []
        let turn = try chat.conversation.send(text: "order 42", currentTime: "2025-01-01T00:00:00Z") { effect in
            seen.append(effect)
            return .response(status: 200, headers: [:], body: ["intent": "order_status", "score": 0.9, "slots": ["number": [42]]])
        }
        #expect(seen.map(\.kind) == [.nlu])
        #expect(seen.first?.body == ["text": "order 42", "flow": "remote", "userId": "u1", "sessionId": "s1"])
        #expect(seen.first?.node == nil)
        #expect(turn.outputs.map(\.text) == ["order_status 0.9 [42]"])
        // Under the threshold, or with no answer, no intent; the built-in slots stay.
        let weak = try chat.conversation.send(text: "order 7", currentTime: "2025-01-01T00:00:01Z") { _ in
            .response(status: 200, headers: [:], body: ["intent": "order_status", "score": 0.5])
        }
        #expect(weak.outputs.map(\.text) == [" 0.5 [7]"])
        let down = try chat.conversation.send(text: "order 8", currentTime: "2025-01-01T00:00:02Z") { _ in .failure("refused") }
        #expect(down.outputs.map(\.text) == [" 0 [8]"])
        #expect(down.trace.first?.notes.first?.message.contains("refused") == true)
    }

    @Test func flowsWithoutIntentsAreNotClassified() throws {
        var chat = try TestChat(TestFlows.greeting)
        #expect(try chat.conversation.send(text: "hi", currentTime: "2025-01-01T00:00:00Z").classification == nil)
    }
}
