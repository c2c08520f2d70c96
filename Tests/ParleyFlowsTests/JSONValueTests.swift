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

    /// The parser against Foundation's `JSONDecoder` (through `JSONValue`'s `Codable` conformance) as the oracle:
    /// on random documents, pretty and compact, and on mutations of them, both accept the same texts with the same
    /// values and refuse the same texts.
    @Test
    func theParserAgreesWithFoundationsDecoderOnRandomAndMutatedDocuments() throws {
        var random = SeededGenerator(seed: 8259)
        var accepted = 0
        var refused = 0
        for round in 0..<3000 {
            let value = Self.randomValue(depth: 0, using: &random)
            var text = round % 2 == 0 ? value.canonicalJSON : Self.pretty(value, indent: "")
            if round % 3 != 0 {
                text = TextMutation.mutate(text, words: ["true", "null", "\\u", "\\ud83d", "1e400", "-", ".5", "01", "\"", "{", "]"], using: &random)
            }
            let expected = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            let parsed = try? JSONValue.parse(text)
            #expect(parsed == expected, "\(text.debugDescription)")
            if expected == nil { refused += 1 } else { accepted += 1 }
        }
        // Both kinds are exercised.
        #expect(accepted > 1000 && refused > 500)
    }

    @Test(arguments: [
        ("[1,]", true), ("{\"a\":1,}", true), ("[,]", false), ("[1,,]", false), ("01", false), ("1.", false), (".5", false), ("-", false), ("+1", false),
        ("1e", false), ("\"\\x\"", false), ("\"\\ud800\"", false), ("\"\\udc00\"", false), ("\"a\nb\"", false),
        ("[1] [2]", false), ("", false), ("nul", false), ("1e400", false), ("{\"a\" 1}", false),
        ("\"\\ud83d\\ude00\"", true), ("-0", true), ("1E+2", true), (" \t\r\n[ ] ", true), ("\"\\u0000\"", true),
        ("5e-324", true), ("{\"a\":1,\"a\":2}", true),
    ])
    func theGrammarsEdges(text: String, valid: Bool) throws {
        let expected = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect((expected != nil) == valid)
        #expect((try? JSONValue.parse(text)) == expected)
    }

    @Test
    func deepNestingIsRefusedWithoutTrapping() throws {
        #expect(try JSONValue.parse(String(repeating: "[", count: 512) + String(repeating: "]", count: 512)) != .null)
        #expect(throws: (any Error).self) { try JSONValue.parse(String(repeating: "[", count: 100_000)) }
        #expect(throws: (any Error).self) { try JSONValue.parse(String(repeating: "{\"a\":", count: 513) + "1" + String(repeating: "}", count: 513)) }
    }

    @Test
    func bytesMustBeUTF8() {
        #expect(JSONValue.parse(bytes: Array(#"{"a":"ü"}"#.utf8)) == ["a": "ü"])
        #expect(JSONValue.parse(bytes: [0x22, 0xFF, 0x22]) == nil)
        #expect(JSONValue.parse(bytes: Array("{".utf8)) == nil)
    }

    private static func randomValue(depth: Int, using random: inout SeededGenerator) -> JSONValue {
        let pieces = ["a", "é", "😀", "\"", "\\", "/", "\n", "\u{01}", " ", "key", "\u{2028}"]
        let kind = depth > 3 ? Int.random(in: 0..<4, using: &random) : Int.random(in: 0..<6, using: &random)
        switch kind {
        case 0: return [.null, .bool(true), .bool(false)][Int.random(in: 0..<3, using: &random)]
        case 1:
            let numbers: [Double] = [0, -1, 42, 2.5, -0.125, 1e21, 1.5e-7, 9_007_199_254_740_993, 123_456.789]
            return .number(numbers[Int.random(in: 0..<numbers.count, using: &random)])
        case 2, 3:
            return .string((0..<Int.random(in: 0..<4, using: &random)).map { _ in pieces[Int.random(in: 0..<pieces.count, using: &random)] }.joined())
        case 4: return .array((0..<Int.random(in: 0..<4, using: &random)).map { _ in randomValue(depth: depth + 1, using: &random) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0..<4, using: &random) {
                members[pieces[Int.random(in: 0..<pieces.count, using: &random)]] = randomValue(depth: depth + 1, using: &random)
            }
            return .object(members)
        }
    }

    /// Multi-line JSON, so the line mutations have lines to work on.
    private static func pretty(_ value: JSONValue, indent: String) -> String {
        switch value {
        case .array(let items) where !items.isEmpty:
            return "[\n" + items.map { indent + "  " + pretty($0, indent: indent + "  ") }.joined(separator: ",\n") + "\n" + indent + "]"
        case .object(let members) where !members.isEmpty:
            let lines = members.keys.sorted().map { key in
                indent + "  " + JSONValue.string(key).canonicalJSON + ": " + pretty(members[key] ?? .null, indent: indent + "  ")
            }
            return "{\n" + lines.joined(separator: ",\n") + "\n" + indent + "}"
        default: return value.canonicalJSON
        }
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
