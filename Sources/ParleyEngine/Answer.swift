import Foundation
import ParleyFlows

/// Reads a question's answer out of an input: the typed result of DESIGN §2, or `nil` when the answer is invalid.
///
/// Text is trimmed of white space first. `yesNo` also ignores case and trailing `.` and `!`; `number` takes
/// `42`, ` 42 `, `-3.5`, `1e3`, a decimal comma (`3,5`) and thousands commas (`1,000`, `1,000.5`: a comma
/// followed by exactly three digits after a non-zero leading group). `date` takes what the `date` slot understands
/// (`2024-06-14`, `14 June`, `tomorrow`, `friday`, relative to `input.currentTime`) and gives `YYYY-MM-DD`; `time`
/// takes `14:30`, `9:05`, `2:30 pm`, `2pm`, `2 p.m.`, `noon`, `midnight` and gives `HH:MM`.
enum Answer {
    static let yes: Set<String> = ["yes", "y", "yeah", "yep", "sure", "ok"]
    static let no: Set<String> = ["no", "n", "nope"]

    static func parse(
        text rawText: String,
        data: [String: JSONValue],
        type: Question.AnswerType,
        pattern: String?,
        currentTime: String = ""
    ) -> JSONValue? {
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
        case .date:
            return Slots.extract(from: text, currentTime: currentTime)["date"]?.arrayValue?.first
        case .time:
            return time(text).map(JSONValue.string)
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

    /// A time of day as `HH:MM`: 24-hour `H:MM`/`HH:MM`, 12-hour `H[:MM] am|pm` (also `a.m.`/`p.m.`), `noon`,
    /// `midnight`; nil for anything else (`25:00`, `13 pm`).
    static func time(_ text: String) -> String? {
        let lower = text.lowercased().replacingOccurrences(of: ".", with: "")
        switch lower {
        case "noon", "midday": return "12:00"
        case "midnight": return "00:00"
        default: break
        }
        guard let match = timePattern?.firstMatch(in: lower, range: NSRange(lower.startIndex..<lower.endIndex, in: lower)) else { return nil }
        func group(_ index: Int) -> String? {
            Range(match.range(at: index), in: lower).map { String(lower[$0]) }
        }
        guard let hourText = group(1), var hour = Int(hourText) else { return nil }
        let minute = group(2).flatMap(Int.init) ?? 0
        guard minute < 60 else { return nil }
        if let half = group(3) {
            guard (1...12).contains(hour) else { return nil }
            hour = hour % 12 + (half == "pm" ? 12 : 0)
        } else {
            guard group(2) != nil, hour < 24 else { return nil }
        }
        return (hour < 10 ? "0" : "") + "\(hour):" + (minute < 10 ? "0" : "") + "\(minute)"
    }

    private static let timePattern = try? NSRegularExpression(pattern: #"^([0-9]{1,2})(?:[:h]([0-9]{2}))?\s*(am|pm)?$"#)

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
