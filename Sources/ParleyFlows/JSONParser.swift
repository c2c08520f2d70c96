/// Parses JSON text (RFC 8259) straight into ``JSONValue``.
///
/// Foundation's `JSONDecoder` reaches a `JSONValue` only through `Codable`, which cannot ask a value's kind and so
/// tries each kind in turn, building an error for every miss. That made parsing the largest cost of a turn's
/// runtime work and about 60% of `parley replay` (BENCHMARKS.md). This parser reads the UTF-8 bytes once and accepts
/// what `JSONDecoder` accepts: any value at the top level, the six escapes and `\u` with surrogate pairs, numbers by
/// the JSON grammar that fit a `Double` (a number beyond it is an error, as there), at most 512 levels of nesting.
/// Where `JSONDecoder` is lenient, so is this parser, so that every stored text parses as it did: a comma may end
/// an array or an object (`[1,]`), and of duplicate keys the first one counts. It never traps on its input.
struct JSONParser {
    /// Why the text is not JSON, and where.
    struct Failure: Error, CustomStringConvertible, Sendable {
        var offset: Int
        var reason: String
        var description: String { "not valid JSON at byte \(offset): \(reason)" }
    }

    static let maxDepth = 512

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        // A byte order mark before the text is allowed, and ignored.
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }
    }

    /// The one JSON value of `bytes` (valid UTF-8), with nothing but whitespace around it.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(Failure) -> JSONValue {
        var parser = JSONParser(bytes)
        parser.skipWhitespace()
        let value = try parser.value()
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.failure("more text after the value") }
        return value
    }

    private func failure(_ reason: String) -> Failure {
        Failure(offset: index, reason: reason)
    }

    private var next: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let byte = next, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
    }

    private mutating func value() throws(Failure) -> JSONValue {
        guard let byte = next else { throw failure("the text ends where a value should start") }
        switch byte {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw failure("a value cannot start with this character")
        }
    }

    private mutating func literal(_ word: StaticString, _ value: JSONValue) throws(Failure) -> JSONValue {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw failure("expected \(word)") }
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: count)
        for offset in 0..<count where bytes[index + offset] != expected[offset] { throw failure("expected \(word)") }
        index += count
        return value
    }

    private mutating func nest() throws(Failure) {
        depth += 1
        guard depth <= Self.maxDepth else { throw failure("more than \(Self.maxDepth) levels of nesting") }
    }

    private mutating func object() throws(Failure) -> JSONValue {
        try nest()
        defer { depth -= 1 }
        index += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if next == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard next == UInt8(ascii: "\"") else { throw failure("expected a member name in quotes") }
            let key = try string()
            skipWhitespace()
            guard next == UInt8(ascii: ":") else { throw failure("expected ':' after a member name") }
            index += 1
            skipWhitespace()
            let member = try value()
            if members[key] == nil { members[key] = member }
            skipWhitespace()
            switch next {
            case UInt8(ascii: ","):
                index += 1
                skipWhitespace()
                if next == UInt8(ascii: "}") {
                    index += 1
                    return .object(members)
                }
            case UInt8(ascii: "}"):
                index += 1
                return .object(members)
            default: throw failure("expected ',' or '}' in an object")
            }
        }
    }

    private mutating func array() throws(Failure) -> JSONValue {
        try nest()
        defer { depth -= 1 }
        index += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if next == UInt8(ascii: "]") {
            index += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try value())
            skipWhitespace()
            switch next {
            case UInt8(ascii: ","):
                index += 1
                skipWhitespace()
                if next == UInt8(ascii: "]") {
                    index += 1
                    return .array(items)
                }
            case UInt8(ascii: "]"):
                index += 1
                return .array(items)
            default: throw failure("expected ',' or ']' in an array")
            }
        }
    }

    private mutating func string() throws(Failure) -> String {
        index += 1
        let start = index
        // Most strings have no escape: their bytes are the string's.
        while let byte = next {
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw failure("a control character in a string (escape it)") }
            index += 1
        }
        var out = Array(bytes[start..<index])
        while let byte = next {
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let escape = next else { throw failure("the text ends inside an escape") }
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"): UTF8.encode(try escapedScalar()) { out.append($0) }
                default: throw failure("an unknown escape")
                }
            default:
                guard byte >= 0x20 else { throw failure("a control character in a string (escape it)") }
                out.append(byte)
            }
        }
        throw failure("the text ends inside a string")
    }

    /// After `\u`: four hex digits, and for a high surrogate the `\uXXXX` of its low one.
    private mutating func escapedScalar() throws(Failure) -> Unicode.Scalar {
        let first = try hex4()
        var value = first
        if (0xD800...0xDBFF).contains(first) {
            guard next == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                throw failure("a high surrogate without its low surrogate")
            }
            index += 2
            let low = try hex4()
            guard (0xDC00...0xDFFF).contains(low) else { throw failure("a high surrogate without its low surrogate") }
            value = 0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00...0xDFFF).contains(first) {
            throw failure("a low surrogate without its high surrogate")
        }
        guard let scalar = Unicode.Scalar(value) else { throw failure("not a Unicode scalar") }
        return scalar
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard bytes.count - index >= 4 else { throw failure("expected four hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("expected four hex digits")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    private var nextIsDigit: Bool {
        guard let byte = next else { return false }
        return (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, read as the nearest `Double`.
    private mutating func number() throws(Failure) -> Double {
        let start = index
        if next == UInt8(ascii: "-") { index += 1 }
        if next == UInt8(ascii: "0") {
            index += 1
        } else if nextIsDigit {
            while nextIsDigit { index += 1 }
        } else {
            throw failure("expected a digit")
        }
        if next == UInt8(ascii: ".") {
            index += 1
            guard nextIsDigit else { throw failure("expected a digit after the decimal point") }
            while nextIsDigit { index += 1 }
        }
        if next == UInt8(ascii: "e") || next == UInt8(ascii: "E") {
            index += 1
            if next == UInt8(ascii: "+") || next == UInt8(ascii: "-") { index += 1 }
            guard nextIsDigit else { throw failure("expected a digit in the exponent") }
            while nextIsDigit { index += 1 }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let number = Double(text), number.isFinite else { throw Failure(offset: start, reason: "a number beyond a Double's range") }
        return number
    }
}
