/// One step of a flow: exactly one kind (what it does) plus its outgoing edges (where it goes next).
public struct Node: Sendable, Hashable {
    /// The node id, unique within its flow.
    public var id: String
    /// What the node does.
    public var kind: NodeKind
    /// Where execution goes after the node.
    public var edges: Edges
    /// Where the node's id stands in the file.
    public var location: SourceLocation
    /// Where each field's value stands: node-level keys by name (`next`, `say`), fields inside the kind's
    /// mapping as `kind.field` (`question.pattern`, `copilot.tile`).
    public var fieldLocations: [String: SourceLocation]

    public init(
        id: String,
        kind: NodeKind,
        edges: Edges = Edges(),
        location: SourceLocation,
        fieldLocations: [String: SourceLocation] = [:]
    ) {
        self.id = id
        self.kind = kind
        self.edges = edges
        self.location = location
        self.fieldLocations = fieldLocations
    }
}

/// The behaviour of a node; DESIGN §2 lists the kinds and their values.
public enum NodeKind: Sendable, Hashable {
    /// Emits one output.
    case say(Message)
    /// Emits a prompt and waits for an answer.
    case question(Question)
    /// Runs JavaScript statements.
    case code(Script)
    /// Branches on a JavaScript expression: truthy to `then`, falsy to `else`.
    case condition(Script)
    /// Branches on the first case whose literal equals the value as a string.
    case `switch`(Switch)
    /// Assigns `context.` / `profile.` paths.
    case set([Assignment])
    /// Hands the conversation to a human and pauses until the handover ends.
    case handover(Message)
    /// Updates a tile of the agent's copilot workspace.
    case copilot(CopilotTile)
    /// Continues in another flow; the session's entry point moves there.
    case goto(FlowReference)
    /// Runs another flow like a function call, then continues at `next`.
    case execute(FlowReference)
    /// Waits for the next input.
    case wait
    /// Ends the turn and resets the entry point to the flow's start.
    case end
    /// Calls an HTTP API through a deployment connection; the turn suspends for the call (an effect).
    case http(HTTPCall)
    /// Asks a language model through a deployment connection, running tool branches when the model calls tools.
    case llm(LLMCall)
    /// Ends a tool branch: the value (following the `set` rules) is the tool's result, sent back to the model.
    case resolveTool(JSONValue)

    /// Every kind name, in the order the reference documents them.
    public static let names = [
        "say", "question", "code", "condition", "switch", "set", "handover", "copilot", "goto", "execute", "wait", "end", "http", "llm",
        "resolveTool",
    ]

    /// The kind's name as written in YAML.
    public var name: String {
        switch self {
        case .say: "say"
        case .question: "question"
        case .code: "code"
        case .condition: "condition"
        case .switch: "switch"
        case .set: "set"
        case .handover: "handover"
        case .copilot: "copilot"
        case .goto: "goto"
        case .execute: "execute"
        case .wait: "wait"
        case .end: "end"
        case .http: "http"
        case .llm: "llm"
        case .resolveTool: "resolveTool"
        }
    }

    /// Kinds that call the outside world: the turn suspends at them for an effect (DESIGN §3.1).
    public var callsOut: Bool {
        switch self {
        case .http, .llm: true
        default: false
        }
    }

    /// Kinds that stop the turn and wait for input: loops through them cannot spin without a user.
    public var waitsForInput: Bool {
        switch self {
        case .question, .wait, .handover: true
        default: false
        }
    }
}

/// A message for the user: text, data, or both. Strings in either may hold `{{ }}` templates.
public struct Message: Sendable, Hashable {
    public var text: String?
    public var data: JSONValue?

    public init(text: String? = nil, data: JSONValue? = nil) {
        self.text = text
        self.data = data
    }
}

/// The value of a `question` node.
public struct Question: Sendable, Hashable {
    /// The answer types of DESIGN §2.
    public enum AnswerType: String, Sendable, Hashable, CaseIterable {
        case text, yesNo, number, email, regex, data, date, time, any
    }

    public var text: String
    public var type: AnswerType
    /// A `context.` or `profile.` path that receives the typed answer.
    public var store: MemoryPath?
    /// The pattern of a `regex` question, checked to compile at load time.
    public var pattern: String?
    public var reprompt: String?
    public var maxAttempts: Int?
    public var data: JSONValue?

    public init(
        text: String,
        type: AnswerType,
        store: MemoryPath? = nil,
        pattern: String? = nil,
        reprompt: String? = nil,
        maxAttempts: Int? = nil,
        data: JSONValue? = nil
    ) {
        self.text = text
        self.type = type
        self.store = store
        self.pattern = pattern
        self.reprompt = reprompt
        self.maxAttempts = maxAttempts
        self.data = data
    }
}

/// JavaScript source from a flow file, with the position of its first character for error messages.
public struct Script: Sendable, Hashable {
    public var source: String
    public var location: SourceLocation

    public init(source: String, location: SourceLocation) {
        self.source = source
        self.location = location
    }
}

/// The value of a `switch` node. Its case targets live in ``Edges/cases`` and ``Edges/default``.
public struct Switch: Sendable, Hashable {
    public var value: Script

    public init(value: Script) {
        self.value = value
    }
}

/// A `context.` or `profile.` path such as `context.order.id`.
public struct MemoryPath: Sendable, Hashable, CustomStringConvertible {
    /// The two memories a flow may write.
    public enum Root: String, Sendable, Hashable {
        case context, profile
    }

    public var root: Root
    /// The keys below the root, at least one.
    public var keys: [String]

    public init(root: Root, keys: [String]) {
        self.root = root
        self.keys = keys
    }

    /// Parses `context.a.b` or `profile.x`; `nil` for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2, let root = Root(rawValue: parts[0]),
            parts.dropFirst().allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "$" } })
        else { return nil }
        self.root = root
        self.keys = Array(parts.dropFirst())
    }

    public var description: String { ([root.rawValue] + keys).joined(separator: ".") }
}

/// One line of a `set` node.
public struct Assignment: Sendable, Hashable {
    public var path: MemoryPath
    /// The value; strings may be templates, and a string that is exactly one `{{expr}}` keeps the JSON type.
    public var value: JSONValue

    public init(path: MemoryPath, value: JSONValue) {
        self.path = path
        self.value = value
    }
}

/// The value of a `copilot` node: one tile update, or the grid layout with `type: setGrid`.
public struct CopilotTile: Sendable, Hashable {
    /// The tile types of DESIGN §5.5, plus the two workspace actions.
    public static let types = [
        "nextAction", "sentiment", "transcript", "identity", "knowledge", "html", "iframe", "adaptiveCard", "sendData",
        "setGrid",
    ]

    /// The tile id; required for every type but `setGrid`, which lays out the whole workspace.
    public var tile: String?
    public var type: String
    /// Every other field (`text`, `data`, `html`, `url`, `card`, `grid`), templates allowed in strings.
    public var fields: [String: JSONValue]

    public init(tile: String?, type: String, fields: [String: JSONValue] = [:]) {
        self.tile = tile
        self.type = type
        self.fields = fields
    }
}

/// The target of `goto` and `execute`: a flow, and optionally a node in it (else the flow's start).
public struct FlowReference: Sendable, Hashable {
    public var flow: String
    public var node: String?
    public var location: SourceLocation

    public init(flow: String, node: String? = nil, location: SourceLocation) {
        self.flow = flow
        self.node = node
        self.location = location
    }
}
