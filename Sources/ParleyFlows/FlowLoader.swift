import Foundation

/// Loads flow files from disk (or memory) and validates them as one set.
///
/// ```swift
/// let result = FlowLoader(scriptChecker: JavaScriptSyntaxChecker()).load(paths: ["Flows"])
/// for problem in result.diagnostics { print(problem) }
/// let flows = result.flowSet  // nil when any error was found
/// ```
public struct FlowLoader {
    private let scriptChecker: (any ScriptSyntaxChecking)?
    private let connections: [String: ConnectionKind]?

    /// - Parameter connections: the deployment's connections, when it is known; flows naming others are errors.
    public init(scriptChecker: (any ScriptSyntaxChecking)? = nil, connections: [String: ConnectionKind]? = nil) {
        self.scriptChecker = scriptChecker
        self.connections = connections
    }

    /// Loads every flow file named in or found below `paths` (folders are searched recursively for `*.yaml` and
    /// `*.yml`, skipping `*.test.yaml`).
    public func load(paths: [String]) -> FlowLoadResult {
        var sources: [(file: String, text: String)] = []
        var diagnostics: [Diagnostic] = []
        for file in FlowLoader.flowFiles(in: paths) {
            let start = SourceLocation(file: file, line: 1, column: 1)
            guard let data = FileManager.default.contents(atPath: file) else {
                diagnostics.append(Diagnostic(.error, .unreadableFile, "cannot read file", at: start))
                continue
            }
            guard let text = String(data: data, encoding: .utf8) else {
                diagnostics.append(Diagnostic(.error, .unreadableFile, "file is not valid UTF-8 text", at: start))
                continue
            }
            sources.append((file, text))
        }
        let result = load(sources: sources)
        guard !diagnostics.isEmpty else { return result }
        return FlowLoadResult(flows: result.flows, diagnostics: diagnostics + result.diagnostics, files: result.files)
    }

    /// Loads flows from in-memory texts; `file` names each in diagnostics.
    public func load(sources: [(file: String, text: String)]) -> FlowLoadResult {
        var flows: [Flow] = []
        var diagnostics: [Diagnostic] = []
        for source in sources {
            var parser = FlowFileParser(file: source.file, text: source.text)
            if let flow = parser.parse(source.text) { flows.append(flow) }
            diagnostics += parser.diagnostics
        }
        diagnostics += FlowValidator(scriptChecker: scriptChecker, connections: connections).validate(flows)
        return FlowLoadResult(flows: flows, diagnostics: diagnostics, files: sources.map(\.file))
    }

    /// The flow files in `paths`: files as given, folders searched recursively, sorted by path.
    public static func flowFiles(in paths: [String]) -> [String] {
        files(in: paths, matching: isFlowFile)
    }

    /// Files as given, plus the files below each folder whose relative path matches, sorted per folder.
    public static func files(in paths: [String], matching: (String) -> Bool) -> [String] {
        var files: [String] = []
        let manager = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            guard isDirectory.boolValue else {
                files.append(path)
                continue
            }
            let base = path.hasSuffix("/") ? String(path.dropLast()) : path
            let found = (manager.enumerator(atPath: path)?.allObjects as? [String]) ?? []
            files += found.filter(matching).sorted().map { "\(base)/\($0)" }
        }
        return files
    }

    /// `*.yaml` or `*.yml`, but not a conversation test (`*.test.yaml`).
    public static func isFlowFile(_ path: String) -> Bool {
        (path.hasSuffix(".yaml") || path.hasSuffix(".yml")) && !path.hasSuffix(".test.yaml") && !path.hasSuffix(".test.yml")
    }
}

/// What loading found: the flows that parsed, every diagnostic, and the files read.
public struct FlowLoadResult: Sendable {
    public let flows: [Flow]
    /// Every problem, sorted by location.
    public let diagnostics: [Diagnostic]
    public let files: [String]
    /// The validated flow set, or `nil` when any diagnostic is an error.
    public let flowSet: FlowSet?

    public init(flows: [Flow], diagnostics: [Diagnostic], files: [String]) {
        self.flows = flows
        self.diagnostics = diagnostics.sortedByLocation()
        self.files = files
        self.flowSet = self.diagnostics.hasErrors ? nil : FlowSet(flows: flows)
    }

    public var errorCount: Int { diagnostics.filter { $0.severity == .error }.count }
    public var warningCount: Int { diagnostics.filter { $0.severity == .warning }.count }
}
