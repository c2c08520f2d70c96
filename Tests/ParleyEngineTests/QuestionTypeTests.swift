import ParleyEngine
import ParleyFlows
import Testing

/// Each case asks one question and answers it; `nil` expects the answer to be rejected.
@Suite struct QuestionTypeTests {
    func answer(_ text: String, data: [String: JSONValue] = [:], type: String, pattern: String? = nil) throws -> JSONValue? {
        let patternLine = pattern.map { "\n      pattern: '\($0)'" } ?? ""
        var chat = try TestChat(
            """
            flow: q
            nodes:
              ask:
                question:
                  text: "?"
                  type: \(type)\(patternLine)
                  store: context.answer
                  reprompt: again
                next: done
              done:
                say: ok
            """
        )
        _ = try chat.send("start")
        let turn = try chat.send(text, data: data)
        if turn.outputs.map(\.text) == ["again"] {
            #expect(turn.trace.map(\.outcome) == ["invalid"])
            #expect(chat.context["answer"] == nil)
            return nil
        }
        #expect(turn.outputs.map(\.text) == ["ok"])
        return chat.context["answer"]
    }

    @Test(arguments: [
        ("yes", true), ("Y", true), ("yeah", true), ("YEP", true), ("Sure", true), ("ok", true), (" OK ", true), ("Yes!", true),
        ("no", false), ("N", false), ("Nope", false), ("no.", false),
    ])
    func yesNoVariants(text: String, expected: Bool) throws {
        #expect(try answer(text, type: "yesNo") == .bool(expected))
    }

    @Test(arguments: ["maybe", "", "yes please", "nah", "y e s"])
    func yesNoRejects(text: String) throws {
        #expect(try answer(text, type: "yesNo") == nil)
    }

    @Test(
        arguments: [
            ("42", 42.0), (" 42 ", 42), ("3,5", 3.5), ("-2.5", -2.5), ("+7", 7), ("1,000", 1000), ("1,234,567.5", 1_234_567.5), ("0,001", 0.001),
            ("1e3", 1000), (".5", 0.5), ("-0", 0),
        ] as [(String, Double)]
    )
    func numbers(text: String, expected: Double) throws {
        #expect(try answer(text, type: "number") == .number(expected))
    }

    @Test(arguments: ["", "abc", "4 2", "nan", "inf", "infinity", "0x10", "1,2,3", "12abc", "--1", "1e999"])
    func numberRejects(text: String) throws {
        #expect(try answer(text, type: "number") == nil)
    }

    @Test func textIsTrimmedAndNonEmpty() throws {
        #expect(try answer("  hello world \n", type: "text") == "hello world")
        #expect(try answer("", type: "text") == nil)
        #expect(try answer("   ", type: "text") == nil)
        // Data alone is not a text answer.
        #expect(try answer("", data: ["x": 1], type: "text") == nil)
    }

    @Test func emails() throws {
        #expect(try answer(" ada@example.com ", type: "email") == "ada@example.com")
        for bad in ["ada", "ada@", "@example.com", "ada@example", "ada@@example.com", "a da@example.com", "ada@example.", "ada@.com", ""] {
            #expect(try answer(bad, type: "email") == nil, "\(bad)")
        }
    }

    @Test func regexHonoursAnchors() throws {
        let anchored = "^[A-Z]{2}[0-9]{6}$"
        #expect(try answer("AB123456", type: "regex", pattern: anchored) == "AB123456")
        #expect(try answer(" AB123456 ", type: "regex", pattern: anchored) == "AB123456")
        #expect(try answer("xAB123456", type: "regex", pattern: anchored) == nil)
        #expect(try answer("AB1234567", type: "regex", pattern: anchored) == nil)
        #expect(try answer("ab123456", type: "regex", pattern: anchored) == nil)
        // Without anchors the pattern may match anywhere, as JavaScript's RegExp.test does.
        #expect(try answer("order 123 please", type: "regex", pattern: "[0-9]+") == "order 123 please")
        #expect(try answer("no digits", type: "regex", pattern: "[0-9]+") == nil)
    }

    @Test func dataNeedsInputData() throws {
        #expect(try answer("", data: ["choice": "b", "n": 2], type: "data") == ["choice": "b", "n": 2])
        #expect(try answer("some text", type: "data") == nil)
        #expect(try answer("", type: "data") == nil)
    }

    @Test func anyTakesEverything() throws {
        #expect(try answer("", type: "any") == "")
        #expect(try answer("  whatever ", type: "any") == "whatever")
        #expect(try answer("", data: ["x": 1], type: "any") == "")
    }
}
