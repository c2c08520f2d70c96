/// Checked conversions of numbers that come from outside: a request, a query string, a configuration file, a
/// flow, a test file, a transcript or a stored row.
///
/// Swift's `Int(someDouble)` traps on a value out of range (`1e300`), on NaN and on infinity, and `a + 1` traps on
/// overflow; a value a client controls must never reach either. Every conversion of such a value goes through here
/// and gets `nil` instead of a trap, so the caller can answer with a clear error (`400 invalid_field`, a located
/// diagnostic, a typed engine error).
///
/// ```swift
/// CheckedNumber.integer(1e300)                 // nil
/// CheckedNumber.integer(2.5)                   // nil: not a whole number
/// CheckedNumber.integer(42, in: 1...1000)      // 42
/// JSONValue.number(3).integer(in: 0...10)      // 3
/// ```
public enum CheckedNumber {
    /// The whole number `value` stands for, when it is one and lies in `range`; `nil` otherwise (NaN, infinities,
    /// fractions, values out of range). `-0.0` is `0`.
    public static func integer(_ value: Double, in range: ClosedRange<Int> = Int.min...Int.max) -> Int? {
        guard let whole = Int(exactly: value), range.contains(whole) else { return nil }
        return whole
    }

    /// The whole number a decimal string spells (`"42"`, `"-7"`), when it lies in `range`; `nil` for anything else
    /// (`"1e3"`, `"4.0"`, `" 1"`, digits that overflow).
    public static func integer(_ text: some StringProtocol, in range: ClosedRange<Int> = Int.min...Int.max) -> Int? {
        guard let whole = Int(text), range.contains(whole) else { return nil }
        return whole
    }

    /// `value + 1`, or `nil` when that overflows.
    public static func successor(_ value: Int) -> Int? {
        let (result, overflow) = value.addingReportingOverflow(1)
        return overflow ? nil : result
    }

    /// `lhs × rhs`, or `nil` when that overflows.
    public static func product(_ lhs: Int, _ rhs: Int) -> Int? {
        let (result, overflow) = lhs.multipliedReportingOverflow(by: rhs)
        return overflow ? nil : result
    }

    /// Whole seconds (rounded up) of a time interval for a message, clamped to `0...Int.max`.
    public static func wholeSeconds(_ seconds: Double) -> Int {
        guard seconds.isFinite, seconds > 0 else { return 0 }
        return integer(seconds.rounded(.up)) ?? Int.max
    }

    /// Milliseconds as `Int64` for a sleep or a timeout, clamped to `0...maximum` (one day by default); NaN gives 0.
    public static func milliseconds(_ seconds: Double, maximum: Int64 = 86_400_000) -> Int64 {
        guard seconds.isFinite, seconds > 0 else { return seconds.isInfinite && seconds > 0 ? maximum : 0 }
        let value = (seconds * 1000).rounded(.up)
        return value >= Double(maximum) ? maximum : Int64(exactly: value) ?? maximum
    }
}

extension JSONValue {
    /// The value as a whole number in `range`, when it is a number that is one; `nil` for every other value.
    public func integer(in range: ClosedRange<Int> = Int.min...Int.max) -> Int? {
        numberValue.flatMap { CheckedNumber.integer($0, in: range) }
    }
}
