/// One problem found while loading or validating flows.
///
/// Validation collects every diagnostic instead of stopping at the first, so a user sees all problems at once.
/// The text form is `file:line:column: severity: message`.
public struct Diagnostic: Sendable, Hashable, Codable, CustomStringConvertible {
    /// How serious a problem is: errors reject the flow set, warnings do not.
    public enum Severity: String, Sendable, Hashable, Codable {
        case error
        case warning
    }

    /// Error or warning.
    public var severity: Severity
    /// A stable, machine-readable code such as `unknown-key` (see ``DiagnosticCode``).
    public var code: String
    /// A human message, one line.
    public var message: String
    /// Where the problem is.
    public var location: SourceLocation

    public init(_ severity: Severity, _ code: DiagnosticCode, _ message: String, at location: SourceLocation) {
        self.severity = severity
        self.code = code.rawValue
        self.message = message
        self.location = location
    }

    /// `file:line:column: severity: message`.
    public var description: String { "\(location): \(severity.rawValue): \(message)" }
}

/// The stable codes of flow diagnostics; `parley validate --format json` reports them.
public enum DiagnosticCode: String, Sendable, CaseIterable {
    case yamlSyntax = "yaml-syntax"
    case duplicateKey = "duplicate-key"
    case duplicateFlow = "duplicate-flow"
    case unknownKind = "unknown-kind"
    case unknownKey = "unknown-key"
    case noKind = "no-kind"
    case multipleKinds = "multiple-kinds"
    case missingField = "missing-field"
    case wrongType = "wrong-type"
    case invalidValue = "invalid-value"
    case invalidRegex = "invalid-regex"
    case scriptSyntax = "script-syntax"
    case missingNode = "missing-node"
    case missingFlow = "missing-flow"
    case unreachableNode = "unreachable-node"
    case cycleWithoutInput = "cycle-without-input"
    case unreadableFile = "unreadable-file"
    case unknownConnection = "unknown-connection"
    case wrongConnectionType = "wrong-connection-type"
    case toolBranch = "tool-branch"
    case duplicateExample = "duplicate-example"
}

extension Array where Element == Diagnostic {
    /// True when any diagnostic is an error.
    public var hasErrors: Bool { contains { $0.severity == .error } }

    /// Sorted by file, line, column, then message: the order in which reports list them.
    public func sortedByLocation() -> [Diagnostic] {
        sorted {
            ($0.location.file, $0.location.line, $0.location.column, $0.message)
                < ($1.location.file, $1.location.line, $1.location.column, $1.message)
        }
    }
}
