import Foundation
import Yams

/// Turns the YAML text of one flow file into a ``Flow``, collecting every problem it finds on the way.
///
/// Only what one file can tell is checked here (syntax, kinds, keys, field types, regexes); what needs the whole
/// flow set (edges, flow references, loops, JavaScript syntax) is ``FlowValidator``'s job.
struct FlowFileParser {
    let file: String
    let lines: [Substring]
    private(set) var diagnostics: [Diagnostic] = []
    private var scripts: [ScriptSite] = []
    private var currentNode = ""

    static let topLevelKeys = ["flow", "description", "start", "context", "intents", "nlu", "nodes"]

    static let edgeKeys = ["next", "then", "else", "onFail", "onError"]

    init(file: String, text: String) {
        self.file = file
        self.lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// Parses the file; `nil` when it is not a flow at all (bad YAML, no `flow:`, no nodes).
    mutating func parse(_ text: String) -> Flow? {
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: text, .basic)
        } catch {
            report(yamlError: error)
            return nil
        }
        guard let root else {
            error(.missingField, "empty flow file; expected a mapping with 'flow' and 'nodes'", at: startOfFile)
            return nil
        }
        guard let pairs = mapping(root, what: "a flow file") else { return nil }

        var id: String?
        var idLocation = location(root)
        var description: String?
        var start: String?
        var startLocation: SourceLocation?
        var context: [String: JSONValue] = [:]
        var intents: [Intent] = []
        var nlu: NLUSettings?
        var nodesNode: Yams.Node?
        for (key, keyNode, value) in pairs {
            switch key {
            case "flow":
                idLocation = location(value)
                if let text = string(value, field: "flow") {
                    if text.isEmpty || !text.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_" || $0 == "-") }) {
                        error(.invalidValue, "flow id '\(text)' must match [a-z0-9_-]+", at: location(value))
                    }
                    id = text
                }
            case "description": description = string(value, field: "description")
            case "start":
                start = string(value, field: "start")
                startLocation = location(value)
            case "context":
                if let object = object(value, field: "context", templates: false) { context = object }
            case "intents": intents = parseIntents(value)
            case "nlu": nlu = parseNLU(value)
            case "nodes": nodesNode = value
            default: unknownKey(key, at: location(keyNode), known: Self.topLevelKeys, in: "a flow file")
            }
        }
        if id == nil, !pairs.contains(where: { $0.key == "flow" }) {
            error(.missingField, "missing required field 'flow' (the flow id)", at: location(root))
        }
        var nodes: [Node] = []
        if let nodesNode {
            if let nodePairs = mapping(nodesNode, what: "'nodes'") {
                if nodePairs.isEmpty { error(.missingField, "'nodes' is empty; a flow needs at least one node", at: location(nodesNode)) }
                for (nodeId, keyNode, value) in nodePairs {
                    if let node = parseNode(id: nodeId, keyNode: keyNode, value: value) { nodes.append(node) }
                }
            }
        } else {
            error(.missingField, "missing required field 'nodes'", at: location(root))
        }
        guard let id else { return nil }
        return Flow(
            id: id,
            description: description,
            start: start,
            context: context,
            nodes: nodes,
            location: idLocation,
            startLocation: startLocation,
            scripts: scripts,
            intents: intents,
            nlu: nlu
        )
    }

    // MARK: Intents

    private mutating func parseIntents(_ value: Yams.Node) -> [Intent] {
        guard let pairs = mapping(value, what: "'intents'", expected: "a mapping from intent id to { examples: [...] }") else { return [] }
        var intents: [Intent] = []
        for (id, keyNode, item) in pairs {
            if id.isEmpty || !id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") }) {
                error(.invalidValue, "intent id '\(id)' must match [A-Za-z0-9_.-]+", at: location(keyNode))
            }
            var examplesNode: Yams.Node?
            if case .sequence = item {
                examplesNode = item
            } else if let fields = mapping(item, what: "intent '\(id)'", expected: "a mapping with 'examples' (or a list of examples)") {
                for (key, fieldKey, field) in fields {
                    if key == "examples" {
                        examplesNode = field
                    } else {
                        unknownKey(key, at: location(fieldKey), known: ["examples"], in: "intent '\(id)'")
                    }
                }
            }
            guard let examplesNode else {
                if case .mapping = item { error(.missingField, "intent '\(id)' is missing required field 'examples'", at: location(item)) }
                continue
            }
            guard case .sequence(let list) = examplesNode else {
                error(.wrongType, "'examples' of intent '\(id)' must be a list of sentences", at: location(examplesNode))
                continue
            }
            var examples: [String] = []
            for example in list {
                guard let text = string(example, field: "examples") else { continue }
                if text.allSatisfy(\.isWhitespace) {
                    error(.invalidValue, "an example of intent '\(id)' is empty", at: location(example))
                } else {
                    examples.append(text)
                }
            }
            if examples.isEmpty, list.count == 0 { error(.missingField, "intent '\(id)' has no examples", at: location(examplesNode)) }
            intents.append(Intent(id: id, examples: examples, location: location(keyNode)))
        }
        return intents
    }

    private mutating func parseNLU(_ value: Yams.Node) -> NLUSettings? {
        guard let pairs = mapping(value, what: "'nlu'", expected: "a mapping with 'threshold' or 'connection'") else { return nil }
        var settings = NLUSettings()
        for (key, keyNode, item) in pairs {
            switch key {
            case "threshold":
                guard let number = number(item, field: "threshold") else { break }
                if (0...1).contains(number) {
                    settings.threshold = number
                } else {
                    error(.invalidValue, "'threshold' must be between 0 and 1", at: location(item))
                }
            case "connection":
                settings.connection = string(item, field: "connection")
                settings.location = location(item)
            default: unknownKey(key, at: location(keyNode), known: ["threshold", "connection"], in: "'nlu'")
            }
        }
        return settings
    }

    // MARK: Nodes

    private mutating func parseNode(id: String, keyNode: Yams.Node, value: Yams.Node) -> Node? {
        let nodeLocation = location(keyNode)
        currentNode = id
        if id.isEmpty || !id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) {
            error(.invalidValue, "node id '\(id)' must match [A-Za-z0-9_-]+", at: nodeLocation)
        }
        guard let pairs = mapping(value, what: "node '\(id)'") else { return nil }
        let kindPairs = pairs.filter { NodeKind.names.contains($0.key) }
        let unknown = pairs.filter { !NodeKind.names.contains($0.key) && !Self.edgeKeys.contains($0.key) }
        for (key, keyNode, _) in unknown {
            if kindPairs.isEmpty {
                error(
                    .unknownKind,
                    "unknown node kind '\(key)'\(NameSuggestion.hint(for: key, in: NodeKind.names + Self.edgeKeys))",
                    at: location(keyNode)
                )
            } else {
                unknownKey(key, at: location(keyNode), known: Self.edgeKeys + NodeKind.names, in: "node '\(id)'")
            }
        }
        if kindPairs.isEmpty, unknown.isEmpty {
            error(.noKind, "node '\(id)' has no kind; expected one of \(NodeKind.names.joined(separator: ", "))", at: nodeLocation)
        }
        for extra in kindPairs.dropFirst() {
            error(
                .multipleKinds,
                "node '\(id)' has two kinds, '\(kindPairs[0].key)' and '\(extra.key)'; split it into two nodes",
                at: location(extra.keyNode)
            )
        }
        var edges = Edges()
        // A node whose kind is missing or broken still exists, so edges to it and from it are checked; the flow
        // is rejected anyway, so the stand-in kind never runs.
        let parsed = kindPairs.first.flatMap { parseKind($0.key, value: $0.value, edges: &edges) }
        let kind = parsed ?? .wait
        for (key, keyNode, edgeValue) in pairs where Self.edgeKeys.contains(key) {
            guard parsed == nil || allows(edge: key, on: kind) else {
                error(.unknownKey, "'\(key)' is not an edge of a \(kind.name) node", at: location(keyNode))
                continue
            }
            let edge = self.edge(edgeValue, field: key)
            switch key {
            case "next": edges.next = edge
            case "then": edges.then = edge
            case "else": edges.else = edge
            case "onError": edges.onError = edge
            default:
                if edges.onFail != nil {
                    error(.duplicateKey, "'onFail' is set both on the node and inside 'question'", at: location(keyNode))
                }
                edges.onFail = edge
            }
        }
        var fields: [String: SourceLocation] = [:]
        for (key, _, value) in pairs {
            fields[key] = location(value)
            if case .mapping(let inner) = value, NodeKind.names.contains(key) {
                for pair in inner { fields["\(key).\(pair.key.string ?? "")"] = location(pair.value) }
            }
        }
        return Node(id: id, kind: kind, edges: edges, location: nodeLocation, fieldLocations: fields)
    }

    private func allows(edge: String, on kind: NodeKind) -> Bool {
        switch edge {
        case "next":
            switch kind {
            case .goto, .end, .resolveTool: false
            default: true
            }
        case "then", "else": if case .condition = kind { true } else { false }
        case "onError":
            switch kind {
            case .code, .http, .llm: true
            default: false
            }
        case "onFail": if case .question = kind { true } else { false }
        default: false
        }
    }

    private mutating func parseKind(_ name: String, value: Yams.Node, edges: inout Edges) -> NodeKind? {
        switch name {
        case "say":
            return message(value, kind: "say", textRequired: false).map(NodeKind.say)
        case "handover":
            if isEmpty(value) { return .handover(Message()) }
            return message(value, kind: "handover", textRequired: false, allowEmpty: true).map(NodeKind.handover)
        case "question":
            return question(value, edges: &edges).map(NodeKind.question)
        case "code":
            return script(value, field: "code", kind: .statements).map(NodeKind.code)
        case "condition":
            return script(value, field: "condition", kind: .expression).map(NodeKind.condition)
        case "switch":
            return switchNode(value, edges: &edges).map(NodeKind.switch)
        case "set":
            return assignments(value).map(NodeKind.set)
        case "copilot":
            return copilot(value).map(NodeKind.copilot)
        case "goto":
            return flowReference(value, field: "goto").map(NodeKind.goto)
        case "execute":
            return flowReference(value, field: "execute").map(NodeKind.execute)
        case "wait", "end":
            if !isEmpty(value) {
                error(.wrongType, "'\(name)' takes no settings; write '\(name): {}'", at: location(value))
            }
            return name == "wait" ? .wait : .end
        case "http":
            return httpCall(value).map(NodeKind.http)
        case "llm":
            return llmCall(value, edges: &edges).map(NodeKind.llm)
        case "resolveTool":
            return .resolveTool(json(value, templates: true))
        default:
            return nil
        }
    }

    private mutating func httpCall(_ value: Yams.Node) -> HTTPCall? {
        guard let pairs = mapping(value, what: "'http'") else { return nil }
        var connection: String?
        var call = HTTPCall(connection: "", store: MemoryPath(root: .context, keys: ["response"]))
        var store: MemoryPath?
        let known = ["connection", "method", "path", "query", "headers", "body", "store", "timeoutMs"]
        for (key, keyNode, item) in pairs {
            switch key {
            case "connection": connection = string(item, field: "connection")
            case "method":
                guard let method = string(item, field: "method") else { break }
                if HTTPCall.methods.contains(method.uppercased()) {
                    call.method = method.uppercased()
                } else {
                    error(.invalidValue, "unknown HTTP method '\(method)' (methods: \(HTTPCall.methods.joined(separator: ", ")))", at: location(item))
                }
            case "path":
                call.path = string(item, field: "path")
                templateSites(in: item)
            case "query": call.query = namedValues(item, field: "query")
            case "headers": call.headers = namedValues(item, field: "headers")
            case "body": call.body = json(item, templates: true)
            case "store": store = memoryPath(item, field: "store")
            case "timeoutMs": call.timeoutMs = bounded(item, field: "timeoutMs", in: 1...600_000)
            default: unknownKey(key, at: location(keyNode), known: known, in: "'http'")
            }
        }
        requireFields(["connection", "store"], in: pairs, of: "http", at: value)
        guard let connection, let store else { return nil }
        call.connection = connection
        call.store = store
        return call
    }

    private mutating func llmCall(_ value: Yams.Node, edges: inout Edges) -> LLMCall? {
        guard let pairs = mapping(value, what: "'llm'") else { return nil }
        var connection: String?
        var call = LLMCall(connection: "")
        let known = [
            "connection", "model", "system", "prompt", "history", "temperature", "maxTokens", "json", "tools", "maxToolRounds", "store", "say",
        ]
        for (key, keyNode, item) in pairs {
            switch key {
            case "connection": connection = string(item, field: "connection")
            case "model":
                call.model = string(item, field: "model")
                templateSites(in: item)
            case "system":
                call.system = string(item, field: "system")
                templateSites(in: item)
            case "prompt":
                call.prompt = string(item, field: "prompt") ?? call.prompt
                templateSites(in: item)
            case "history": call.history = bounded(item, field: "history", in: 0...50) ?? 0
            case "temperature":
                if case .scalar(let scalar) = item, ScalarValue(scalar) == .null {
                    call.temperature = .omitted
                } else if let number = number(item, field: "temperature") {
                    if (0...2).contains(number) {
                        call.temperature = .value(number)
                    } else {
                        error(.invalidValue, "'temperature' must be between 0 and 2 (or null)", at: location(item))
                    }
                }
            case "maxTokens": call.maxTokens = bounded(item, field: "maxTokens", in: 1...1_000_000)
            case "json": call.json = bool(item, field: "json") ?? false
            case "tools": call.tools = tools(item, edges: &edges)
            case "maxToolRounds": call.maxToolRounds = bounded(item, field: "maxToolRounds", in: 1...20) ?? LLMCall.defaultMaxToolRounds
            case "store": call.store = memoryPath(item, field: "store")
            case "say": call.say = bool(item, field: "say") ?? true
            default: unknownKey(key, at: location(keyNode), known: known, in: "'llm'")
            }
        }
        requireFields(["connection"], in: pairs, of: "llm", at: value)
        guard let connection else { return nil }
        call.connection = connection
        return call
    }

    private mutating func tools(_ value: Yams.Node, edges: inout Edges) -> [Tool] {
        guard let pairs = mapping(value, what: "'tools'", expected: "a mapping from tool name to { description, parameters, node }") else {
            return []
        }
        var tools: [Tool] = []
        for (name, keyNode, item) in pairs {
            if name.isEmpty || name.count > 64 || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) {
                error(.invalidValue, "tool name '\(name)' must match [A-Za-z0-9_-]{1,64}", at: location(keyNode))
            }
            guard let fields = mapping(item, what: "tool '\(name)'") else { continue }
            var tool = Tool(name: name)
            var sawNode = false
            for (key, fieldKey, field) in fields {
                switch key {
                case "description": tool.description = string(field, field: "description")
                case "parameters":
                    guard case .mapping = field else {
                        error(.wrongType, "'parameters' of tool '\(name)' must be a JSON Schema object", at: location(field))
                        break
                    }
                    tool.parameters = json(field, templates: false)
                case "node":
                    sawNode = true
                    if let edge = edge(field, field: "node") { edges.tools.append(ToolEdge(name: name, edge: edge)) }
                default: unknownKey(key, at: location(fieldKey), known: ["description", "parameters", "node"], in: "tool '\(name)'")
                }
            }
            if !sawNode { error(.missingField, "tool '\(name)' is missing required field 'node' (the first node of its branch)", at: location(item)) }
            tools.append(tool)
        }
        return tools
    }

    /// A mapping from names to scalar templates (numbers and booleans are taken as their text).
    private mutating func namedValues(_ value: Yams.Node, field: String) -> [NamedValue] {
        guard let pairs = mapping(value, what: "'\(field)'", expected: "a mapping from names to values") else { return [] }
        var values: [NamedValue] = []
        for (name, _, item) in pairs {
            guard let text = string(item, field: "\(field).\(name)") else { continue }
            templateSites(in: item)
            values.append(NamedValue(name: name, value: text))
        }
        return values
    }

    private mutating func memoryPath(_ item: Yams.Node, field: String) -> MemoryPath? {
        guard let path = string(item, field: field) else { return nil }
        guard let parsed = MemoryPath(path) else {
            error(.invalidValue, "'\(field)' must be a context. or profile. path, not '\(path)'", at: location(item))
            return nil
        }
        return parsed
    }

    private mutating func requireFields(
        _ fields: [String],
        in pairs: [(key: String, keyNode: Yams.Node, value: Yams.Node)],
        of kind: String,
        at value: Yams.Node
    ) {
        for field in fields where !pairs.contains(where: { $0.key == field }) {
            error(.missingField, "'\(kind)' is missing required field '\(field)'", at: location(value))
        }
    }

    private mutating func message(_ value: Yams.Node, kind: String, textRequired: Bool, allowEmpty: Bool = false) -> Message? {
        if case .scalar = value {
            guard let text = string(value, field: kind) else { return nil }
            templateSites(in: value)
            return Message(text: text)
        }
        guard let pairs = mapping(value, what: "'\(kind)'", expected: "a string or a mapping with 'text' and/or 'data'") else {
            return nil
        }
        var result = Message()
        for (key, keyNode, item) in pairs {
            switch key {
            case "text":
                result.text = string(item, field: "text")
                templateSites(in: item)
            case "data":
                result.data = object(item, field: "data", templates: true).map(JSONValue.object)
            default: unknownKey(key, at: location(keyNode), known: ["text", "data"], in: "'\(kind)'")
            }
        }
        if result.text == nil, result.data == nil, !allowEmpty {
            error(.missingField, "'\(kind)' needs 'text' or 'data'", at: location(value))
            return nil
        }
        return result
    }

    private mutating func question(_ value: Yams.Node, edges: inout Edges) -> Question? {
        guard let pairs = mapping(value, what: "'question'") else { return nil }
        var text: String?
        var type: Question.AnswerType?
        var typeSeen = false
        var store: MemoryPath?
        var pattern: String?
        var reprompt: String?
        var maxAttempts: Int?
        var data: JSONValue?
        let known = ["text", "type", "store", "pattern", "reprompt", "maxAttempts", "onFail", "data"]
        for (key, keyNode, item) in pairs {
            switch key {
            case "text":
                text = string(item, field: "text")
                templateSites(in: item)
            case "type":
                typeSeen = true
                guard let name = string(item, field: "type") else { break }
                type = Question.AnswerType(rawValue: name)
                if type == nil {
                    let names = Question.AnswerType.allCases.map(\.rawValue)
                    error(
                        .invalidValue,
                        "unknown question type '\(name)'\(NameSuggestion.hint(for: name, in: names)) (types: \(names.joined(separator: ", ")))",
                        at: location(item)
                    )
                }
            case "store":
                guard let path = string(item, field: "store") else { break }
                store = MemoryPath(path)
                if store == nil {
                    error(.invalidValue, "'store' must be a context. or profile. path, not '\(path)'", at: location(item))
                }
            case "pattern":
                pattern = string(item, field: "pattern")
                if let pattern {
                    do {
                        _ = try NSRegularExpression(pattern: pattern)
                    } catch {
                        self.error(.invalidRegex, "regex pattern '\(pattern)' does not compile", at: location(item))
                    }
                }
            case "reprompt":
                reprompt = string(item, field: "reprompt")
                templateSites(in: item)
            case "maxAttempts":
                guard let number = integer(item, field: "maxAttempts") else { break }
                if number < 1 {
                    error(.invalidValue, "'maxAttempts' must be at least 1", at: location(item))
                } else {
                    maxAttempts = number
                }
            case "onFail": edges.onFail = edge(item, field: "onFail")
            case "data": data = object(item, field: "data", templates: true).map(JSONValue.object)
            default: unknownKey(key, at: location(keyNode), known: known, in: "'question'")
            }
        }
        if text == nil, !pairs.contains(where: { $0.key == "text" }) {
            error(.missingField, "'question' is missing required field 'text'", at: location(value))
        }
        if !typeSeen { error(.missingField, "'question' is missing required field 'type'", at: location(value)) }
        if type == .regex, pattern == nil, !pairs.contains(where: { $0.key == "pattern" }) {
            error(.missingField, "a 'regex' question needs 'pattern'", at: location(value))
        }
        guard let text, let type else { return nil }
        return Question(
            text: text,
            type: type,
            store: store,
            pattern: pattern,
            reprompt: reprompt,
            maxAttempts: maxAttempts,
            data: data
        )
    }

    private mutating func script(_ value: Yams.Node, field: String, kind: ScriptSite.Kind) -> Script? {
        guard case .scalar(let scalar) = value, ScalarValue(scalar) != .null else {
            error(.wrongType, "'\(field)' must be JavaScript \(kind == .statements ? "source" : "expression") text", at: location(value))
            return nil
        }
        let source = scalar.string
        if source.allSatisfy(\.isWhitespace) {
            error(.missingField, "'\(field)' is empty", at: location(value))
            return nil
        }
        let origin = self.origin(of: scalar)
        scripts.append(ScriptSite(kind: kind, source: source, nodeId: currentNode, origin: origin))
        return Script(source: source, location: origin.start)
    }

    private mutating func switchNode(_ value: Yams.Node, edges: inout Edges) -> Switch? {
        guard let pairs = mapping(value, what: "'switch'") else { return nil }
        var expression: Script?
        var sawCases = false
        for (key, keyNode, item) in pairs {
            switch key {
            case "value": expression = script(item, field: "value", kind: .expression)
            case "cases":
                sawCases = true
                guard let casePairs = mapping(item, what: "'cases'", expected: "a mapping from literal to node id") else { break }
                for (literal, _, target) in casePairs {
                    if let edge = edge(target, field: "case '\(literal)'") {
                        edges.cases.append(SwitchCase(literal: literal, edge: edge))
                    }
                }
            case "default": edges.default = edge(item, field: "default")
            default: unknownKey(key, at: location(keyNode), known: ["value", "cases", "default"], in: "'switch'")
            }
        }
        if !pairs.contains(where: { $0.key == "value" }) {
            error(.missingField, "'switch' is missing required field 'value'", at: location(value))
        }
        if !sawCases { error(.missingField, "'switch' is missing required field 'cases'", at: location(value)) }
        return expression.map(Switch.init)
    }

    private mutating func assignments(_ value: Yams.Node) -> [Assignment]? {
        guard let pairs = mapping(value, what: "'set'", expected: "a mapping from context./profile. paths to values") else {
            return nil
        }
        if pairs.isEmpty { error(.missingField, "'set' assigns nothing", at: location(value)) }
        var result: [Assignment] = []
        for (key, keyNode, item) in pairs {
            guard let path = MemoryPath(key) else {
                error(.invalidValue, "'set' writes context. or profile. paths, not '\(key)'", at: location(keyNode))
                continue
            }
            result.append(Assignment(path: path, value: json(item, templates: true)))
        }
        return result
    }

    private mutating func copilot(_ value: Yams.Node) -> CopilotTile? {
        guard let pairs = mapping(value, what: "'copilot'") else { return nil }
        var tile: String?
        var type: String?
        var fields: [String: JSONValue] = [:]
        let others = ["text", "data", "html", "url", "card", "grid"]
        for (key, keyNode, item) in pairs {
            switch key {
            case "tile": tile = string(item, field: "tile")
            case "type":
                type = string(item, field: "type")
                if let name = type, !CopilotTile.types.contains(name) {
                    error(
                        .invalidValue,
                        "unknown copilot tile type '\(name)'\(NameSuggestion.hint(for: name, in: CopilotTile.types)) (types: \(CopilotTile.types.joined(separator: ", ")))",
                        at: location(item)
                    )
                    type = nil
                }
            case _ where others.contains(key):
                fields[key] = json(item, templates: true)
            default: unknownKey(key, at: location(keyNode), known: ["tile", "type"] + others, in: "'copilot'")
            }
        }
        if !pairs.contains(where: { $0.key == "type" }) {
            error(.missingField, "'copilot' is missing required field 'type'", at: location(value))
        }
        if type != "setGrid", tile == nil, !pairs.contains(where: { $0.key == "tile" }) {
            error(.missingField, "'copilot' is missing required field 'tile'", at: location(value))
        }
        if type == "setGrid", fields["grid"] == nil {
            error(.missingField, "a 'setGrid' copilot node needs 'grid'", at: location(value))
        }
        guard let type, type == "setGrid" || tile != nil else { return nil }
        return CopilotTile(tile: tile, type: type, fields: fields)
    }

    private mutating func flowReference(_ value: Yams.Node, field: String) -> FlowReference? {
        if case .scalar = value {
            return string(value, field: field).map { FlowReference(flow: $0, location: location(value)) }
        }
        guard let pairs = mapping(value, what: "'\(field)'", expected: "a flow id or a mapping with 'flow' and 'node'") else {
            return nil
        }
        var flow: String?
        var flowLocation = location(value)
        var node: String?
        for (key, keyNode, item) in pairs {
            switch key {
            case "flow":
                flow = string(item, field: "flow")
                flowLocation = location(item)
            case "node": node = string(item, field: "node")
            default: unknownKey(key, at: location(keyNode), known: ["flow", "node"], in: "'\(field)'")
            }
        }
        guard let flow else {
            if !pairs.contains(where: { $0.key == "flow" }) {
                error(.missingField, "'\(field)' is missing required field 'flow'", at: location(value))
            }
            return nil
        }
        return FlowReference(flow: flow, node: node, location: flowLocation)
    }

    private mutating func edge(_ value: Yams.Node, field: String) -> Edge? {
        string(value, field: field).map { Edge(target: $0, location: location(value)) }
    }

    // MARK: Values

    /// The key/value pairs of a mapping, or a `wrong-type` diagnostic.
    private mutating func mapping(
        _ node: Yams.Node,
        what: String,
        expected: String = "a mapping"
    )
        -> [(key: String, keyNode: Yams.Node, value: Yams.Node)]?
    {
        guard case .mapping(let mapping) = node else {
            error(.wrongType, "\(what) must be \(expected), not \(describe(node))", at: location(node))
            return nil
        }
        return mapping.map { pair in (pair.key.string ?? "", pair.key, pair.value) }
    }

    /// A scalar's text. Numbers and booleans are accepted as their text; mappings, sequences and null are not.
    private mutating func string(_ node: Yams.Node, field: String) -> String? {
        guard case .scalar(let scalar) = node, ScalarValue(scalar) != .null else {
            error(.wrongType, "'\(field)' must be a string, not \(describe(node))", at: location(node))
            return nil
        }
        return scalar.string
    }

    private mutating func integer(_ node: Yams.Node, field: String) -> Int? {
        guard case .scalar(let scalar) = node, case .integer(let number) = ScalarValue(scalar) else {
            error(.wrongType, "'\(field)' must be a whole number, not \(describe(node))", at: location(node))
            return nil
        }
        return number
    }

    /// A whole number in `range`, else a diagnostic.
    private mutating func bounded(_ node: Yams.Node, field: String, in range: ClosedRange<Int>) -> Int? {
        guard let number = integer(node, field: field) else { return nil }
        guard range.contains(number) else {
            error(.invalidValue, "'\(field)' must be between \(range.lowerBound) and \(range.upperBound)", at: location(node))
            return nil
        }
        return number
    }

    private mutating func number(_ node: Yams.Node, field: String) -> Double? {
        guard case .scalar(let scalar) = node else {
            error(.wrongType, "'\(field)' must be a number, not \(describe(node))", at: location(node))
            return nil
        }
        switch ScalarValue(scalar) {
        case .integer(let whole): return Double(whole)
        case .number(let number) where number.isFinite: return number
        default:
            error(.wrongType, "'\(field)' must be a number, not \(describe(node))", at: location(node))
            return nil
        }
    }

    private mutating func bool(_ node: Yams.Node, field: String) -> Bool? {
        guard case .scalar(let scalar) = node, case .bool(let flag) = ScalarValue(scalar) else {
            error(.wrongType, "'\(field)' must be true or false, not \(describe(node))", at: location(node))
            return nil
        }
        return flag
    }

    private mutating func object(_ node: Yams.Node, field: String, templates: Bool) -> [String: JSONValue]? {
        guard case .mapping = node else {
            error(.wrongType, "'\(field)' must be a mapping (a JSON object), not \(describe(node))", at: location(node))
            return nil
        }
        return json(node, templates: templates).objectValue
    }

    /// Converts any YAML value to JSON, registering the `{{ }}` expressions of its strings when `templates` is set.
    private mutating func json(_ node: Yams.Node, templates: Bool) -> JSONValue {
        switch node {
        case .scalar:
            let value = JSONValue(yaml: node)
            if templates, value.stringValue != nil { templateSites(in: node) }
            return value
        case .sequence(let sequence):
            return .array(sequence.map { json($0, templates: templates) })
        case .mapping(let mapping):
            var members: [String: JSONValue] = [:]
            for pair in mapping {
                members[pair.key.string ?? ""] = json(pair.value, templates: templates)
            }
            return .object(members)
        case .alias:
            return .null
        }
    }

    /// Registers each `{{ }}` expression of a string scalar as a script site; warns about an unclosed `{{`.
    private mutating func templateSites(in node: Yams.Node) {
        guard case .scalar(let scalar) = node, Template.mayContainExpressions(scalar.string) else { return }
        let template = Template(scalar.string)
        let origin = self.origin(of: scalar)
        for segment in template.segments {
            if let (source, offset) = segment.expression {
                let site = origin.shifted(by: offset, in: scalar.string)
                if source.allSatisfy(\.isWhitespace) {
                    error(.scriptSyntax, "empty '{{ }}' expression", at: site.start)
                    continue
                }
                scripts.append(ScriptSite(kind: .expression, source: source, nodeId: currentNode, origin: site))
            }
        }
        if let offset = template.unclosedOffset {
            let site = origin.shifted(by: offset, in: scalar.string)
            diagnostics.append(Diagnostic(.warning, .scriptSyntax, "'{{' without a closing '}}' is shown as text", at: site.start))
        }
    }

    private func isEmpty(_ node: Yams.Node) -> Bool {
        switch node {
        case .scalar(let scalar): ScalarValue(scalar) == .null
        case .mapping(let mapping): mapping.count == 0
        default: false
        }
    }

    private func describe(_ node: Yams.Node) -> String {
        switch node {
        case .scalar(let scalar):
            switch ScalarValue(scalar) {
            case .null: "null"
            case .integer, .number: "a number"
            case .bool: "a boolean"
            case .text: "a string"
            }
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    // MARK: Positions

    private var startOfFile: SourceLocation { SourceLocation(file: file, line: 1, column: 1) }

    private func location(_ node: Yams.Node) -> SourceLocation {
        guard let mark = node.mark else { return startOfFile }
        return SourceLocation(file: file, line: mark.line, column: mark.column)
    }

    /// Where the text of a scalar starts, and the indentation of its later lines.
    private func origin(of scalar: Yams.Node.Scalar) -> TextOrigin {
        guard let mark = scalar.mark else { return TextOrigin(start: startOfFile, indent: 0) }
        switch scalar.style {
        case .literal, .folded:
            var line = mark.line + 1
            while line <= lines.count, lines[line - 1].allSatisfy({ $0 == " " }) { line += 1 }
            let indent = line <= lines.count ? lines[line - 1].prefix(while: { $0 == " " }).count : mark.column
            return TextOrigin(start: SourceLocation(file: file, line: mark.line + 1, column: indent + 1), indent: indent)
        case .singleQuoted, .doubleQuoted:
            return TextOrigin(start: SourceLocation(file: file, line: mark.line, column: mark.column + 1), indent: mark.column)
        default:
            return TextOrigin(start: SourceLocation(file: file, line: mark.line, column: mark.column), indent: mark.column - 1)
        }
    }

    // MARK: Reporting

    private mutating func error(_ code: DiagnosticCode, _ message: String, at location: SourceLocation) {
        var message = message
        // "'question' is missing required field 'text'" names the node it is about (issue 26).
        if code == .missingField, !currentNode.isEmpty, message.hasPrefix("'"),
            let end = message.dropFirst().firstIndex(of: "'"), message[message.index(after: end)...].hasPrefix(" is missing required field")
        {
            message.insert(contentsOf: " of node '\(currentNode)'", at: message.index(after: end))
        }
        diagnostics.append(Diagnostic(.error, code, message, at: location))
    }

    private mutating func unknownKey(_ key: String, at location: SourceLocation, known: [String], in what: String) {
        // An edge indented into the node's kind (`next` under `question:`) is no misspelling of a field of it.
        if Self.edgeKeys.contains(key), !currentNode.isEmpty, what.hasPrefix("'") {
            error(
                .unknownKey,
                "'\(key)' belongs to node '\(currentNode)', not inside \(what): move it out one level, to the indentation of \(what)",
                at: location
            )
            return
        }
        error(.unknownKey, "unknown key '\(key)' in \(what)\(NameSuggestion.hint(for: key, in: known))", at: location)
    }

    private mutating func report(yamlError: any Error) {
        guard let yamlError = yamlError as? YamlError else {
            error(.yamlSyntax, "cannot parse YAML: \(yamlError)", at: startOfFile)
            return
        }
        switch yamlError {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            if let (message, location) = indentationSlip(problem: problem, at: mark) {
                error(.yamlSyntax, message, at: location)
                return
            }
            let detail = context.map { " \($0.text) at line \($0.mark.line), column \($0.mark.column)" } ?? ""
            error(.yamlSyntax, "YAML syntax error: \(problem)\(detail.isEmpty ? "" : " (\(detail.dropFirst()))")", at: at(mark))
        case .reader(let problem, let offset, _, _):
            error(.yamlSyntax, "YAML syntax error: \(problem)\(offset.map { " at byte \($0)" } ?? "")", at: startOfFile)
        case .duplicatedKeysInMapping(let duplicates, let context):
            reportDuplicate(key: duplicates.first ?? "", first: context.mark)
        default:
            error(.yamlSyntax, "YAML syntax error: \(yamlError)", at: startOfFile)
        }
    }

    private func at(_ mark: Mark) -> SourceLocation {
        SourceLocation(file: file, line: mark.line, column: mark.column)
    }

    /// The two errors libyaml gives for a key that moved (issue 26: reported in the parser's words, and sometimes a
    /// line late): a key indented deeper than the key before it is read as part of that key's value ("mapping values
    /// are not allowed in this context"), one that lines up with nothing ends its mapping ("did not find expected
    /// key"). Both are said as what they likely are, at the key that moved.
    private func indentationSlip(problem: String, at mark: Mark) -> (String, SourceLocation)? {
        guard problem == "mapping values are not allowed in this context" || problem == "did not find expected key" else { return nil }
        func key(onLine number: Int) -> (name: String, column: Int)? {
            guard number >= 1, number <= lines.count else { return nil }
            let line = lines[number - 1]
            let indent = line.prefix(while: { $0 == " " }).count
            let rest = line.dropFirst(indent)
            guard !rest.hasPrefix("#"), !rest.hasPrefix("-"), let colon = rest.firstIndex(of: ":") else { return nil }
            let name = rest[..<colon].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, !name.contains(" ") else { return nil }
            return (name, indent + 1)
        }
        // The key that moved: on the line of the error, else on the line before it (libyaml may notice a line late).
        var number = mark.line
        while number >= 1, key(onLine: number) == nil { number -= 1 }
        guard let moved = key(onLine: number) else { return nil }
        var previous = number - 1
        while previous >= 1, key(onLine: previous) == nil { previous -= 1 }
        guard let sibling = key(onLine: previous), sibling.column != moved.column else { return nil }
        let location = SourceLocation(file: file, line: number, column: moved.column)
        if moved.column > sibling.column {
            return (
                "'\(moved.name)' is indented deeper than '\(sibling.name)' on line \(previous), so YAML reads it as part of the value "
                    + "of '\(sibling.name)': likely an indentation slip; start it in column \(sibling.column) like '\(sibling.name)', "
                    + "or quote the value if the colon belongs to it",
                location
            )
        }
        return (
            "'\(moved.name)' starts in column \(moved.column), which lines up with no key around it ('\(sibling.name)' on line "
                + "\(previous) starts in column \(sibling.column)): likely an indentation slip; keys of one mapping start in the same column",
            location
        )
    }

    /// Yams stops at the first duplicated key and points at its first occurrence; find the second in the text,
    /// at the same indentation, so the message points where the user must edit.
    private mutating func reportDuplicate(key: String, first: Mark) {
        let indent = first.column - 1
        let forms = [key, "\"\(key)\"", "'\(key)'"]
        var duplicate = at(first)
        search: for number in (first.line + 1)..<(lines.count + 1) {
            let line = lines[number - 1]
            let leading = line.prefix(while: { $0 == " " }).count
            if leading < indent, !line.allSatisfy({ $0 == " " }), !line.dropFirst(leading).hasPrefix("#") { break }
            guard leading == indent else { continue }
            let rest = line.dropFirst(leading)
            for form in forms where rest.hasPrefix(form) {
                if rest.dropFirst(form.count).drop(while: { $0 == " " }).hasPrefix(":") {
                    duplicate = SourceLocation(file: file, line: number, column: first.column)
                    break search
                }
            }
        }
        let isNodeId = parentKey(ofLine: first.line, indent: indent) == "nodes"
        let what = isNodeId ? "duplicate node id" : "duplicate key"
        error(.duplicateKey, "\(what) '\(key)' (first defined at line \(first.line))", at: duplicate)
    }

    private func parentKey(ofLine number: Int, indent: Int) -> String? {
        var index = number - 2
        while index >= 0 {
            let line = lines[index]
            let leading = line.prefix(while: { $0 == " " }).count
            let rest = line.dropFirst(leading)
            if leading < indent, !rest.isEmpty, !rest.hasPrefix("#") {
                return rest.split(separator: ":").first.map { String($0).trimmingCharacters(in: .whitespaces) }
            }
            index -= 1
        }
        return nil
    }
}
