import Foundation
import ParleyFlows
import ParleyScript

/// Expressions and `{{ }}` templates (DESIGN §3).
///
/// A plain path (`context.orderId`, `cp.name`, `input.data.x`) that leads through objects to an existing key is
/// read natively; anything else, including a path that misses, goes to JavaScript, so both give the same result.
extension TurnRunner {
    /// The outcome of one expression.
    enum Evaluation {
        case value(JSONValue)
        case undefined
        case failure(String)
    }

    mutating func evaluate(_ expression: String) -> Evaluation {
        if let value = NativePath(expression)?.resolve(in: scope) { return .value(value) }
        switch runtime().evaluate(expression, scope: scope) {
        case .success(let value?): return .value(value)
        case .success(nil): return .undefined
        case .failure(let failure): return .failure(failure.message)
        }
    }

    /// JavaScript truthiness; an expression that throws counts as false and leaves a warning.
    mutating func truthiness(of expression: String) -> Bool {
        if let value = NativePath(expression)?.resolve(in: scope) { return value.isTruthy }
        switch runtime().truthiness(of: expression, scope: scope) {
        case .success(let flag): return flag
        case .failure(let failure):
            warn("condition '\(expression)' failed: \(failure.message)")
            return false
        }
    }

    /// `String(value)`; an expression that throws gives `nil` (no case matches) and leaves a warning.
    mutating func switchText(_ expression: String) -> String? {
        if let value = NativePath(expression)?.resolve(in: scope) {
            switch value {
            case .string(let text): return text
            case .number(let number): return JavaScriptNumber.format(number)
            case .bool(let flag): return flag ? "true" : "false"
            case .null: return "null"
            case .array, .object: break
            }
        }
        switch runtime().text(of: expression, scope: scope) {
        case .success(let text): return text
        case .failure(let failure):
            warn("switch value '\(expression)' failed: \(failure.message)")
            return nil
        }
    }

    /// Renders the `{{ }}` placeholders of a string as text.
    mutating func renderText(_ text: String) -> String {
        guard Template.mayContainExpressions(text) else { return text }
        var result = ""
        for segment in Template(text).segments {
            switch segment {
            case .text(let literal): result += literal
            case .expression(let expression, _), .raw(let expression, _): result += placeholderText(expression)
            }
        }
        return result
    }

    /// Renders the `{{ }}` placeholders of a copilot `html` tile: every value is HTML-escaped, so a user's
    /// `<script>` in `{{input.text}}` shows as text (issue 25); `{{{ expr }}}` inserts a trusted value as it is.
    mutating func renderHTML(_ html: String) -> String {
        guard Template.mayContainExpressions(html) else { return html }
        var result = ""
        for segment in Template(html).segments {
            switch segment {
            case .text(let literal): result += literal
            case .expression(let expression, _): result += Self.escapingHTML(placeholderText(expression))
            case .raw(let expression, _): result += placeholderText(expression)
            }
        }
        return result
    }

    /// `&`, `<`, `>`, `"` and `'` as character references: safe in element content and quoted attributes.
    static func escapingHTML(_ text: String) -> String {
        guard text.contains(where: { "&<>\"'".contains($0) }) else { return text }
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count + 16)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// Renders every string inside a JSON value; a string that is exactly one `{{expr}}` takes the expression's
    /// JSON value. `nil` when that value is `undefined` (members with such values are dropped, array items
    /// become `null`).
    mutating func renderValue(_ value: JSONValue) -> JSONValue? {
        switch value {
        case .string(let text):
            guard Template.mayContainExpressions(text) else { return value }
            let template = Template(text)
            guard let expression = template.singleExpression else { return .string(renderText(text)) }
            switch evaluate(expression) {
            case .value(let result): return result
            case .undefined:
                warn("{{\(expression)}} is undefined")
                return nil
            case .failure(let message):
                warn("{{\(expression)}} failed: \(message)")
                return nil
            }
        case .array(let items):
            var rendered: [JSONValue] = []
            for item in items { rendered.append(renderValue(item) ?? .null) }
            return .array(rendered)
        case .object(let members):
            var rendered: [String: JSONValue] = [:]
            for key in members.keys.sorted() {
                if let item = renderValue(members[key]!) { rendered[key] = item }
            }
            return .object(rendered)
        default:
            return value
        }
    }

    /// A `say`/`handover` message with its templates rendered.
    mutating func render(_ message: Message) -> Output {
        Output(text: message.text.map { renderText($0) }, data: message.data.flatMap { renderValue($0) })
    }

    private mutating func placeholderText(_ expression: String) -> String {
        switch evaluate(expression) {
        case .value(let value): return Self.text(of: value)
        case .undefined:
            warn("{{\(expression)}} is undefined")
            return ""
        case .failure(let message):
            warn("{{\(expression)}} failed: \(message)")
            return ""
        }
    }

    /// How a value reads inside text: strings as they are, `null` as nothing, numbers as JavaScript prints
    /// them, objects and arrays as compact JSON with sorted keys.
    static func text(of value: JSONValue) -> String {
        switch value {
        case .string(let text): text
        case .null: ""
        case .bool(let flag): flag ? "true" : "false"
        case .number(let number): JavaScriptNumber.format(number)
        case .array, .object: value.canonicalJSON
        }
    }
}

/// A dotted path from `input`, `context`, `profile` or a shortcut, read without JavaScript.
struct NativePath {
    enum Root { case input, context, profile }

    let root: Root
    let keys: [Substring]

    init?(_ expression: String) {
        let trimmed = expression.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.utf8.count < 200 else { return nil }
        let parts = trimmed.split(separator: ".", omittingEmptySubsequences: false)
        switch parts[0] {
        case "input", "ci": root = .input
        case "context", "cc": root = .context
        case "profile", "cp": root = .profile
        default: return nil
        }
        for part in parts.dropFirst() {
            guard let first = part.unicodeScalars.first, first.isIdentifierStart, part.unicodeScalars.allSatisfy(\.isIdentifierPart),
                part != "__proto__"
            else { return nil }
        }
        keys = Array(parts.dropFirst())
    }

    /// The value, when every step is an own key of an object; `nil` means "ask JavaScript".
    func resolve(in scope: ScriptScope) -> JSONValue? {
        var current: [String: JSONValue]
        switch root {
        case .input: current = scope.input
        case .context: current = scope.context
        case .profile: current = scope.profile
        }
        var value = JSONValue.object(current)
        for (index, key) in keys.enumerated() {
            guard let next = current[String(key)] else { return nil }
            value = next
            if let object = next.objectValue {
                current = object
            } else if index < keys.count - 1 {
                return nil
            }
        }
        return value
    }
}

extension Unicode.Scalar {
    fileprivate var isIdentifierStart: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) || self == "_" || self == "$" }
    fileprivate var isIdentifierPart: Bool { isIdentifierStart || ("0"..."9").contains(self) }
}

extension JSONValue {
    /// JavaScript truthiness of a JSON value.
    var isTruthy: Bool {
        switch self {
        case .null: false
        case .bool(let flag): flag
        case .number(let number): number != 0 && !number.isNaN
        case .string(let text): !text.isEmpty
        case .array, .object: true
        }
    }
}
