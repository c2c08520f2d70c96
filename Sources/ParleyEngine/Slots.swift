import Foundation
import ParleyFlows

/// The simple entities of DESIGN §2 found in a text: `number`, `email` and `date`, each a list in text order.
///
/// - `email`: `local@domain.tld`.
/// - `date` (ISO `YYYY-MM-DD` strings): ISO dates (`2024-06-14`); a day and a month name in either order, with an
///   optional ordinal suffix and year (`14 June`, `14th of June 2024`, `June 14`, `Jun 14, 2024`); `today`,
///   `tomorrow`, `yesterday`, `the day after tomorrow`; a weekday (`friday`, `next friday`: the next one after
///   today). Without a year, a date is the next one on or after today. "Today" is the day of `input.currentTime`,
///   in UTC.
/// - `number`: digits with an optional sign, thousands commas and decimals (`42`, `-3.5`, `1,250`), not touching a
///   letter or digit (`AB123456` is no number), and the words `zero` to `twenty`. Numbers inside an email or a
///   date do not count again.
///
/// Deterministic: no locale, no clock (the time comes in).
enum Slots {
    static func extract(from text: String, currentTime: String) -> JSONValue {
        let source = text as NSString
        var taken: [NSRange] = []
        func free(_ range: NSRange) -> Bool { !taken.contains { NSIntersectionRange($0, range).length > 0 } }
        func matches(_ expression: NSRegularExpression?) -> [NSTextCheckingResult] {
            expression?.matches(in: text, range: NSRange(location: 0, length: source.length)) ?? []
        }

        var emails: [(Int, JSONValue)] = []
        for match in matches(Pattern.email) {
            taken.append(match.range)
            emails.append((match.range.location, .string(source.substring(with: match.range))))
        }

        var dates: [(Int, JSONValue)] = []
        let today = CivilDate(iso: currentTime)
        func addDate(_ date: CivilDate?, _ range: NSRange) {
            guard let date, free(range) else { return }
            taken.append(range)
            dates.append((range.location, .string(date.iso)))
        }
        func group(_ match: NSTextCheckingResult, _ index: Int) -> String? {
            let range = match.range(at: index)
            return range.location == NSNotFound ? nil : source.substring(with: range).lowercased()
        }
        for match in matches(Pattern.isoDate) {
            addDate(CivilDate(year: Int(group(match, 1) ?? ""), month: Int(group(match, 2) ?? ""), day: Int(group(match, 3) ?? "")), match.range)
            // An impossible ISO date (2024-02-30) is no date, and no three numbers either.
            if free(match.range) { taken.append(match.range) }
        }
        for (pattern, dayGroup, monthGroup) in [(Pattern.dayMonth, 1, 2), (Pattern.monthDay, 2, 1)] as [(NSRegularExpression?, Int, Int)] {
            for match in matches(pattern) {
                guard let today, let day = Int(group(match, dayGroup) ?? ""), let month = Month.number(group(match, monthGroup) ?? "") else {
                    continue
                }
                if let year = group(match, 3).flatMap({ Int($0) }) {
                    addDate(CivilDate(year: year, month: month, day: day), match.range)
                } else {
                    addDate(today.next(month: month, day: day), match.range)
                }
            }
        }
        for match in matches(Pattern.relativeDay) {
            guard let today, let word = group(match, 0) else { continue }
            let offset = word.hasSuffix("after tomorrow") ? 2 : word == "tomorrow" ? 1 : word == "yesterday" ? -1 : 0
            addDate(today.adding(days: offset), match.range)
        }
        for match in matches(Pattern.weekday) {
            guard let today, let name = group(match, 2), let weekday = Month.weekday(name) else { continue }
            addDate(today.next(weekday: weekday), match.range)
        }

        var numbers: [(Int, JSONValue)] = []
        for match in matches(Pattern.digits) where free(match.range) {
            let literal = source.substring(with: match.range).replacingOccurrences(of: ",", with: "")
            if let value = Double(literal), value.isFinite { numbers.append((match.range.location, .number(value == 0 ? 0 : value))) }
        }
        for match in matches(Pattern.numberWord) where free(match.range) {
            if let value = Month.numberWords.firstIndex(of: source.substring(with: match.range).lowercased()) {
                numbers.append((match.range.location, .number(Double(value))))
            }
        }
        func ordered(_ items: [(Int, JSONValue)]) -> JSONValue { .array(items.sorted { $0.0 < $1.0 }.map(\.1)) }
        return ["number": ordered(numbers), "email": ordered(emails), "date": ordered(dates)]
    }

    /// The regular expressions, compiled once.
    private enum Pattern {
        static let months =
            "january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
        static let email = compile(#"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"#)
        static let isoDate = compile(#"(?<![0-9])([0-9]{4})-([0-9]{2})-([0-9]{2})(?![0-9])"#)
        static let dayMonth = compile(#"\b([0-9]{1,2})(?:st|nd|rd|th)?(?:\s+of)?\s+("# + months + #")\b\.?(?:,?\s+([0-9]{4})\b)?"#)
        static let monthDay = compile(#"\b("# + months + #")\.?\s+([0-9]{1,2})(?:st|nd|rd|th)?\b(?:,?\s+([0-9]{4})\b)?"#)
        static let relativeDay = compile(#"\b(?:the\s+day\s+after\s+tomorrow|day\s+after\s+tomorrow|tomorrow|today|yesterday)\b"#)
        static let weekday = compile(#"\b(next\s+)?(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"#)
        static let digits = compile(#"(?<![\p{L}\p{N}.,])[-+]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?(?![\p{L}\p{N}]|[.,][0-9])"#)
        static let numberWord = compile(
            #"\b(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty)\b"#
        )

        /// The patterns are constants of this file; the tests check that each compiles and matches.
        static func compile(_ pattern: String) -> NSRegularExpression? {
            try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive])
        }
    }

    private enum Month {
        static let names = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"]
        static let numberWords = [
            "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen",
            "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
        ]
        static let weekdays = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]

        static func number(_ name: String) -> Int? {
            let key = name.hasPrefix("sept") ? "sep" : name
            return names.firstIndex { $0.hasPrefix(key) && key.count >= 3 }.map { $0 + 1 }
        }

        /// 0 for Sunday to 6 for Saturday.
        static func weekday(_ name: String) -> Int? { weekdays.firstIndex(of: name) }
    }
}

/// A day of the proleptic Gregorian calendar, computed without a calendar object (Howard Hinnant's algorithms).
struct CivilDate: Hashable {
    let year: Int
    let month: Int
    let day: Int

    /// A valid date, or nil (`2024-02-30`).
    init?(year: Int?, month: Int?, day: Int?) {
        guard let year, let month, let day, (1...9999).contains(year), (1...12).contains(month), day >= 1,
            day <= CivilDate.days(inMonth: month, year: year)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// The date part of an ISO 8601 time (`2025-01-01T12:00:00.000Z`), read as UTC.
    init?(iso: String) {
        let parts = iso.prefix(10).split(separator: "-")
        guard parts.count == 3 else { return nil }
        self.init(year: Int(parts[0]), month: Int(parts[1]), day: Int(parts[2]))
    }

    private init(serial: Int) {
        let z = serial + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// Days since 1970-01-01.
    var serial: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// 0 for Sunday to 6 for Saturday.
    var weekday: Int { ((serial % 7) + 11) % 7 }

    var iso: String {
        func pad(_ value: Int, _ width: Int) -> String { String(repeating: "0", count: max(0, width - String(value).count)) + String(value) }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    func adding(days: Int) -> CivilDate? {
        let result = CivilDate(serial: serial + days)
        return (1...9999).contains(result.year) ? result : nil
    }

    /// The next `month`/`day` on or after this date.
    func next(month: Int, day: Int) -> CivilDate? {
        if let date = CivilDate(year: year, month: month, day: day), date.serial >= serial { return date }
        // 29 February: the next leap year.
        for offset in 1...8 {
            if let date = CivilDate(year: year + offset, month: month, day: day) { return date }
        }
        return nil
    }

    /// The next `weekday` strictly after this date.
    func next(weekday target: Int) -> CivilDate? {
        let ahead = (target - weekday + 7) % 7
        return adding(days: ahead == 0 ? 7 : ahead)
    }

    static func days(inMonth month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
