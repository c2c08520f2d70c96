/// One conversation flow: a graph of nodes loaded from one YAML file.
public struct Flow: Sendable, Hashable {
    /// The flow id, unique across the flow set; `[a-z0-9_-]+`.
    public var id: String
    public var description: String?
    /// The node where a new session, or a turn after the flow ended, begins.
    public var start: String
    /// The default `context` of new sessions (an object).
    public var context: [String: JSONValue]
    /// The nodes in file order.
    public var nodes: [Node]
    /// Where the flow id stands.
    public var location: SourceLocation
    /// Where `start:` stands, when it was written.
    public var startLocation: SourceLocation?
    /// Every piece of JavaScript in the flow (code, conditions, switch values, template expressions).
    public var scripts: [ScriptSite]
    /// The intents text inputs are classified with, in file order (DESIGN §2, *Intents*).
    public var intents: [Intent]
    /// The classifier's settings; the built-in classifier with its default threshold when absent.
    public var nlu: NLUSettings?

    private var index: [String: Int]

    public init(
        id: String,
        description: String? = nil,
        start: String? = nil,
        context: [String: JSONValue] = [:],
        nodes: [Node],
        location: SourceLocation,
        startLocation: SourceLocation? = nil,
        scripts: [ScriptSite] = [],
        intents: [Intent] = [],
        nlu: NLUSettings? = nil
    ) {
        self.id = id
        self.description = description
        self.start = start ?? nodes.first?.id ?? ""
        self.context = context
        self.nodes = nodes
        self.location = location
        self.startLocation = startLocation
        self.scripts = scripts
        self.intents = intents
        self.nlu = nlu
        var index: [String: Int] = [:]
        for (position, node) in nodes.enumerated() where index[node.id] == nil {
            index[node.id] = position
        }
        self.index = index
    }

    /// The node with this id, if the flow has one.
    public func node(_ id: String) -> Node? {
        index[id].map { nodes[$0] }
    }

    /// The file the flow was loaded from.
    public var file: String { location.file }

    /// The connections the flow's nodes and `nlu:` name, with the kind each needs and where it is named.
    public var connectionUses: [(name: String, kind: ConnectionKind, location: SourceLocation)] {
        var uses: [(String, ConnectionKind, SourceLocation)] = []
        if let nlu, let connection = nlu.connection { uses.append((connection, .nlu, nlu.location ?? location)) }
        for node in nodes {
            let at = node.fieldLocations["\(node.kind.name).connection"] ?? node.location
            switch node.kind {
            case .http(let call): uses.append((call.connection, .http, at))
            case .llm(let call): uses.append((call.connection, .openai, at))
            default: break
            }
        }
        return uses
    }
}
