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

    /// Issue 26: a repair booking needs a date; `type: date` was refused with "did you mean 'data'?". The clock of
    /// these chats is 2025-01-01T12:00Z (a Wednesday) plus a second a turn.
    @Test(arguments: [
        ("2024-06-14", "2024-06-14"), ("14 June", "2025-06-14"), ("June 14th, 2026", "2026-06-14"), ("tomorrow", "2025-01-02"),
        ("today", "2025-01-01"), ("friday", "2025-01-03"), ("on the 3rd of March please", "2025-03-03"),
    ])
    func datesGiveISOText(text: String, expected: String) throws {
        #expect(try answer(text, type: "date") == .string(expected))
    }

    @Test(arguments: ["", "soon", "2024-02-30", "32 June", "next week"])
    func whatIsNoDateIsAskedAgain(text: String) throws {
        #expect(try answer(text, type: "date") == nil)
    }

    @Test(arguments: [
        ("14:30", "14:30"), ("9:05", "09:05"), ("2:30 pm", "14:30"), ("2pm", "14:00"), ("2 p.m.", "14:00"), ("12 am", "00:00"),
        ("12pm", "12:00"), ("noon", "12:00"), ("Midnight", "00:00"), (" 07:00 ", "07:00"), ("14h30", "14:30"),
    ])
    func timesGiveHoursAndMinutes(text: String, expected: String) throws {
        #expect(try answer(text, type: "time") == .string(expected))
    }

    @Test(arguments: ["", "25:00", "13 pm", "12:60", "14", "half past two", "2:3"])
    func whatIsNoTimeIsAskedAgain(text: String) throws {
        #expect(try answer(text, type: "time") == nil)
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
