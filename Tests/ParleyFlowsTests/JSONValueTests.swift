import Foundation
import ParleyFlows
import ParleyTestRandom
import Testing

@Suite("JSONValue: canonical JSON and parsing")
struct JSONValueTests {
    @Test
    func canonicalJSONSortsKeysAndEscapesWhatJSONRequires() throws {
        let value: JSONValue = [
            "b": [1, 2.5, true, nil],
            "a": .string("q\"b\\s\n\r\t\u{08}\u{0C}\u{01}\u{1F} ü😀/"),
            "": ["z": [:], "y": []],
        ]
        #expect(value.canonicalJSON == #"{"":{"y":[],"z":{}},"a":"q\"b\\s\n\r\t\b\f\u0001\u001f ü😀/","b":[1,2.5,true,null]}"#)
    }

    /// The canonical form is hashed into digests that replay compares, so its bytes must not change: random strings
    /// are written as a plain scalar-by-scalar escaper writes them, and parse back to themselves.
    @Test
    func randomStringsAreWrittenAsTheReferenceEscaperWritesThemAndParseBack() throws {
        let alphabet = Array("aZ09 \"\\/\n\r\t\u{08}\u{0C}\u{00}\u{01}\u{1B}\u{1F}\u{7F}é€😀")
        var random = SeededGenerator(seed: 14)
        for _ in 0..<500 {
            let length = Int.random(in: 0..<24, using: &random)
            let text = String((0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &random)] })
            let written = JSONValue.object([text: .string(text)]).canonicalJSON
            let expected = "{" + Self.reference(text) + ":" + Self.reference(text) + "}"
            #expect(written == expected)
            #expect(try JSONValue.parse(written) == .object([text: .string(text)]))
        }
    }

    @Test
    func parsingGivesEachKindItsCase() throws {
        let parsed = try JSONValue.parse(#"{"s":"x","n":-1.5e3,"t":true,"f":false,"z":null,"a":[{"k":[]},"1",1],"o":{}}"#)
        #expect(
            parsed == [
                "s": "x", "n": -1500, "t": true, "f": false, "z": nil, "a": [["k": []], "1", 1], "o": [:],
            ]
        )
        #expect(try JSONValue.parse("[]") == [])
        #expect(try JSONValue.parse(#""text""#) == "text")
        #expect(throws: (any Error).self) { try JSONValue.parse("{") }
    }

    private static func reference(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
