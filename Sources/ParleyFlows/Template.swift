/// A string with `{{ expression }}` placeholders, as in CognigyScript.
///
/// A placeholder runs from `{{` to the first `}}` after it; the expression between is JavaScript.
/// A string that is exactly one placeholder (``singleExpression``) keeps the expression's JSON type where the
/// design says so (`data`, `set`, `copilot` values).
public struct Template: Sendable, Hashable {
    /// A piece of a template.
    public enum Segment: Sendable, Hashable {
        case text(String)
        /// An expression and the offset, in Unicode scalars, of its first character in the template.
        case expression(String, offset: Int)
        /// `{{{ expression }}}`: the same, marked raw: where values are escaped (a copilot `html` tile), this one
        /// is not. Elsewhere it renders as `{{ }}` does.
        case raw(String, offset: Int)

        /// The expression and its offset, raw or not; nil for text.
        public var expression: (source: String, offset: Int)? {
            switch self {
            case .text: nil
            case .expression(let source, let offset), .raw(let source, let offset): (source, offset)
            }
        }
    }

    public var segments: [Segment]
    /// The offset of a `{{` that has no closing `}}`; its text is kept as plain text.
    public var unclosedOffset: Int?

    /// Splits `text` into text and expression segments.
    public init(_ text: String) {
        var segments: [Segment] = []
        var unclosed: Int?
        let scalars = Array(text.unicodeScalars)
        var literal = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            if let (expression, end) = Self.raw(in: scalars, at: index) {
                if !literal.isEmpty {
                    segments.append(.text(String(literal)))
                    literal = String.UnicodeScalarView()
                }
                segments.append(.raw(expression, offset: index + 3))
                index = end
                continue
            }
            if scalars[index] == "{", index + 1 < scalars.count, scalars[index + 1] == "{" {
                var end = index + 2
                while end + 1 < scalars.count, !(scalars[end] == "}" && scalars[end + 1] == "}") { end += 1 }
                if end + 1 < scalars.count {
                    if !literal.isEmpty {
                        segments.append(.text(String(literal)))
                        literal = String.UnicodeScalarView()
                    }
                    var expression = String.UnicodeScalarView()
                    expression.append(contentsOf: scalars[(index + 2)..<end])
                    segments.append(.expression(String(expression), offset: index + 2))
                    index = end + 2
                    continue
                }
                unclosed = unclosed ?? index
            }
            literal.append(scalars[index])
            index += 1
        }
        if !literal.isEmpty { segments.append(.text(String(literal))) }
        self.segments = segments
        self.unclosedOffset = unclosed
    }

    /// `{{{ expression }}}` starting at `index`: the expression and the index after the closing braces.
    private static func raw(in scalars: [Unicode.Scalar], at index: Int) -> (String, Int)? {
        guard index + 2 < scalars.count, scalars[index] == "{", scalars[index + 1] == "{", scalars[index + 2] == "{" else { return nil }
        var end = index + 3
        while end + 2 < scalars.count {
            if scalars[end] == "}", scalars[end + 1] == "}", scalars[end + 2] == "}" {
                var expression = String.UnicodeScalarView()
                expression.append(contentsOf: scalars[(index + 3)..<end])
                return (String(expression), end + 3)
            }
            end += 1
        }
        return nil
    }

    /// True when the text has at least one placeholder.
    public var hasExpressions: Bool {
        segments.contains { $0.expression != nil }
    }

    /// The expression when the whole string is one placeholder (surrounding spaces allowed), else `nil`.
    public var singleExpression: String? {
        let meaningful = segments.filter {
            if case .text(let text) = $0 { return !text.allSatisfy(\.isWhitespace) }
            return true
        }
        guard meaningful.count == 1, let (expression, _) = meaningful[0].expression else { return nil }
        return expression
    }

    /// Quick test used on hot paths: does `text` contain `{{` at all?
    public static func mayContainExpressions(_ text: String) -> Bool {
        text.contains("{{")
    }
}
