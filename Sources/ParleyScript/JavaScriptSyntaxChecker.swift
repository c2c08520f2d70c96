import CJavaScriptCore
import Foundation
import ParleyFlows

/// Checks JavaScript syntax with JavaScriptCore's parser (`JSCheckScriptSyntax`), without running anything.
///
/// Scripts are checked exactly as the engine wraps them: `code` bodies as the body of a function, expressions
/// inside parentheses. The wrapper opens on its own line, so JavaScriptCore's line numbers map straight back to
/// the script's lines. Not thread-safe: use one checker per thread.
public final class JavaScriptSyntaxChecker: ScriptSyntaxChecking {
    private let context: JSGlobalContextRef

    public init() {
        context = JSGlobalContextCreate(nil)
    }

    deinit {
        JSGlobalContextRelease(context)
    }

    public func syntaxError(in site: ScriptSite) -> ScriptSyntaxError? {
        let script = JSStringCreateWithUTF8CString(ScriptWrapper.wrap(site.source, as: site.kind))
        defer { JSStringRelease(script) }
        var exception: JSValueRef?
        if JSCheckScriptSyntax(context, script, nil, 1, &exception) { return nil }
        var message = exception.flatMap { JavaScriptValues.string($0, in: context) } ?? "syntax error"
        if message.hasPrefix("SyntaxError: ") { message.removeFirst("SyntaxError: ".count) }
        let reported = exception.flatMap { JavaScriptValues.number(property: "line", of: $0, in: context) }
            .flatMap { CheckedNumber.integer($0, in: 1...Int(Int32.max)) }
        let (line, column) = Self.position(ofLine: (reported ?? 2) - ScriptWrapper.headerLines, message: message, in: site.source)
        return ScriptSyntaxError(message: message, line: line, column: column)
    }

    /// JavaScriptCore's syntax check reports a line but no column. Point at the offending token when the message
    /// quotes one and the line has it, else at the line's first character; an error on the wrapper's closing
    /// line (an unfinished script) points just past the script's end.
    static func position(ofLine line: Int, message: String, in source: String) -> (line: Int, column: Int) {
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        guard line >= 1 else { return (1, 1) }
        guard line <= lines.count else {
            let last = lines.last ?? ""
            return (lines.count, last.unicodeScalars.count + 1)
        }
        let text = lines[line - 1]
        if let open = message.firstIndex(of: "'"), let close = message[message.index(after: open)...].firstIndex(of: "'"),
            close > message.index(after: open),
            let found = text.range(of: message[message.index(after: open)..<close])
        {
            return (line, text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: found.lowerBound) + 1)
        }
        return (line, text.prefix(while: { $0 == " " || $0 == "\t" }).unicodeScalars.count + 1)
    }
}

/// How the engine wraps flow scripts before JavaScriptCore sees them.
enum ScriptWrapper {
    /// The wrapper's first line stands before the script, which starts on line 2.
    static let headerLines = 1

    static func wrap(_ source: String, as kind: ScriptSite.Kind) -> String {
        switch kind {
        case .statements: "(function (input, context, profile, api, ci, cc, cp) {\n\(source)\n})"
        case .expression: "(\n\(source)\n)"
        }
    }
}
