import ParleyFlows

/// Something a turn did besides talking to the user; adapters decide how each reaches the wire.
public enum Event: Sendable, Hashable {
    /// A `handover` node handed the conversation to a human agent.
    case handover(HandoverRequest)
    /// A `copilot` node updated a tile of the agent's workspace.
    case copilot(TileUpdate)
    /// An `end` node ended the conversation.
    case ended(NodeAddress)
    /// The turn stopped on an error (an uncaught script exception, the loop guard).
    case error(TurnError)

    /// `{"event": "handover" | "copilot" | "ended" | "error", ...}`.
    public var json: JSONValue {
        var object: [String: JSONValue]
        switch self {
        case .handover(let request):
            object = request.json.objectValue ?? [:]
            object["event"] = "handover"
        case .copilot(let update):
            object = ["event": "copilot", "update": update.json]
        case .ended(let address):
            object = ["event": "ended", "flow": .string(address.flow), "node": .string(address.node)]
        case .error(let error):
            object = error.json.objectValue ?? [:]
            object["event"] = "error"
        }
        return .object(object)
    }

    /// Reads the form ``json`` writes.
    public init(json: JSONValue) throws {
        switch json["event"]?.stringValue {
        case "handover":
            guard let flow = json["flow"]?.stringValue, let node = json["node"]?.stringValue else { break }
            self = .handover(HandoverRequest(text: json["text"]?.stringValue, data: json["data"], address: NodeAddress(flow: flow, node: node)))
            return
        case "copilot":
            guard let update = json["update"], let type = update["type"]?.stringValue else { break }
            var fields = update.objectValue ?? [:]
            fields["type"] = nil
            fields["tile"] = nil
            self = .copilot(TileUpdate(tile: update["tile"]?.stringValue, type: type, fields: fields))
            return
        case "ended":
            guard let flow = json["flow"]?.stringValue, let node = json["node"]?.stringValue else { break }
            self = .ended(NodeAddress(flow: flow, node: node))
            return
        case "error":
            guard let message = json["message"]?.stringValue else { break }
            let address = json["flow"]?.stringValue.flatMap { flow in json["node"]?.stringValue.map { NodeAddress(flow: flow, node: $0) } }
            self = .error(TurnError(message: message, address: address))
            return
        default: break
        }
        throw EngineError(.invalidSession, "not an event: \(json.canonicalJSON)")
    }
}

extension Event: Codable {
    public init(from decoder: any Decoder) throws {
        try self.init(json: JSONValue(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try json.encode(to: encoder)
    }
}

/// What a handover node hands over: its rendered text and data.
public struct HandoverRequest: Sendable, Hashable {
    public var text: String?
    public var data: JSONValue?
    /// The handover node.
    public var address: NodeAddress

    public init(text: String?, data: JSONValue?, address: NodeAddress) {
        self.text = text
        self.data = data
        self.address = address
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = ["flow": .string(address.flow), "node": .string(address.node)]
        if let text { object["text"] = .string(text) }
        if let data { object["data"] = data }
        return .object(object)
    }
}

/// One update of a copilot tile (DESIGN §5.5), with templates rendered.
public struct TileUpdate: Sendable, Hashable {
    /// The tile id; `nil` for `setGrid`.
    public var tile: String?
    /// The tile type (`nextAction`, `sentiment`, ..., `sendData`, `setGrid`).
    public var type: String
    /// `text`, `data`, `html`, `url`, `card`, `grid` as given.
    public var fields: [String: JSONValue]

    public init(tile: String?, type: String, fields: [String: JSONValue]) {
        self.tile = tile
        self.type = type
        self.fields = fields
    }

    /// `{tile?, type, ...fields}`.
    public var json: JSONValue {
        var object = fields
        object["type"] = .string(type)
        if let tile { object["tile"] = .string(tile) }
        return .object(object)
    }
}

/// Why a turn stopped early.
public struct TurnError: Sendable, Hashable {
    public var message: String
    /// The node that failed, when one did.
    public var address: NodeAddress?

    public init(message: String, address: NodeAddress?) {
        self.message = message
        self.address = address
    }

    public var json: JSONValue {
        var object: [String: JSONValue] = ["message": .string(message)]
        if let address {
            object["flow"] = .string(address.flow)
            object["node"] = .string(address.node)
        }
        return .object(object)
    }
}
