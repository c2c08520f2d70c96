/// A piece of JavaScript found in a flow file, with what is needed to point at it: a `code` body, a `condition`
/// or `switch` expression, or the expression of a `{{ }}` template.
public struct ScriptSite: Sendable, Hashable {
    /// How the source must parse.
    public enum Kind: String, Sendable, Hashable {
        /// A function body (`code` nodes).
        case statements
        /// A single expression (`condition`, `switch` values, templates).
        case expression
    }

    public var kind: Kind
    public var source: String
    /// The node the script belongs to.
    public var nodeId: String
    /// Maps a position inside ``source`` back to the file.
    public var origin: TextOrigin

    public init(kind: Kind, source: String, nodeId: String, origin: TextOrigin) {
        self.kind = kind
        self.source = source
        self.nodeId = nodeId
        self.origin = origin
    }
}

/// Where a piece of text taken from a YAML scalar stands in its file.
///
/// Line 1 of the text starts at ``start``; later lines start at column ``indent`` + 1, as in a literal block
/// scalar (`|`). For other multi-line scalars the line is exact only when no folding happened; the column is a
/// best effort there.
public struct TextOrigin: Sendable, Hashable {
    public var start: SourceLocation
    public var indent: Int

    public init(start: SourceLocation, indent: Int) {
        self.start = start
        self.indent = indent
    }

    /// The file location of `line`/`column` (from 1) inside the text.
    public func location(line: Int, column: Int) -> SourceLocation {
        if line <= 1 {
            return SourceLocation(file: start.file, line: start.line, column: start.column + column - 1)
        }
        return SourceLocation(file: start.file, line: start.line + line - 1, column: indent + column)
    }

    /// The origin of a substring that begins `offset` Unicode scalars into `text`.
    public func shifted(by offset: Int, in text: String) -> TextOrigin {
        var line = 1
        var column = 1
        for (index, scalar) in text.unicodeScalars.enumerated() {
            if index == offset { break }
            if scalar == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return TextOrigin(start: location(line: line, column: column), indent: indent)
    }
}
