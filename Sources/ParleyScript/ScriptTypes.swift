import ParleyFlows

/// The sandbox limits of flow scripts (DESIGN §3).
public struct ScriptLimits: Sendable, Hashable {
    /// How long one script call (a `code` node, a condition, one `{{ }}` expression) may run.
    public var timeLimit: Duration
    /// How many `api` calls one `code` node may make; `console.*` calls count too.
    public var maxAPICalls: Int
    /// How much the process may grow while one script call runs (its promise jobs included).
    public var memoryLimitBytes: Int

    public static let defaultMemoryLimitBytes = 256 << 20

    public init(timeLimit: Duration = .seconds(1), maxAPICalls: Int = 100, memoryLimitBytes: Int = ScriptLimits.defaultMemoryLimitBytes) {
        self.timeLimit = timeLimit
        self.maxAPICalls = maxAPICalls
        self.memoryLimitBytes = memoryLimitBytes
    }
}

/// The memory a script sees: `input`, `context` and `profile` (and their shortcuts `ci`, `cc`, `cp`).
public struct ScriptScope: Sendable, Hashable {
    public var input: [String: JSONValue]
    public var context: [String: JSONValue]
    public var profile: [String: JSONValue]

    public init(input: [String: JSONValue], context: [String: JSONValue], profile: [String: JSONValue]) {
        self.input = input
        self.context = context
        self.profile = profile
    }
}

/// Why a script did not complete. A limit and an exception are handled differently by the engine.
public enum ScriptFailure: Error, Sendable, Hashable {
    /// The script (with the promise jobs it queued) ran past ``ScriptLimits/timeLimit`` and was terminated.
    case timeout(String)
    /// The process grew by more than ``ScriptLimits/memoryLimitBytes`` while the script ran; it was terminated.
    case memory(String)
    /// The script threw (including a `RangeError` from too deep recursion), or its result could not be converted.
    case exception(String)

    /// The human-readable description, as stored in `input.codeNodeError.message` and in the trace.
    public var message: String {
        switch self {
        case .timeout(let message), .memory(let message), .exception(let message): message
        }
    }
}

/// A message a `code` node sent with `api.say` / `api.output`.
public struct ScriptOutput: Sendable, Hashable {
    public var text: String?
    public var data: JSONValue?

    public init(text: String?, data: JSONValue?) {
        self.text = text
        self.data = data
    }
}

/// A line a `code` node wrote with `api.log` or `console.*`.
public struct ScriptLog: Sendable, Hashable {
    /// `debug`, `info`, `warn` or `error`; other levels are kept as written.
    public var level: String
    public var message: String

    public init(level: String, message: String) {
        self.level = level
        self.message = message
    }
}

/// Everything a `code` node that completed did: the memory after it, and its `api` calls in order.
public struct CodeEffects: Sendable, Hashable {
    /// `input`, `context` and `profile` as the script left them.
    public var scope: ScriptScope
    public var outputs: [ScriptOutput]
    public var logs: [ScriptLog]
    /// The node named by the last `api.setNextNode` call.
    public var nextNode: String?
    /// True when the script called `api.stopExecution()`.
    public var stopped: Bool

    public init(scope: ScriptScope, outputs: [ScriptOutput] = [], logs: [ScriptLog] = [], nextNode: String? = nil, stopped: Bool = false) {
        self.scope = scope
        self.outputs = outputs
        self.logs = logs
        self.nextNode = nextNode
        self.stopped = stopped
    }
}
