/// The canonical form of flows: what they mean, without how they were typed.
///
/// Formatting, comments, key order, quoting styles and the order of nodes (once `start` is explicit) do not
/// change it; descriptions and source positions are left out. Scripts keep their text but lose trailing
/// white space, so `|` and `|-` blocks hash alike.
extension Flow {
    /// The flow as a JSON value with every default made explicit.
    public var canonical: JSONValue {
        var nodes: [String: JSONValue] = [:]
        for node in self.nodes where nodes[node.id] == nil {
            nodes[node.id] = node.canonical
        }
        var object: JSONValue = ["flow": .string(id), "start": .string(start), "context": .object(context), "nodes": .object(nodes)]
        // Intents and NLU settings change what a turn sees (input.intent), so they are part of the hash; flows
        // without them keep the hash they had before intents existed.
        if !intents.isEmpty {
            object = object.setting(
                "intents",
                to: .object(Dictionary(intents.map { ($0.id, .array($0.examples.map(JSONValue.string))) }) { first, _ in first })
            )
        }
        if let nlu {
            var settings: [String: JSONValue] = ["threshold": .number(nlu.threshold)]
            if let connection = nlu.connection { settings["connection"] = .string(connection) }
            object = object.setting("nlu", to: .object(settings))
        }
        return object
    }
}

extension Node {
    /// The node as a JSON value: its kind's name with the kind's value, plus its edges.
    public var canonical: JSONValue {
        var object: [String: JSONValue] = [kind.name: kind.canonicalValue]
        let edges = self.edges
        if let next = edges.next { object["next"] = .string(next.target) }
        if let then = edges.then { object["then"] = .string(then.target) }
        if let otherwise = edges.else { object["else"] = .string(otherwise.target) }
        if let onFail = edges.onFail { object["onFail"] = .string(onFail.target) }
        if let onError = edges.onError { object["onError"] = .string(onError.target) }
        if !edges.cases.isEmpty {
            var cases: [String: JSONValue] = [:]
            for item in edges.cases where cases[item.literal] == nil { cases[item.literal] = .string(item.edge.target) }
            object["cases"] = .object(cases)
        }
        if let fallback = edges.default { object["default"] = .string(fallback.target) }
        if !edges.tools.isEmpty {
            object["toolNodes"] = .object(Dictionary(edges.tools.map { ($0.name, .string($0.edge.target)) }) { first, _ in first })
        }
        return .object(object)
    }
}

extension JSONValue {
    /// The object with `key` set (other values are returned unchanged).
    fileprivate func setting(_ key: String, to value: JSONValue) -> JSONValue {
        guard var members = objectValue else { return self }
        members[key] = value
        return .object(members)
    }
}

extension NodeKind {
    fileprivate var canonicalValue: JSONValue {
        switch self {
        case .say(let message), .handover(let message): return message.canonical
        case .question(let question):
            var object: [String: JSONValue] = ["text": .string(question.text), "type": .string(question.type.rawValue)]
            if let store = question.store { object["store"] = .string(store.description) }
            if let pattern = question.pattern { object["pattern"] = .string(pattern) }
            if let reprompt = question.reprompt { object["reprompt"] = .string(reprompt) }
            if let maxAttempts = question.maxAttempts { object["maxAttempts"] = .number(Double(maxAttempts)) }
            if let data = question.data { object["data"] = data }
            return .object(object)
        case .code(let script), .condition(let script): return .string(script.canonicalSource)
        case .switch(let value): return ["value": .string(value.value.canonicalSource)]
        case .set(let assignments):
            var object: [String: JSONValue] = [:]
            for assignment in assignments { object[assignment.path.description] = assignment.value }
            return .object(object)
        case .copilot(let tile):
            var object = tile.fields
            object["type"] = .string(tile.type)
            if let id = tile.tile { object["tile"] = .string(id) }
            return .object(object)
        case .goto(let reference), .execute(let reference):
            var object: [String: JSONValue] = ["flow": .string(reference.flow)]
            if let node = reference.node { object["node"] = .string(node) }
            return .object(object)
        case .wait, .end: return .emptyObject
        case .http(let call):
            var object: [String: JSONValue] = [
                "connection": .string(call.connection), "method": .string(call.method), "store": .string(call.store.description),
            ]
            if let path = call.path { object["path"] = .string(path) }
            if !call.query.isEmpty { object["query"] = .array(call.query.map(\.canonical)) }
            if !call.headers.isEmpty { object["headers"] = .array(call.headers.map(\.canonical)) }
            if let body = call.body { object["body"] = body }
            if let timeout = call.timeoutMs { object["timeoutMs"] = .number(Double(timeout)) }
            return .object(object)
        case .llm(let call):
            var object: [String: JSONValue] = [
                "connection": .string(call.connection), "prompt": .string(call.prompt), "history": .number(Double(call.history)),
                "json": .bool(call.json), "maxToolRounds": .number(Double(call.maxToolRounds)), "say": .bool(call.say),
            ]
            if let model = call.model { object["model"] = .string(model) }
            if let system = call.system { object["system"] = .string(system) }
            switch call.temperature {
            case .value(let value): object["temperature"] = .number(value)
            case .omitted: object["temperature"] = .null
            }
            if let maxTokens = call.maxTokens { object["maxTokens"] = .number(Double(maxTokens)) }
            if let store = call.store { object["store"] = .string(store.description) }
            if !call.tools.isEmpty {
                object["tools"] = .array(
                    call.tools.map { tool in
                        var item: [String: JSONValue] = ["name": .string(tool.name), "parameters": tool.parameters]
                        if let description = tool.description { item["description"] = .string(description) }
                        return .object(item)
                    }
                )
            }
            return .object(object)
        case .resolveTool(let value): return value
        }
    }
}

extension Message {
    fileprivate var canonical: JSONValue {
        var object: [String: JSONValue] = [:]
        if let text { object["text"] = .string(text) }
        if let data { object["data"] = data }
        return .object(object)
    }
}

extension Script {
    /// The source without trailing white space.
    fileprivate var canonicalSource: String {
        var text = Substring(source)
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        return String(text)
    }
}

extension NamedValue {
    fileprivate var canonical: JSONValue { [.string(name), .string(value)] }
}
