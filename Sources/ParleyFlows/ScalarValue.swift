import Yams

/// The value of a YAML scalar under the YAML 1.2 core schema: only `true`/`false` are booleans, `null`, `~`
/// and the empty plain scalar are null, numbers are decimal, octal (`0o`), hex (`0x`), `.inf` and `.nan`;
/// everything else, and every quoted or block scalar, is text.
///
/// Yams resolves tags with one `NSRegularExpression` per rule and scalar, and again on every hash; the loader
/// parses with Yams' `basic` resolver (everything text) and types plain scalars here. Measured on 200 files of
/// 50 nodes, this halves the load time (BENCHMARKS.md).
enum ScalarValue: Equatable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case text(String)

    init(_ scalar: Yams.Node.Scalar) {
        let text = scalar.string
        guard scalar.style == .plain || scalar.style == .any else {
            self = .text(text)
            return
        }
        switch text {
        case "", "~", "null", "Null", "NULL": self = .null
        case "true", "True", "TRUE": self = .bool(true)
        case "false", "False", "FALSE": self = .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": self = .number(.infinity)
        case "-.inf", "-.Inf", "-.INF": self = .number(-.infinity)
        case ".nan", ".NaN", ".NAN": self = .number(.nan)
        default: self = ScalarValue.number(text) ?? .text(text)
        }
    }

    private static func number(_ text: String) -> ScalarValue? {
        guard let first = text.utf8.first,
            first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".")
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first)
        else { return nil }
        if text.hasPrefix("0o"), let value = Int(text.dropFirst(2), radix: 8) { return .integer(value) }
        if text.hasPrefix("0x"), let value = Int(text.dropFirst(2), radix: 16) { return .integer(value) }
        let digits = text.drop { $0 == "-" || $0 == "+" }
        guard text.count - digits.count <= 1, !digits.isEmpty,
            digits.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "." || $0 == "e" || $0 == "E" || $0 == "-" || $0 == "+") })
        else { return nil }
        if digits.allSatisfy({ $0.isNumber }), let value = Int(text) { return .integer(value) }
        // [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
        let mantissaEnd = digits.firstIndex { $0 == "e" || $0 == "E" } ?? digits.endIndex
        let mantissa = digits[..<mantissaEnd]
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.allSatisfy({ $0.allSatisfy(\.isNumber) }), parts.contains(where: { !$0.isEmpty }),
            parts.count == 2 || !parts[0].isEmpty
        else { return nil }
        if parts.count == 2, parts[1].isEmpty, parts[0].isEmpty { return nil }
        if mantissaEnd != digits.endIndex {
            let exponent = digits[digits.index(after: mantissaEnd)...].drop { $0 == "-" || $0 == "+" }
            let signs = digits[digits.index(after: mantissaEnd)...].count - exponent.count
            guard signs <= 1, !exponent.isEmpty, exponent.allSatisfy(\.isNumber) else { return nil }
        }
        return Double(text).map(ScalarValue.number)
    }
}

extension JSONValue {
    /// Converts a YAML node composed with Yams' `basic` resolver, typing plain scalars by the YAML 1.2 core schema
    /// (see ``ScalarValue``). Aliases become `null`.
    public init(yaml node: Yams.Node) {
        switch node {
        case .scalar(let scalar):
            switch ScalarValue(scalar) {
            case .null: self = .null
            case .bool(let flag): self = .bool(flag)
            case .integer(let number): self = .number(Double(number))
            case .number(let number): self = .number(number)
            case .text(let text): self = .string(text)
            }
        case .sequence(let sequence):
            self = .array(sequence.map(JSONValue.init(yaml:)))
        case .mapping(let mapping):
            var members: [String: JSONValue] = [:]
            for pair in mapping { members[pair.key.string ?? ""] = JSONValue(yaml: pair.value) }
            self = .object(members)
        case .alias:
            self = .null
        }
    }
}
