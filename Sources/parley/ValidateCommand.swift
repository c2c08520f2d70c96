import ArgumentParser
import Foundation
import ParleyFlows
import ParleyRuntime
import ParleyScript

/// `parley validate [PATH...] [--format text|json]`: checks flow files and folders, reporting every problem.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check flow files or folders and list every problem as path:line:column: severity: message."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Argument(help: "Flow files or folders (default: Flows).")
    var paths: [String] = []

    @Option(help: "Output format: text or json.")
    var format: Format = .text

    @Option(help: "Also check the flows against a deployment: its connections (names and types) and its endpoints' flows.")
    var config: String?

    func run() throws {
        let deployment = try config.map(StoreSource.configuration)
        var result = try FlowSource.load(paths.isEmpty ? ["Flows"] : paths, connections: deployment?.connectionKinds)
        if let deployment, let config {
            // An endpoint whose flow is not in the set cannot serve: located at the configuration file.
            let problems = deployment.endpoints.filter { endpoint in !result.flows.contains { $0.id == endpoint.flow } }.map { endpoint in
                Diagnostic(
                    .error,
                    .missingFlow,
                    "endpoint '\(endpoint.name)' names flow '\(endpoint.flow)', which is not among the flows checked",
                    at: SourceLocation(file: config, line: 1, column: 1)
                )
            }
            result = FlowLoadResult(flows: result.flows, diagnostics: result.diagnostics + problems, files: result.files)
        }
        switch format {
        case .text:
            for diagnostic in result.diagnostics { emit(diagnostic.description) }
            emit(FlowSource.summary(of: result))
        case .json:
            emit(ValidationReport(result).json)
        }
        if result.diagnostics.hasErrors || result.files.isEmpty { throw ExitCode(1) }
    }
}

/// The JSON form of a validation: counts, the content hash when valid, and every diagnostic.
struct ValidationReport {
    let result: FlowLoadResult

    init(_ result: FlowLoadResult) {
        self.result = result
    }

    var json: String {
        let diagnostics: [JSONValue] = result.diagnostics.map {
            [
                "file": .string($0.location.file), "line": .number(Double($0.location.line)),
                "column": .number(Double($0.location.column)), "severity": .string($0.severity.rawValue),
                "code": .string($0.code), "message": .string($0.message),
            ]
        }
        let report: JSONValue = [
            "valid": .bool(!result.diagnostics.hasErrors && !result.files.isEmpty),
            "files": .number(Double(result.files.count)),
            "flows": .array(result.flows.map(\.id).sorted().map(JSONValue.string)),
            "errors": .number(Double(result.errorCount)),
            "warnings": .number(Double(result.warningCount)),
            "contentHash": result.flowSet.map { .string($0.contentHash) } ?? .null,
            "diagnostics": .array(diagnostics),
        ]
        return report.canonicalJSON
    }
}
