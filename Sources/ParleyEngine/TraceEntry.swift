import ParleyFlows

/// One executed node: what it was, what came of it, and what it noted on the way.
public struct TraceEntry: Sendable, Hashable, Codable {
    public var flow: String
    public var node: String
    /// The node kind (`say`, `question`, ...).
    public var kind: String
    /// What happened, in a word: `next`, `then`, `else`, `case 'x'`, `default`, `asked`, `valid`, `invalid`,
    /// `failed`, `resumed`, `waiting`, `handedOver`, `handedOver:ignored`, `jumped`, `called`, `ended`, `stopped`,
    /// `setNextNode`, `timeout`, `error`, `returned`, `done`.
    public var outcome: String
    /// Where execution went next, when it went somewhere.
    public var target: NodeAddress?
    /// The error message of `error`, `timeout` and guard outcomes.
    public var error: String?
    /// Template warnings and `api.log` lines, in order.
    public var notes: [TraceNote]

    public init(flow: String, node: String, kind: String, outcome: String, target: NodeAddress? = nil, error: String? = nil, notes: [TraceNote] = [])
    {
        self.flow = flow
        self.node = node
        self.kind = kind
        self.outcome = outcome
        self.target = target
        self.error = error
        self.notes = notes
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "flow": .string(flow), "node": .string(node), "kind": .string(kind), "outcome": .string(outcome),
        ]
        if let target { object["target"] = target.json }
        if let error { object["error"] = .string(error) }
        if !notes.isEmpty { object["notes"] = .array(notes.map(\.json)) }
        return .object(object)
    }

    /// `flow/node kind → outcome [target] (error)`, for `parley chat --trace`.
    public var summary: String {
        var line = "\(flow)/\(node) \(kind) → \(outcome)"
        if let target { line += " \(target)" }
        if let error { line += " (\(error))" }
        return line
    }
}

/// A line attached to a trace entry.
public struct TraceNote: Sendable, Hashable, Codable {
    /// `warning` for template problems; the `api.log` level (`debug`, `info`, `warn`, `error`) for logs.
    public var level: String
    public var message: String

    public init(level: String, message: String) {
        self.level = level
        self.message = message
    }

    public var json: JSONValue { ["level": .string(level), "message": .string(message)] }
}
