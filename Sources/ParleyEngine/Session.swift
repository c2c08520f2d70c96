import Crypto
import Foundation
import ParleyFlows

/// The state of one conversation between turns: a value the engine takes and returns.
///
/// It holds where the next input enters (the entry flow, a waiting question, wait or handover, and the call
/// stack of `execute`), the `context` memory, the execution count and the flow hash the session is pinned to.
/// The user's `profile` is not part of it: profiles live per user, across sessions.
///
/// ``digest`` hashes a canonical JSON form, so equal sessions have equal digests on every machine.
public struct Session: Sendable, Hashable {
    /// The content hash of the flow set the session started with (DESIGN §6).
    public var flowHash: String
    /// The flow whose start a new input begins at when nothing holds the position; `goto` moves it.
    public var flow: String
    /// Where the session waits, if anywhere: a question, a wait node or a handover.
    public var position: Position?
    /// The `execute` nodes to return to, innermost last.
    public var callStack: [NodeAddress]
    /// The session memory.
    public var context: [String: JSONValue]
    /// How many inputs the session has had.
    public var executionCount: Int
    /// The last user texts and bot output texts, oldest first, at most ``maxHistory``: what `llm` nodes send as
    /// `history`. Kept only by flow sets that have an `llm` node, so the digests of other sessions do not change.
    public var history: [HistoryMessage]

    /// How many messages ``history`` keeps.
    public static let maxHistory = 50

    public init(
        flowHash: String,
        flow: String,
        position: Position? = nil,
        callStack: [NodeAddress] = [],
        context: [String: JSONValue] = [:],
        executionCount: Int = 0,
        history: [HistoryMessage] = []
    ) {
        self.flowHash = flowHash
        self.flow = flow
        self.position = position
        self.callStack = callStack
        self.context = context
        self.executionCount = executionCount
        self.history = history
    }

    /// True while a human agent has the conversation: inputs do not run the flow until the handover ends.
    public var isHandedOver: Bool {
        if case .handover = position { return true }
        return false
    }

    /// The canonical JSON form of the session.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "flowHash": .string(flowHash), "flow": .string(flow), "callStack": .array(callStack.map(\.json)),
            "context": .object(context), "executionCount": .number(Double(executionCount)),
        ]
        if let position { object["position"] = position.json }
        if !history.isEmpty { object["history"] = .array(history.map(\.json)) }
        return .object(object)
    }

    /// Reads the form ``json`` writes.
    public init(json: JSONValue) throws {
        guard let object = json.objectValue, let flowHash = object["flowHash"]?.stringValue, let flow = object["flow"]?.stringValue,
            let context = object["context"]?.objectValue
        else { throw EngineError(.invalidSession, "session JSON lacks flowHash, flow, context or executionCount") }
        // A count the next turn cannot add one to is not a session this engine wrote.
        guard let count = object["executionCount"]?.integer(in: 0...(Int.max - 1)) else {
            throw EngineError(.invalidSession, "session executionCount must be a whole number from 0")
        }
        self.flowHash = flowHash
        self.flow = flow
        self.context = context
        self.executionCount = count
        self.callStack = try (object["callStack"]?.arrayValue ?? []).map(NodeAddress.init(json:))
        self.position = try object["position"].map(Position.init(json:))
        self.history = try (object["history"]?.arrayValue ?? []).map(HistoryMessage.init(json:))
    }

    /// `sha256:` and the hex SHA-256 of ``json``'s canonical text.
    public var digest: String {
        let digest = SHA256.hash(data: Data(json.canonicalJSON.utf8))
        return "sha256:" + lowercaseHex(digest)
    }
}

extension Session: Codable {
    public init(from decoder: any Decoder) throws {
        try self.init(json: JSONValue(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try json.encode(to: encoder)
    }
}

/// A node of a flow.
public struct NodeAddress: Sendable, Hashable, Codable, CustomStringConvertible {
    public var flow: String
    public var node: String

    public init(flow: String, node: String) {
        self.flow = flow
        self.node = node
    }

    public var json: JSONValue { ["flow": .string(flow), "node": .string(node)] }

    init(json: JSONValue) throws {
        guard let flow = json["flow"]?.stringValue, let node = json["node"]?.stringValue else {
            throw EngineError(.invalidSession, "a node address needs flow and node")
        }
        self.init(flow: flow, node: node)
    }

    /// `flow/node`.
    public var description: String { "\(flow)/\(node)" }
}

/// Where a session waits for its next input.
public enum Position: Sendable, Hashable {
    /// A question was asked; `attempts` invalid answers were given so far.
    case question(NodeAddress, attempts: Int)
    /// A `wait` node holds the position.
    case wait(NodeAddress)
    /// A `handover` node handed the conversation to a human; it resumes when the handover ends.
    case handover(NodeAddress)

    /// The node that holds the position.
    public var address: NodeAddress {
        switch self {
        case .question(let address, _), .wait(let address), .handover(let address): address
        }
    }

    public var json: JSONValue {
        switch self {
        case .question(let address, let attempts):
            ["kind": "question", "flow": .string(address.flow), "node": .string(address.node), "attempts": .number(Double(attempts))]
        case .wait(let address): ["kind": "wait", "flow": .string(address.flow), "node": .string(address.node)]
        case .handover(let address): ["kind": "handover", "flow": .string(address.flow), "node": .string(address.node)]
        }
    }

    init(json: JSONValue) throws {
        let address = try NodeAddress(json: json)
        switch json["kind"]?.stringValue {
        case "question":
            guard let attempts = (json["attempts"] ?? 0).integer(in: 0...(Int.max - 1)) else {
                throw EngineError(.invalidSession, "question attempts must be a whole number from 0")
            }
            self = .question(address, attempts: attempts)
        case "wait": self = .wait(address)
        case "handover": self = .handover(address)
        default: throw EngineError(.invalidSession, "unknown session position kind")
        }
    }
}

/// One message of a session's history: what the user said or what the bot answered.
public struct HistoryMessage: Sendable, Hashable {
    public enum Role: String, Sendable, Hashable {
        /// Sent to a model as `user`.
        case user
        /// Sent to a model as `assistant`.
        case assistant
    }

    public var role: Role
    public var text: String

    public init(role: Role, text: String) {
        self.role = role
        self.text = text
    }

    public var json: JSONValue { ["role": .string(role.rawValue), "text": .string(text)] }

    init(json: JSONValue) throws {
        guard let role = json["role"]?.stringValue.flatMap(Role.init(rawValue:)), let text = json["text"]?.stringValue else {
            throw EngineError(.invalidSession, "a history message needs role (user or assistant) and text")
        }
        self.init(role: role, text: text)
    }
}
