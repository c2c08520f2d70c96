import Foundation
import ParleyFlows

/// Reads a question's answer out of an input: the typed result of DESIGN §2, or `nil` when the answer is invalid.
///
/// Text is trimmed of white space first. `yesNo` also ignores case and trailing `.` and `!`; `number` takes
/// `42`, ` 42 `, `-3.5`, `1e3`, a decimal comma (`3,5`) and thousands commas (`1,000`, `1,000.5`: a comma
/// followed by exactly three digits after a non-zero leading group).
enum Answer {
    static let yes: Set<String> = ["yes", "y", "yeah", "yep", "sure", "ok"]
    static let no: Set<String> = ["no", "n", "nope"]

    static func parse(text rawText: String, data: [String: JSONValue], type: Question.AnswerType, pattern: String?) -> JSONValue? {
        let text = rawText.trimmingCharacters(in: .whitespacesAndNewlines)
        switch type {
        case .text:
            return text.isEmpty ? nil : .string(text)
        case .any:
            return .string(text)
        case .data:
            return data.isEmpty ? nil : .object(data)
        case .yesNo:
            var word = text.lowercased()
            while let last = word.last, last == "." || last == "!" { word.removeLast() }
            if yes.contains(word) { return .bool(true) }
            if no.contains(word) { return .bool(false) }
            return nil
        case .number:
            return number(text).map(JSONValue.number)
        case .email:
            return isEmail(text) ? .string(text) : nil
        case .regex:
            guard let pattern, let expression = try? NSRegularExpression(pattern: pattern) else { return nil }
            let range = NSRange(text.startIndex..<text.endIndex, in: text)
            return expression.firstMatch(in: text, range: range) == nil ? nil : .string(text)
        }
    }

    /// A number in one of the accepted spellings, or `nil`.
    static func number(_ text: String) -> Double? {
        var scalars = Array(text.unicodeScalars)
        guard !scalars.isEmpty else { return nil }
        var sign = ""
        if scalars[0] == "+" || scalars[0] == "-" {
            sign = scalars[0] == "-" ? "-" : ""
            scalars.removeFirst()
        }
        let body = String(String.UnicodeScalarView(scalars))
        let normalised: String
        if matches(body, #"^[1-9][0-9]{0,2}(,[0-9]{3})+(\.[0-9]+)?$"#) {
            normalised = body.replacingOccurrences(of: ",", with: "")
        } else if matches(body, #"^[0-9]*,[0-9]+$"#) {
            normalised = body.replacingOccurrences(of: ",", with: ".")
        } else {
            normalised = body
        }
        guard matches(normalised, #"^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"#), let value = Double(sign + normalised), value.isFinite else {
            return nil
        }
        return value == 0 ? 0 : value
    }

    /// `local@domain.tld` without white space; the domain has a dot that is not at either end.
    static func isEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !text.contains(where: \.isWhitespace) else { return false }
        let domain = parts[1]
        guard let dot = domain.lastIndex(of: "."), dot != domain.startIndex, domain.index(after: dot) != domain.endIndex else { return false }
        return !domain.hasPrefix(".") && !domain.contains("..")
    }

    private static func matches(_ text: String, _ pattern: String) -> Bool {
        text.range(of: pattern, options: .regularExpression) != nil
    }
}
