/// JavaScript's `String(number)` in Swift, so values rendered natively read exactly as JavaScript renders them.
public enum JavaScriptNumber {
    /// Formats `number` as ECMAScript's Number::toString does: the shortest digits that round-trip, plain
    /// notation for decimal exponents from -6 to 20, exponent notation (`1e+21`, `1.5e-7`) outside.
    public static func format(_ number: Double) -> String {
        if number.isNaN { return "NaN" }
        if number.isInfinite { return number < 0 ? "-Infinity" : "Infinity" }
        if number == 0 { return "0" }
        let sign = number < 0 ? "-" : ""
        // Swift's description also gives the shortest round-trip digits; only the layout differs.
        let text = abs(number).description
        var mantissa = Substring(text)
        var exponent = 0
        if let marker = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<marker]
            exponent = Int(text[text.index(after: marker)...]) ?? 0
        }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        let whole = parts[0]
        var digits = String(whole) + (parts.count > 1 ? String(parts[1]) : "")
        var point = whole.count + exponent
        while digits.hasPrefix("0") {
            digits.removeFirst()
            point -= 1
        }
        while digits.hasSuffix("0") { digits.removeLast() }
        let count = digits.count
        if count <= point && point <= 21 {
            return sign + digits + String(repeating: "0", count: point - count)
        }
        if 0 < point && point <= 21 {
            let index = digits.index(digits.startIndex, offsetBy: point)
            return sign + digits[..<index] + "." + digits[index...]
        }
        if -6 < point && point <= 0 {
            return sign + "0." + String(repeating: "0", count: -point) + digits
        }
        let power = point - 1
        let powerText = (power >= 0 ? "+" : "-") + String(abs(power))
        if count == 1 { return sign + digits + "e" + powerText }
        return sign + String(digits.prefix(1)) + "." + String(digits.dropFirst()) + "e" + powerText
    }
}
