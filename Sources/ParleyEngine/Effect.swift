import ParleyFlows

/// A call to the outside world a turn needs: an `http` node's request, an `llm` node's model request, or the
/// classification of the input by an external NLU service (DESIGN §3.1).
///
/// The engine only describes the call: which connection, the method, the path below the connection's URL, the
/// headers the flow sets and the body. The runtime resolves the connection (URL, its headers and keys), performs
/// the call and hands back an ``EffectResult``; replay and conversation tests answer from recordings instead. The
/// same flows, session, input and results give the same turn, byte for byte.
public struct Effect: Sendable, Hashable {
    /// What kind of call it is; also the kind of connection it needs.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case http, llm, nlu

        /// The connection type (`parley.yaml`) this kind of call needs.
        public var connectionKind: ConnectionKind {
            switch self {
            case .http: .http
            case .llm: .openai
            case .nlu: .nlu
            }
        }
    }

    public var kind: Kind
    /// The connection's name in the deployment.
    public var connection: String
    /// The flow and node that make the call (`node` is nil for NLU, which runs before any node).
    public var flow: String
    public var node: String?
    /// 1-based position among the turn's effects: the runtime sends `Idempotency-Key: <traceId>-effect-<index>`.
    public var index: Int
    public var method: String
    /// Below the connection's URL, query string included: `/orders/AB123456?lang=en`; `/chat/completions` for a
    /// model call, `""` for NLU (the connection's URL itself).
    public var path: String
    /// The headers the flow sets, by name in file order; the runtime merges them over the connection's.
    public var headers: [NamedValue]
    /// The JSON body, if any.
    public var body: JSONValue?
    /// The node's own timeout, when it sets one; else the connection's, else the kind's default.
    public var timeoutMs: Int?

    public init(
        kind: Kind,
        connection: String,
        flow: String,
        node: String?,
        index: Int,
        method: String,
        path: String,
        headers: [NamedValue] = [],
        body: JSONValue? = nil,
        timeoutMs: Int? = nil
    ) {
        self.kind = kind
        self.connection = connection
        self.flow = flow
        self.node = node
        self.index = index
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.timeoutMs = timeoutMs
    }
}

/// What came of an ``Effect``.
public enum EffectResult: Sendable, Hashable {
    /// The server answered, with any status. `headers` by lowercased name; `body` the parsed JSON when the answer
    /// was JSON, else its text (`.string`), `.null` when empty.
    case response(status: Int, headers: [String: String], body: JSONValue)
    /// No answer: the connection is unknown, refused, timed out or broke.
    case failure(String)

    /// `{status, headers, body}` or `{error}`, as transcripts record a response.
    public var json: JSONValue {
        switch self {
        case .response(let status, let headers, let body):
            ["status": .number(Double(status)), "headers": .object(headers.mapValues(JSONValue.string)), "body": body]
        case .failure(let message): ["error": .string(message)]
        }
    }

    /// Reads the form ``json`` writes; `nil` for anything else.
    public init?(json: JSONValue) {
        if let message = json["error"]?.stringValue {
            self = .failure(message)
            return
        }
        guard let status = json["status"]?.integer(in: 0...999) else { return nil }
        var headers: [String: String] = [:]
        for (name, value) in json["headers"]?.objectValue ?? [:] { headers[name] = value.stringValue ?? value.renderedText }
        self = .response(status: status, headers: headers, body: json["body"] ?? .null)
    }
}
