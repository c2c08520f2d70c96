import ParleyFlows
import ParleyScript

/// The engine settings of `parley.yaml` (`engine: { codeTimeoutMs, codeMemoryMB, maxStepsPerTurn }`).
public struct EngineConfiguration: Sendable, Hashable {
    /// How long one script call, with the promise jobs it queues, may run (1 s by default).
    public var codeTimeout: Duration
    /// How much the process may grow while one script call runs (256 MB by default).
    public var codeMemoryLimitBytes: Int
    /// How many nodes one turn may execute (1000 by default).
    public var maxStepsPerTurn: Int
    /// How many `goto`/`execute` hops one turn may make (4).
    public var maxHopsPerTurn: Int
    /// How many `api` calls one code node may make (100).
    public var maxAPICallsPerNode: Int
    /// What the engine must know of each deployment connection to shape its requests: never URLs, headers or keys,
    /// which only the runtime sees.
    public var connections: [String: ConnectionProfile]

    public init(
        codeTimeout: Duration = .seconds(1),
        codeMemoryLimitBytes: Int = ScriptLimits.defaultMemoryLimitBytes,
        maxStepsPerTurn: Int = 1000,
        maxHopsPerTurn: Int = 4,
        maxAPICallsPerNode: Int = 100,
        connections: [String: ConnectionProfile] = [:]
    ) {
        self.codeTimeout = codeTimeout
        self.codeMemoryLimitBytes = codeMemoryLimitBytes
        self.maxStepsPerTurn = maxStepsPerTurn
        self.maxHopsPerTurn = maxHopsPerTurn
        self.maxAPICallsPerNode = maxAPICallsPerNode
        self.connections = connections
    }
}

/// The parts of a connection that shape the body of a model request (DESIGN §3.1, §7).
public struct ConnectionProfile: Sendable, Hashable {
    public var kind: ConnectionKind
    /// The model an `llm` node without `model:` asks for.
    public var model: String?
    /// The body field `maxTokens` is sent as: `max_tokens`, or `max_completion_tokens` for newer OpenAI models.
    public var maxTokensField: String

    public init(kind: ConnectionKind, model: String? = nil, maxTokensField: String = "max_tokens") {
        self.kind = kind
        self.model = model
        self.maxTokensField = maxTokensField
    }
}
