import Foundation
import ParleyFlows
import Yams

/// A `NAME.test.yaml` file: conversation tests for one flow (DESIGN §4).
///
/// ```yaml
/// flow: order-status
/// tests:
///   - name: known order
///     profile: { firstName: Ada }
///     turns:
///       - user: hi
///         bot: ["Hi Ada!", "What is your order number?"]
///       - user: AB123456
///         bot:
///           - { text: "Order AB123456 is shipped.", data: { status: shipped } }
///         expect: { context: { status: shipped } }
/// ```
public struct ConversationTestFile: Sendable, Hashable {
    /// Where the file was read from (used in messages).
    public var path: String
    /// The file's text, kept so `--update` can rewrite only the `bot` lists.
    public var text: String
    /// The id of the flow the tests start in.
    public var flow: String
    public var tests: [ConversationTest]

    public init(path: String, text: String, flow: String, tests: [ConversationTest]) {
        self.path = path
        self.text = text
        self.flow = flow
        self.tests = tests
    }

    /// Reads and parses a test file.
    public static func load(path: String) throws -> ConversationTestFile {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw EngineError(.invalidTestFile, "\(path): cannot read file: \(error.localizedDescription)")
        }
        return try parse(text, path: path)
    }

    /// Parses the text of a test file; `path` names it in error messages (`path:line:column: message`).
    public static func parse(_ text: String, path: String) throws -> ConversationTestFile {
        var parser = ConversationTestParser(path: path)
        return try parser.parse(text)
    }

    /// The test files in `paths`: files as given, folders searched recursively for `*.test.yaml` and
    /// `*.test.yml`, sorted by path.
    public static func find(in paths: [String]) -> [String] {
        FlowLoader.files(in: paths) { $0.hasSuffix(".test.yaml") || $0.hasSuffix(".test.yml") }
    }
}

/// One conversation: a fresh session, then turns with their expectations.
public struct ConversationTest: Sendable, Hashable {
    public var name: String
    /// The user's profile before the first turn.
    public var profile: [String: JSONValue]
    /// Merged over the flow's default context before the first turn.
    public var context: [String: JSONValue]
    public var turns: [TestTurn]
    /// The line of the test's `name`.
    public var line: Int

    public init(name: String, profile: [String: JSONValue] = [:], context: [String: JSONValue] = [:], turns: [TestTurn], line: Int = 0) {
        self.name = name
        self.profile = profile
        self.context = context
        self.turns = turns
        self.line = line
    }
}

/// One input and what must come back.
public struct TestTurn: Sendable, Hashable {
    /// The user's text (`user:`).
    public var user: String?
    /// The user's data (`data:`).
    public var data: [String: JSONValue]?
    /// Instead of a user message, the agent ends a handover (`handover: completed|cancelled|error`).
    public var handoverEnd: HandoverEnd.Status?
    /// Who spoke, for voice copilot flows (`speaker: customer|agent`); sets `input.speaker`.
    public var speaker: String?
    /// Every output of the turn, in order (`bot:`); `nil` checks nothing.
    public var bot: [ExpectedOutput]?
    /// The answers of the calls the turn makes, in order (`effects:`).
    public var effects: [EffectFixture]?
    /// The other checks (`expect:`).
    public var expect: TurnExpectation
    /// Where the turn's keys stand, for `--update`.
    var marks = TurnMarks()

    public init(
        user: String? = nil,
        data: [String: JSONValue]? = nil,
        handoverEnd: HandoverEnd.Status? = nil,
        speaker: String? = nil,
        bot: [ExpectedOutput]? = nil,
        effects: [EffectFixture]? = nil,
        expect: TurnExpectation = TurnExpectation()
    ) {
        self.user = user
        self.data = data
        self.handoverEnd = handoverEnd
        self.speaker = speaker
        self.bot = bot
        self.effects = effects
        self.expect = expect
    }

    /// How the turn reads in messages: `user "hi"`, `data {...}`, `handover completed`.
    public var summary: String {
        if let handoverEnd { return "handover \(handoverEnd.rawValue)" }
        var parts: [String] = []
        if let speaker { parts.append(speaker) }
        if let user { parts.append("user \(JSONValue.string(user).canonicalJSON)") }
        if let data { parts.append("data \(JSONValue.object(data).canonicalJSON)") }
        return parts.joined(separator: ", ")
    }
}

/// Positions of a turn's keys (1-based line and column), used to rewrite `bot` in place.
struct TurnMarks: Sendable, Hashable {
    var bot: Position?
    var effects: Position?
    /// The last of `user`, `data`, `handover`: a new `bot` goes after its value.
    var input: Position?

    struct Position: Sendable, Hashable {
        var line: Int
        var column: Int
    }
}

/// One expected output: a plain string checks the text alone; `{text, data}` checks both.
public enum ExpectedOutput: Sendable, Hashable {
    case text(String)
    case message(text: String?, data: JSONValue?)

    /// Whether `output` is what was expected.
    public func matches(_ output: Output) -> Bool {
        switch self {
        case .text(let text): (output.text ?? "") == text
        case .message(let text, let data): output.text == text && output.data == data
        }
    }

    /// What `--update` writes for an actual output: its text alone when it has no data.
    public init(_ output: Output) {
        if output.data == nil, let text = output.text {
            self = .text(text)
        } else {
            self = .message(text: output.text, data: output.data)
        }
    }
}

/// The `expect:` checks of a turn besides the outputs.
public struct TurnExpectation: Sendable, Hashable {
    /// Subset match of the session context after the turn.
    public var context: JSONValue?
    /// Subset match of the profile after the turn.
    public var profile: JSONValue?
    /// Whether the turn handed over (`true`) or must not (`false`).
    public var handover: Bool?
    /// Tile updates: a list matched in order against the turn's updates (each a subset match), or a mapping
    /// from tile id to a subset of that tile's last update.
    public var copilot: JSONValue?
    /// Whether the turn emitted `ended`.
    public var ended: Bool?
    /// Whether the turn stopped on an error; when absent, an error fails the turn.
    public var error: Bool?
    /// The intent the input was classified as: an id, or `null` for none over the threshold.
    public var intent: JSONValue?

    public init(
        context: JSONValue? = nil,
        profile: JSONValue? = nil,
        handover: Bool? = nil,
        copilot: JSONValue? = nil,
        ended: Bool? = nil,
        error: Bool? = nil,
        intent: JSONValue? = nil
    ) {
        self.context = context
        self.profile = profile
        self.handover = handover
        self.copilot = copilot
        self.ended = ended
        self.error = error
        self.intent = intent
    }
}

/// Reads test files with Yams into the model above; any problem is an ``EngineError`` with a position.
struct ConversationTestParser {
    let path: String

    mutating func parse(_ text: String) throws -> ConversationTestFile {
        let root: Yams.Node?
        do {
            // Scalars are typed by the YAML 1.2 core schema, as in flow files (`yes`/`no` stay text).
            root = try Yams.compose(yaml: text, .basic)
        } catch {
            throw EngineError(.invalidTestFile, "\(path): invalid YAML: \(error)")
        }
        guard let root else { throw problem("empty test file; expected 'flow' and 'tests'", at: nil) }
        let pairs = try mapping(root, what: "a test file")
        var flow: String?
        var tests: [ConversationTest] = []
        for (key, keyNode, value) in pairs {
            switch key {
            case "flow": flow = try string(value, field: "flow")
            case "tests":
                guard case .sequence(let items) = value else { throw problem("'tests' must be a list", at: value) }
                tests = try items.map { try test($0) }
            case "description": break
            default: throw problem("unknown key '\(key)' (expected flow, tests)", at: keyNode)
            }
        }
        guard let flow else { throw problem("missing 'flow'", at: root) }
        return ConversationTestFile(path: path, text: text, flow: flow, tests: tests)
    }

    private func test(_ node: Yams.Node) throws -> ConversationTest {
        var name: String?
        var profile: [String: JSONValue] = [:]
        var context: [String: JSONValue] = [:]
        var turns: [TestTurn] = []
        for (key, keyNode, value) in try mapping(node, what: "a test") {
            switch key {
            case "name": name = try string(value, field: "name")
            case "profile": profile = try object(value, field: "profile")
            case "context": context = try object(value, field: "context")
            case "turns":
                guard case .sequence(let items) = value else { throw problem("'turns' must be a list", at: value) }
                turns = try items.map { try turn($0) }
            default: throw problem("unknown key '\(key)' in a test (expected name, profile, context, turns)", at: keyNode)
            }
        }
        guard let name else { throw problem("a test needs a 'name'", at: node) }
        return ConversationTest(name: name, profile: profile, context: context, turns: turns, line: node.mark?.line ?? 0)
    }

    private func turn(_ node: Yams.Node) throws -> TestTurn {
        var turn = TestTurn()
        for (key, keyNode, value) in try mapping(node, what: "a turn") {
            let position = keyNode.mark.map { TurnMarks.Position(line: $0.line, column: $0.column) }
            switch key {
            case "user":
                turn.user = try string(value, field: "user")
                turn.marks.input = position
            case "data":
                turn.data = try object(value, field: "data")
                turn.marks.input = position
            case "handover":
                let status = try string(value, field: "handover")
                guard let parsed = HandoverEnd.Status(rawValue: status) else {
                    throw problem("'handover' must be completed, cancelled or error", at: value)
                }
                turn.handoverEnd = parsed
                turn.marks.input = position
            case "speaker":
                let speaker = try string(value, field: "speaker")
                guard speaker == "customer" || speaker == "agent" else {
                    throw problem("'speaker' must be customer or agent", at: value)
                }
                turn.speaker = speaker
            case "bot":
                turn.bot = try bot(value)
                turn.marks.bot = position
            case "effects":
                turn.effects = try effects(value)
                turn.marks.effects = position
            case "expect":
                turn.expect = try expectation(value)
            default: throw problem("unknown key '\(key)' in a turn (expected user, data, speaker, handover, bot, effects, expect)", at: keyNode)
            }
        }
        if turn.user == nil, turn.data == nil, turn.handoverEnd == nil {
            throw problem("a turn needs 'user', 'data' or 'handover'", at: node)
        }
        return turn
    }

    private func bot(_ node: Yams.Node) throws -> [ExpectedOutput] {
        let items: [Yams.Node]
        switch node {
        case .sequence(let sequence): items = Array(sequence)
        case .scalar: items = [node]
        default: throw problem("'bot' must be a list of strings or {text, data} mappings", at: node)
        }
        return try items.map { item in
            if case .scalar = item { return .text(try string(item, field: "bot")) }
            var text: String?
            var data: JSONValue?
            for (key, keyNode, value) in try mapping(item, what: "a bot output") {
                switch key {
                case "text": text = try string(value, field: "text")
                case "data": data = json(value)
                default: throw problem("unknown key '\(key)' in a bot output (expected text, data)", at: keyNode)
                }
            }
            return .message(text: text, data: data)
        }
    }

    private func expectation(_ node: Yams.Node) throws -> TurnExpectation {
        var expectation = TurnExpectation()
        for (key, keyNode, value) in try mapping(node, what: "'expect'") {
            switch key {
            case "context": expectation.context = json(value)
            case "profile": expectation.profile = json(value)
            case "copilot": expectation.copilot = json(value)
            case "handover": expectation.handover = try bool(value, field: "handover")
            case "ended": expectation.ended = try bool(value, field: "ended")
            case "error": expectation.error = try bool(value, field: "error")
            case "intent":
                let intent = json(value)
                guard intent.stringValue != nil || intent == .null else { throw problem("'intent' must be an intent id or null", at: value) }
                expectation.intent = intent
            default:
                throw problem("unknown key '\(key)' in 'expect' (expected context, profile, handover, copilot, ended, error, intent)", at: keyNode)
            }
        }
        return expectation
    }

    /// `effects:` — a list of `{http|llm|nlu: answer}` (see ``EffectFixture``).
    private func effects(_ node: Yams.Node) throws -> [EffectFixture] {
        guard case .sequence(let items) = node else { throw problem("'effects' must be a list of { http | llm | nlu: ... }", at: node) }
        return try items.map { item in
            let pairs = try mapping(item, what: "an effect")
            guard pairs.count == 1, let (name, keyNode, value) = pairs.first else {
                throw problem("an effect is one of http, llm or nlu with its answer, such as '- llm: { content: \"...\" }'", at: item)
            }
            guard let kind = Effect.Kind(rawValue: name) else { throw problem("unknown effect '\(name)' (expected http, llm, nlu)", at: keyNode) }
            // `keep: true` marks a hand-written fixture that recording never replaces.
            var keep = false
            var answerNode = value
            if case .mapping(var fields) = value, let marker = fields[Yams.Node("keep")] {
                keep = try bool(marker, field: "keep")
                fields[Yams.Node("keep")] = nil
                answerNode = .mapping(fields)
            }
            return EffectFixture(kind: kind, answer: try answer(answerNode, kind: kind), keep: keep)
        }
    }

    private func answer(_ node: Yams.Node, kind: Effect.Kind) throws -> EffectFixture.Answer {
        let fields = try mapping(node, what: "the answer of a \(kind.rawValue) effect")
        var byName: [String: Yams.Node] = [:]
        for (key, _, value) in fields { byName[key] = value }
        if let error = byName["error"] { return .error(try string(error, field: "error")) }
        if kind == .llm, let content = byName["content"] { return .content(try string(content, field: "content")) }
        if kind == .llm, let calls = byName["toolCalls"] {
            guard case .sequence(let items) = calls else { throw problem("'toolCalls' must be a list of { name, arguments }", at: calls) }
            return .toolCalls(
                try items.map { item in
                    var call = ToolCallFixture(name: "")
                    var named = false
                    for (key, keyNode, value) in try mapping(item, what: "a tool call") {
                        switch key {
                        case "name":
                            call.name = try string(value, field: "name")
                            named = true
                        case "id": call.id = try string(value, field: "id")
                        case "arguments": call.arguments = json(value)
                        default: throw problem("unknown key '\(key)' in a tool call (expected name, arguments, id)", at: keyNode)
                        }
                    }
                    guard named else { throw problem("a tool call needs a 'name'", at: item) }
                    return call
                }
            )
        }
        if byName["status"] != nil || kind == .http {
            for (key, keyNode, _) in fields where !["status", "headers", "body"].contains(key) {
                throw problem("unknown key '\(key)' in a \(kind.rawValue) answer (expected status, headers, body, or error)", at: keyNode)
            }
            var status = 200
            if let value = byName["status"] {
                guard let number = JSONValue(yaml: value).integer(in: 100...599) else {
                    throw problem("'status' must be an HTTP status from 100 to 599", at: value)
                }
                status = number
            }
            var headers: [String: String] = [:]
            let given: [String: JSONValue] = try byName["headers"].map { try object($0, field: "headers") } ?? [:]
            for (name, value) in given {
                headers[name.lowercased()] = value.stringValue ?? value.renderedText
            }
            return .response(status: status, headers: headers, body: byName["body"].map(json) ?? .null)
        }
        if kind == .nlu { return .classification(json(node)) }
        throw problem("an llm answer is { content }, { toolCalls }, { status, body } or { error }", at: node)
    }

    // MARK: Values

    private func mapping(_ node: Yams.Node, what: String) throws -> [(key: String, keyNode: Yams.Node, value: Yams.Node)] {
        guard case .mapping(let mapping) = node else { throw problem("\(what) must be a mapping", at: node) }
        return mapping.map { ($0.key.string ?? "", $0.key, $0.value) }
    }

    private func string(_ node: Yams.Node, field: String) throws -> String {
        guard case .scalar(let scalar) = node, JSONValue(yaml: node) != .null else {
            throw problem("'\(field)' must be a string", at: node)
        }
        return scalar.string
    }

    private func bool(_ node: Yams.Node, field: String) throws -> Bool {
        guard case .scalar = node, let flag = JSONValue(yaml: node).boolValue else {
            throw problem("'\(field)' must be true or false", at: node)
        }
        return flag
    }

    private func object(_ node: Yams.Node, field: String) throws -> [String: JSONValue] {
        guard let object = json(node).objectValue else { throw problem("'\(field)' must be a mapping", at: node) }
        return object
    }

    private func json(_ node: Yams.Node) -> JSONValue {
        JSONValue(yaml: node)
    }

    private func problem(_ message: String, at node: Yams.Node?) -> EngineError {
        guard let mark = node?.mark else { return EngineError(.invalidTestFile, "\(path): \(message)") }
        return EngineError(.invalidTestFile, "\(path):\(mark.line):\(mark.column): \(message)")
    }
}
