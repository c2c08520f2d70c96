/// Checks a whole set of flows: what no single file can tell on its own.
///
/// - duplicate flow ids across files;
/// - `start`, edges, `goto` and `execute` that point at missing nodes or flows;
/// - JavaScript syntax of every ``ScriptSite`` (through the injected ``ScriptSyntaxChecking``);
/// - unreachable nodes (a warning);
/// - loops that can run without waiting for input (an error: every loop must pass a `question`, `wait` or
///   `handover`);
/// - tool branches of `llm` nodes: each must reach a `resolveTool` and may not contain a `question`, `wait`,
///   `handover`, `goto` or `llm` node; a `resolveTool` outside every tool branch is an error;
/// - example sentences that two intents of a flow share (a warning);
/// - when the deployment is known, connections the deployment does not declare or declares with another type.
public struct FlowValidator {
    private let scriptChecker: (any ScriptSyntaxChecking)?
    private let connections: [String: ConnectionKind]?

    /// - Parameters:
    ///   - scriptChecker: checks JavaScript syntax; without one, scripts are not checked.
    ///   - connections: the deployment's connections by name (`serve`, `validate --config`); without them,
    ///     connection names are not checked.
    public init(scriptChecker: (any ScriptSyntaxChecking)? = nil, connections: [String: ConnectionKind]? = nil) {
        self.scriptChecker = scriptChecker
        self.connections = connections
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
            diagnostics += checkToolBranches(flow)
            diagnostics += checkIntents(flow)
            diagnostics += checkConnections(flow)
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

    /// A tool branch runs inside the turn between two model requests: it must come back with a `resolveTool`, and
    /// cannot wait for the user, hand over, leave the flow or ask another model.
    private func checkToolBranches(_ flow: Flow) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        var inBranches: Set<String> = []
        for node in flow.nodes {
            guard case .llm = node.kind else { continue }
            for tool in node.edges.tools where flow.node(tool.edge.target) != nil {
                var seen: Set<String> = []
                var stack = [tool.edge.target]
                var resolves = false
                while let id = stack.popLast() {
                    guard seen.insert(id).inserted, let member = flow.node(id) else { continue }
                    switch member.kind {
                    case .question, .wait, .handover, .goto, .llm:
                        diagnostics.append(
                            Diagnostic(
                                .error,
                                .toolBranch,
                                "the branch of tool '\(tool.name)' (node '\(node.id)') reaches \(member.kind.name) node '\(member.id)'; a tool branch may not contain question, wait, handover, goto or llm nodes",
                                at: member.location
                            )
                        )
                    case .resolveTool:
                        resolves = true
                        continue
                    default:
                        break
                    }
                    stack += member.edges.labelled.map(\.edge.target)
                }
                if !resolves {
                    diagnostics.append(
                        Diagnostic(
                            .error,
                            .toolBranch,
                            "the branch of tool '\(tool.name)' (node '\(node.id)') never reaches a resolveTool node, so the model would get no result",
                            at: tool.edge.location
                        )
                    )
                }
                inBranches.formUnion(seen)
            }
        }
        for node in flow.nodes where !inBranches.contains(node.id) {
            guard case .resolveTool = node.kind else { continue }
            diagnostics.append(
                Diagnostic(.error, .toolBranch, "resolveTool node '\(node.id)' is not in the branch of any tool of an llm node", at: node.location)
            )
        }
        return diagnostics
    }

    private func checkIntents(_ flow: Flow) -> [Diagnostic] {
        var owner: [String: String] = [:]
        var diagnostics: [Diagnostic] = []
        for intent in flow.intents {
            for example in intent.examples {
                let key = example.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
                if let other = owner[key], other != intent.id {
                    diagnostics.append(
                        Diagnostic(
                            .warning,
                            .duplicateExample,
                            "intents '\(other)' and '\(intent.id)' share the example '\(example)'; the classifier cannot tell them apart on it",
                            at: intent.location
                        )
                    )
                } else {
                    owner[key] = intent.id
                }
            }
        }
        return diagnostics
    }

    private func checkConnections(_ flow: Flow) -> [Diagnostic] {
        guard let connections else { return [] }
        let declared = connections.keys.sorted()
        return flow.connectionUses.compactMap { use in
            guard let kind = connections[use.name] else {
                return Diagnostic(
                    .error,
                    .unknownConnection,
                    "connection '\(use.name)' is not declared in the deployment\(NameSuggestion.hint(for: use.name, in: declared)) (connections: \(declared.isEmpty ? "none" : declared.joined(separator: ", ")))",
                    at: use.location
                )
            }
            guard kind == use.kind else {
                return Diagnostic(
                    .error,
                    .wrongConnectionType,
                    "connection '\(use.name)' has type \(kind.rawValue), but \(use.kind == .nlu ? "nlu" : use.kind == .http ? "an http node" : "an llm node") needs type \(use.kind.rawValue)",
                    at: use.location
                )
            }
            return nil
        }
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
