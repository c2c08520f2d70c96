import Foundation

/// A JSON value: what flows hold in `context`, `data` and `set`, and what the engine passes to and from JavaScript.
///
/// Numbers are `Double`, as in JavaScript, so a value survives a round trip through a script unchanged.
/// Objects are unordered; ``canonicalJSON`` sorts keys, which makes every serialisation deterministic.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// An empty JSON object.
    public static let emptyObject = JSONValue.object([:])

    /// The wrapped dictionary when this value is an object.
    public var objectValue: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// The wrapped string when this value is a string.
    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// The wrapped array when this value is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// The wrapped number when this value is a number.
    public var numberValue: Double? {
        if case .number(let number) = self { return number }
        return nil
    }

    /// The wrapped boolean when this value is a boolean.
    public var boolValue: Bool? {
        if case .bool(let flag) = self { return flag }
        return nil
    }

    /// Looks up a member of an object; `nil` for other values and missing members.
    public subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }

    /// Compact JSON with object keys sorted: the same value always gives the same bytes.
    public var canonicalJSON: String {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        write(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Text as a template renders it: strings as they are, `null` as `""`, everything else as JSON.
    public var renderedText: String {
        switch self {
        case .string(let text): return text
        case .null: return ""
        default: return canonicalJSON
        }
    }

    // Written as UTF-8 bytes: appending to a String scalar by scalar was a tenth of a turn's time.
    private func write(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let number): out.append(contentsOf: JSONValue.format(number).utf8)
        case .string(let text): JSONValue.writeString(text, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                item.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, member) in members.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeString(member.key, to: &out)
                out.append(UInt8(ascii: ":"))
                member.value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Formats a number the way JavaScript's `String(n)` does for the common cases: integers without a fraction.
    public static func format(_ number: Double) -> String {
        if number.isNaN || number.isInfinite { return "null" }
        if number == number.rounded(), abs(number) < 9_007_199_254_740_992 {
            return String(Int64(number))
        }
        return "\(number)"
    }

    /// A JSON string: `"`, `\\` and the control characters escaped (the short escapes where JSON has one, else
    /// `\\u00xx`), every other character as its UTF-8 bytes.
    private static func writeString(_ text: String, to out: inout [UInt8]) {
        let quote = UInt8(ascii: "\"")
        let backslash = UInt8(ascii: "\\")
        out.append(quote)
        var text = text
        text.withUTF8 { bytes in
            var plain = 0
            for index in bytes.indices {
                let byte = bytes[index]
                guard byte < 0x20 || byte == quote || byte == backslash else { continue }
                out.append(contentsOf: bytes[plain..<index])
                plain = index + 1
                out.append(backslash)
                switch byte {
                case quote, backslash: out.append(byte)
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "t"))
                case 0x08: out.append(UInt8(ascii: "b"))
                case 0x0C: out.append(UInt8(ascii: "f"))
                default:
                    let digits = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: [
                        UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), digits[Int(byte >> 4)], digits[Int(byte & 0x0F)],
                    ])
                }
            }
            out.append(contentsOf: bytes[plain...])
        }
        out.append(quote)
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        // Codable cannot ask a value's type, so each kind is tried in turn, and every miss throws (an error value
        // with its coding path and message: the cost of parsing). The most frequent kinds come first: strings, then
        // the scalars, objects before arrays. A JSON value matches one kind only, so the order changes no result.
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let fields = try? container.decode([String: JSONValue].self) {
            self = .object(fields)
        } else {
            self = .array(try container.decode([JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let flag): try container.encode(flag)
        case .number(let number): try container.encode(number)
        case .string(let text): try container.encode(text)
        case .array(let items): try container.encode(items)
        case .object(let members): try container.encode(members)
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByFloatLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension JSONValue {
    /// Parses JSON text (``JSONParser``).
    public static func parse(_ text: String) throws -> JSONValue {
        var text = text
        return try text.withUTF8 { bytes in try JSONParser.parse(bytes) }
    }

    /// Parses JSON bytes: nil unless they are UTF-8 and JSON.
    public static func parse(bytes: [UInt8]) -> JSONValue? {
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        return try? parse(text)
    }
}
