/// Where execution may go from a node. Every edge remembers where it was written, for diagnostics.
public struct Edges: Sendable, Hashable {
    public var next: Edge?
    /// `condition`: taken when the expression is truthy.
    public var then: Edge?
    /// `condition`: taken when the expression is falsy.
    public var `else`: Edge?
    /// `switch`: case literal to target, in file order.
    public var cases: [SwitchCase]
    /// `switch`: taken when no case matches.
    public var `default`: Edge?
    /// `question`: taken after `maxAttempts` invalid answers.
    public var onFail: Edge?
    /// `code`: taken when the script throws; `http`, `llm`: taken when the call fails.
    public var onError: Edge?
    /// `llm`: the first node of each tool's branch, by tool name, in file order.
    public var tools: [ToolEdge]

    public init(
        next: Edge? = nil,
        then: Edge? = nil,
        else: Edge? = nil,
        cases: [SwitchCase] = [],
        default: Edge? = nil,
        onFail: Edge? = nil,
        onError: Edge? = nil,
        tools: [ToolEdge] = []
    ) {
        self.next = next
        self.then = then
        self.else = `else`
        self.cases = cases
        self.default = `default`
        self.onFail = onFail
        self.onError = onError
        self.tools = tools
    }

    /// Every edge with its label (`next`, `then`, `case 'x'`...), in a fixed order.
    public var labelled: [(label: String, edge: Edge)] {
        var all: [(String, Edge)] = []
        if let then { all.append(("then", then)) }
        if let `else` { all.append(("else", `else`)) }
        for item in cases { all.append(("case \(item.literal)", item.edge)) }
        if let `default` { all.append(("default", `default`)) }
        if let onFail { all.append(("onFail", onFail)) }
        if let onError { all.append(("onError", onError)) }
        for tool in tools { all.append(("tool \(tool.name)", tool.edge)) }
        if let next { all.append(("next", next)) }
        return all
    }

    /// The tool branch edge of a tool name.
    public func tool(_ name: String) -> Edge? {
        tools.first { $0.name == name }?.edge
    }
}

/// The `node` of one tool of an `llm` node: where the tool's branch starts.
public struct ToolEdge: Sendable, Hashable {
    public var name: String
    public var edge: Edge

    public init(name: String, edge: Edge) {
        self.name = name
        self.edge = edge
    }
}

/// An edge to a node of the same flow.
public struct Edge: Sendable, Hashable {
    public var target: String
    public var location: SourceLocation

    public init(target: String, location: SourceLocation) {
        self.target = target
        self.location = location
    }
}

/// One `cases` entry of a switch node.
public struct SwitchCase: Sendable, Hashable {
    /// The literal compared with the switch value as a string.
    public var literal: String
    public var edge: Edge

    public init(literal: String, edge: Edge) {
        self.literal = literal
        self.edge = edge
    }
}
