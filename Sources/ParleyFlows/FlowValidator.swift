/// Checks a whole set of flows: what no single file can tell on its own.
///
/// - duplicate flow ids across files;
/// - `start`, edges, `goto` and `execute` that point at missing nodes or flows;
/// - JavaScript syntax of every ``ScriptSite`` (through the injected ``ScriptSyntaxChecking``);
/// - unreachable nodes (a warning);
/// - loops that can run without waiting for input (an error: every loop must pass a `question`, `wait` or
///   `handover`).
public struct FlowValidator {
    private let scriptChecker: (any ScriptSyntaxChecking)?

    /// - Parameter scriptChecker: checks JavaScript syntax; without one, scripts are not checked.
    public init(scriptChecker: (any ScriptSyntaxChecking)? = nil) {
        self.scriptChecker = scriptChecker
    }

    /// Every problem of the set, in no particular order.
    public func validate(_ flows: [Flow]) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        var byId: [String: Flow] = [:]
        for flow in flows {
            if let earlier = byId[flow.id] {
                diagnostics.append(
                    Diagnostic(.error, .duplicateFlow, "duplicate flow id '\(flow.id)' (also defined at \(earlier.location))", at: flow.location)
                )
            } else {
                byId[flow.id] = flow
            }
        }
        for flow in flows where byId[flow.id] == flow {
            diagnostics += checkReferences(flow, flows: byId)
            diagnostics += checkScripts(flow)
        }
        let graph = ExecutionGraph(flows: byId)
        diagnostics += graph.unreachableNodes()
        diagnostics += graph.loopsWithoutInput()
        return diagnostics
    }

    private func checkReferences(_ flow: Flow, flows: [String: Flow]) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        let nodeIds = flow.nodes.map(\.id)
        func missingNode(_ target: String, at location: SourceLocation, label: String) {
            diagnostics.append(
                Diagnostic(
                    .error,
                    .missingNode,
                    "\(label) points to missing node '\(target)' in flow '\(flow.id)'\(NameSuggestion.hint(for: target, in: nodeIds))",
                    at: location
                )
            )
        }
        if !flow.nodes.isEmpty, flow.node(flow.start) == nil {
            missingNode(flow.start, at: flow.startLocation ?? flow.location, label: "'start'")
        }
        for node in flow.nodes {
            for (label, edge) in node.edges.labelled where flow.node(edge.target) == nil {
                missingNode(edge.target, at: edge.location, label: "'\(label)' of node '\(node.id)'")
            }
            switch node.kind {
            case .goto(let reference), .execute(let reference):
                guard let target = flows[reference.flow] else {
                    diagnostics.append(
                        Diagnostic(
                            .error,
                            .missingFlow,
                            "'\(node.kind.name)' points to missing flow '\(reference.flow)'\(NameSuggestion.hint(for: reference.flow, in: Array(flows.keys).sorted()))",
                            at: reference.location
                        )
                    )
                    continue
                }
                if let nodeId = reference.node, target.node(nodeId) == nil {
                    diagnostics.append(
                        Diagnostic(
                            .error,
                            .missingNode,
                            "'\(node.kind.name)' points to missing node '\(nodeId)' in flow '\(target.id)'\(NameSuggestion.hint(for: nodeId, in: target.nodes.map(\.id)))",
                            at: reference.location
                        )
                    )
                }
            default:
                break
            }
        }
        return diagnostics
    }

    private func checkScripts(_ flow: Flow) -> [Diagnostic] {
        guard let scriptChecker else { return [] }
        return flow.scripts.compactMap { site in
            guard let problem = scriptChecker.syntaxError(in: site) else { return nil }
            return Diagnostic(
                .error,
                .scriptSyntax,
                "JavaScript syntax error in node '\(site.nodeId)': \(problem.message)",
                at: site.origin.location(line: problem.line, column: problem.column)
            )
        }
    }
}

/// A JavaScript syntax error, positioned inside the script's own text (line and column from 1).
public struct ScriptSyntaxError: Sendable, Hashable, Error {
    public var message: String
    public var line: Int
    public var column: Int

    public init(message: String, line: Int, column: Int) {
        self.message = message
        self.line = line
        self.column = column
    }
}

/// Checks the syntax of JavaScript without running it. The flow layer knows no JavaScript engine;
/// `ParleyScript` provides the JavaScriptCore implementation.
public protocol ScriptSyntaxChecking {
    /// The first syntax error of the site's source, or `nil` when it parses.
    func syntaxError(in site: ScriptSite) -> ScriptSyntaxError?
}
