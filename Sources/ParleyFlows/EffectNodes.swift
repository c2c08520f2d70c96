/// The value of an `http` node: a request to an API through a deployment connection (DESIGN §2, §3.1).
///
/// Every string in `path`, `query`, `headers` and `body` may hold `{{ }}` templates; in `body` a string that is
/// exactly one `{{expr}}` keeps the expression's JSON type.
public struct HTTPCall: Sendable, Hashable {
    /// The connection's name in `parley.yaml` (`type: http`); its URL, headers and timeout come from there.
    public var connection: String
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE` or `HEAD`; `GET` by default.
    public var method: String
    /// Appended to the connection's URL.
    public var path: String?
    /// Query parameters in file order, values templates.
    public var query: [NamedValue]
    /// Headers merged over the connection's, in file order.
    public var headers: [NamedValue]
    /// The JSON body.
    public var body: JSONValue?
    /// Where the response `{status, headers, body}` goes.
    public var store: MemoryPath
    /// Overrides the connection's timeout (default 10 s).
    public var timeoutMs: Int?

    public static let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]

    public init(
        connection: String,
        method: String = "GET",
        path: String? = nil,
        query: [NamedValue] = [],
        headers: [NamedValue] = [],
        body: JSONValue? = nil,
        store: MemoryPath,
        timeoutMs: Int? = nil
    ) {
        self.connection = connection
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.store = store
        self.timeoutMs = timeoutMs
    }
}

/// A name and a template, in the order the file gives them (query parameters, headers).
public struct NamedValue: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// The value of an `llm` node: an OpenAI-compatible Chat Completions call whose tools run as flow branches
/// (DESIGN §3.1).
public struct LLMCall: Sendable, Hashable {
    /// How the node sets `temperature`.
    public enum Temperature: Sendable, Hashable {
        /// Sent as this number (0 when the node says nothing).
        case value(Double)
        /// `temperature: null`: left out, for models that only take their default.
        case omitted
    }

    /// The connection's name in `parley.yaml` (`type: openai`).
    public var connection: String
    /// The model; the connection's `model` when absent. A template.
    public var model: String?
    /// The system message, a template.
    public var system: String?
    /// The user message, a template; `{{input.text}}` when absent.
    public var prompt: String
    /// How many of the session's last user and bot messages go before the prompt (0 when absent).
    public var history: Int
    public var temperature: Temperature
    public var maxTokens: Int?
    /// Asks for a JSON object (`response_format: {type: json_object}`); the answer is parsed and stored as JSON.
    public var json: Bool
    /// The tools the model may call, in file order; each tool's branch starts at ``Edges/tools``' edge of its name.
    public var tools: [Tool]
    /// At most this many exchanges with tool calls (4 when absent).
    public var maxToolRounds: Int
    /// Where the final answer goes.
    public var store: MemoryPath?
    /// Whether the final answer is emitted as an output (true when absent; never with `json: true`).
    public var say: Bool

    public static let defaultPrompt = "{{input.text}}"
    public static let defaultMaxToolRounds = 4

    public init(
        connection: String,
        model: String? = nil,
        system: String? = nil,
        prompt: String = LLMCall.defaultPrompt,
        history: Int = 0,
        temperature: Temperature = .value(0),
        maxTokens: Int? = nil,
        json: Bool = false,
        tools: [Tool] = [],
        maxToolRounds: Int = LLMCall.defaultMaxToolRounds,
        store: MemoryPath? = nil,
        say: Bool = true
    ) {
        self.connection = connection
        self.model = model
        self.system = system
        self.prompt = prompt
        self.history = history
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.json = json
        self.tools = tools
        self.maxToolRounds = maxToolRounds
        self.store = store
        self.say = say
    }
}

/// A tool of an `llm` node: sent to the model as a function; when the model calls it, its branch runs in the flow
/// with `input.tool` set, up to a `resolveTool` node whose value is the result.
public struct Tool: Sendable, Hashable {
    public var name: String
    public var description: String?
    /// A JSON Schema object; `{"type": "object", "properties": {}}` when absent.
    public var parameters: JSONValue

    public static let noParameters: JSONValue = ["type": "object", "properties": [:]]

    public init(name: String, description: String? = nil, parameters: JSONValue = Tool.noParameters) {
        self.name = name
        self.description = description
        self.parameters = parameters
    }
}

/// An intent a flow declares: its id and example sentences (DESIGN §2, *Intents*).
public struct Intent: Sendable, Hashable {
    public var id: String
    public var examples: [String]
    public var location: SourceLocation

    public init(id: String, examples: [String], location: SourceLocation) {
        self.id = id
        self.examples = examples
        self.location = location
    }
}

/// A flow's `nlu:` settings: the built-in classifier's threshold, or an external NLU connection.
public struct NLUSettings: Sendable, Hashable {
    /// Scores under this give `input.intent = null` (0.5 when absent).
    public var threshold: Double
    /// An external NLU service (`type: nlu` connection) instead of the built-in classifier.
    public var connection: String?
    /// Where `connection` stands, for diagnostics.
    public var location: SourceLocation?

    public static let defaultThreshold = 0.5

    public init(threshold: Double = NLUSettings.defaultThreshold, connection: String? = nil, location: SourceLocation? = nil) {
        self.threshold = threshold
        self.connection = connection
        self.location = location
    }
}

/// The kinds of deployment connection a flow can name (DESIGN §7, `connections:`).
public enum ConnectionKind: String, Sendable, Hashable, CaseIterable {
    /// An HTTP API, for `http` nodes.
    case http
    /// An OpenAI-compatible Chat Completions server, for `llm` nodes.
    case openai
    /// An external NLU service, for a flow's `nlu: {connection}`.
    case nlu
}
