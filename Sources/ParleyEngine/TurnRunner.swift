import ParleyFlows
import ParleyScript

/// One turn in progress: walks nodes from the session's position until the flow waits, ends or fails.
///
/// Invariants: a session without a position has an empty call stack; an error restores the position the turn
/// started with (a handover that has just ended is not restored); every executed node leaves one trace entry.
struct TurnRunner {
    let flows: FlowSet
    let configuration: EngineConfiguration
    let rawInput: Input
    /// The `input` object scripts see, including `result`, `activeQuestion` and `codeNodeError`.
    var input: [String: JSONValue]
    var session: Session
    var profile: [String: JSONValue]
    let initialSession: Session

    var outputs: [Output] = []
    var events: [Event] = []
    var trace: [TraceEntry] = []
    /// Notes for the trace entry of the node that is running.
    var notes: [TraceNote] = []
    var steps = 0
    var hops = 0
    private var scripts: ScriptRuntime?

    /// The built-in classifiers of the flows that declare intents.
    let classifiers: [String: IntentClassifier]
    var classification: Classification?
    /// How many effects the turn has asked for so far.
    var effectCount = 0
    /// The effect the turn waits for, and how to go on with its result.
    var waiting: Waiting?
    /// The `llm` node whose request or tool branches are under way.
    var toolFrame: ToolFrame?
    /// Set by ``fail(_:at:kind:)``: the turn ends with an error event.
    var turnFailed = false

    init(
        flows: FlowSet,
        configuration: EngineConfiguration,
        classifiers: [String: IntentClassifier] = [:],
        input: Input,
        session: Session,
        profile: [String: JSONValue]
    ) {
        self.flows = flows
        self.configuration = configuration
        self.classifiers = classifiers
        self.initialSession = session
        self.session = session
        self.profile = profile
        var rawInput = input
        if rawInput.execution <= 0 { rawInput.execution = session.executionCount + 1 }
        self.rawInput = rawInput
        self.input = rawInput.json
        self.session.executionCount = rawInput.execution
    }

    /// The script runtime of this turn, created when the first script runs.
    mutating func runtime() -> ScriptRuntime {
        if let scripts { return scripts }
        let runtime = ScriptRuntime(
            limits: ScriptLimits(
                timeLimit: configuration.codeTimeout,
                maxAPICalls: configuration.maxAPICallsPerNode,
                memoryLimitBytes: configuration.codeMemoryLimitBytes
            ),
            randomSeed: Engine.randomSeed(sessionId: rawInput.sessionId, execution: rawInput.execution),
            currentTime: rawInput.currentTime
        )
        scripts = runtime
        return runtime
    }

    var scope: ScriptScope { ScriptScope(input: input, context: session.context, profile: profile) }

    // MARK: The turn

    /// What the turn does next: it finished, or it waits for an effect (DESIGN §3.1).
    enum Step {
        case finished(Turn)
        case waiting(Effect)
    }

    /// Starts the turn: classifies the input (which may itself wait for an external NLU), then runs nodes.
    mutating func start() -> Step {
        if let effect = classify() { return .waiting(effect) }
        return run(from: enter())
    }

    /// Goes on with the result of the effect the turn waits for.
    mutating func resume(with result: EffectResult) -> Step {
        guard let waiting else { return run(from: nil) }
        self.waiting = nil
        switch waiting {
        case .nlu:
            applyExternalClassification(result)
            return run(from: enter())
        case .http(let address, let node, let call, _):
            return run(from: completeHTTP(call, at: address, node: node, result: result))
        case .llm:
            return run(from: completeLLM(result))
        }
    }

    /// Runs nodes from `cursor` until the turn ends or waits for an effect.
    private mutating func run(from cursor: NodeAddress?) -> Step {
        var cursor = cursor
        while true {
            if let waiting { return .waiting(waiting.effect) }
            guard let address = cursor else {
                // A tool branch that stops anywhere but at a resolveTool leaves the model without its result.
                if toolFrame != nil, !turnFailed {
                    cursor = toolBranchEnded()
                    continue
                }
                break
            }
            cursor = step(address)
        }
        if session.position == nil { session.callStack = [] }
        keepHistory()
        return .finished(Turn(session: session, profile: profile, outputs: outputs, events: events, trace: trace, classification: classification))
    }

    /// Where the input enters: the answered question, the resumed wait or handover, or the entry flow's start.
    private mutating func enter() -> NodeAddress? {
        switch session.position {
        case .question(let address, let attempts):
            return answer(address, attempts: attempts)
        case .wait(let address):
            guard let node = countStep(at: address) else { return nil }
            session.position = nil
            let target = follow(node.edges.next, in: address.flow)
            record(address, node, outcome: "resumed", target: target)
            return target
        case .handover(let address):
            guard rawInput.handover != nil else {
                // While a human has the conversation, inputs go to the agent, not to the flow.
                if let node = flows.flow(address.flow)?.node(address.node) {
                    record(address, node, outcome: "handedOver:ignored")
                }
                return nil
            }
            guard let node = countStep(at: address) else { return nil }
            session.position = nil
            let target = follow(node.edges.next, in: address.flow)
            record(address, node, outcome: "resumed", target: target)
            return target
        case nil:
            // A handover end for a session that is not handed over runs nothing.
            guard rawInput.handover == nil, let flow = flows.flow(session.flow) else { return nil }
            return NodeAddress(flow: flow.id, node: flow.start)
        }
    }

    /// Checks the step guard and finds the node; reports an error and returns `nil` when either fails.
    private mutating func countStep(at address: NodeAddress) -> Node? {
        steps += 1
        guard steps <= configuration.maxStepsPerTurn else {
            fail("the turn ran more than \(configuration.maxStepsPerTurn) nodes (maxStepsPerTurn)", at: address, kind: "guard")
            return nil
        }
        guard let node = flows.flow(address.flow)?.node(address.node) else {
            fail("there is no node '\(address.node)' in flow '\(address.flow)'", at: address, kind: "guard")
            return nil
        }
        return node
    }

    /// Runs one node and returns the next one, or `nil` when the turn ends.
    private mutating func step(_ address: NodeAddress) -> NodeAddress? {
        guard let node = countStep(at: address) else { return nil }
        switch node.kind {
        case .say(let message):
            let output = render(message)
            outputs.append(output)
            return proceed(address, node, edge: node.edges.next, label: "next")

        case .question(let question):
            outputs.append(prompt(question))
            session.position = .question(address, attempts: 0)
            record(address, node, outcome: "asked")
            return nil

        case .code(let script):
            return runCode(script, at: address, node: node)

        case .condition(let script):
            let truthy = truthiness(of: script.source)
            let edge = truthy ? (node.edges.then ?? node.edges.next) : (node.edges.else ?? node.edges.next)
            return proceed(address, node, edge: edge, label: truthy ? "then" : "else")

        case .switch(let value):
            let text = switchText(value.value.source)
            if let text, let match = node.edges.cases.first(where: { $0.literal == text }) {
                return proceed(address, node, edge: match.edge, label: "case '\(match.literal)'")
            }
            if let fallback = node.edges.default { return proceed(address, node, edge: fallback, label: "default") }
            return proceed(address, node, edge: node.edges.next, label: "next")

        case .set(let assignments):
            for assignment in assignments {
                let value = renderValue(assignment.value)
                if value == nil { warn("\(assignment.path) was removed: its value is undefined") }
                write(value, to: assignment.path)
            }
            return proceed(address, node, edge: node.edges.next, label: "next")

        case .handover(let message):
            let rendered = render(message)
            if let text = rendered.text { outputs.append(Output(text: text)) }
            events.append(.handover(HandoverRequest(text: rendered.text, data: rendered.data, address: address)))
            session.position = .handover(address)
            record(address, node, outcome: "handedOver")
            return nil

        case .copilot(let tile):
            var fields: [String: JSONValue] = [:]
            for (key, value) in tile.fields {
                if key == "html", case .string(let html) = value {
                    fields[key] = .string(renderHTML(html))
                } else if let rendered = renderValue(value) {
                    fields[key] = rendered
                }
            }
            events.append(.copilot(TileUpdate(tile: tile.tile, type: tile.type, fields: fields)))
            return proceed(address, node, edge: node.edges.next, label: "next")

        case .goto(let reference):
            guard let target = hop(to: reference, from: address) else { return nil }
            session.flow = reference.flow
            session.callStack = []
            record(address, node, outcome: "jumped", target: target)
            return target

        case .execute(let reference):
            guard let target = hop(to: reference, from: address) else { return nil }
            session.callStack.append(address)
            record(address, node, outcome: "called", target: target)
            return target

        case .wait:
            session.position = .wait(address)
            record(address, node, outcome: "waiting")
            return nil

        case .end:
            events.append(.ended(address))
            session.position = nil
            session.callStack = []
            record(address, node, outcome: "ended")
            return nil

        case .http(let call):
            let effect = httpEffect(call, at: address)
            waiting = .http(address, node, call, effect)
            return nil

        case .llm(let call):
            return startLLM(call, at: address, node: node)

        case .resolveTool(let value):
            return resolveTool(value, at: address, node: node)
        }
    }

    // MARK: Questions

    /// Takes the input as the answer to the question at `address`.
    private mutating func answer(_ address: NodeAddress, attempts: Int) -> NodeAddress? {
        guard let node = countStep(at: address) else { return nil }
        guard case .question(let question) = node.kind else {
            session.position = nil
            return flows.flow(session.flow).map { NodeAddress(flow: $0.id, node: $0.start) }
        }
        input["activeQuestion"] = [
            "flow": .string(address.flow), "nodeId": .string(address.node), "type": .string(question.type.rawValue),
            "attempts": .number(Double(attempts)),
        ]
        if let result = Answer.parse(
            text: rawInput.text,
            data: rawInput.data,
            type: question.type,
            pattern: question.pattern,
            currentTime: rawInput.currentTime
        ) {
            input["result"] = result
            if let store = question.store { write(result, to: store) }
            session.position = nil
            let target = follow(node.edges.next, in: address.flow)
            record(address, node, outcome: "valid", target: target)
            return target
        }
        let failed = attempts + 1
        if let maxAttempts = question.maxAttempts, failed >= maxAttempts {
            session.position = nil
            let target = follow(node.edges.onFail, in: address.flow)
            record(address, node, outcome: "failed", target: target)
            return target
        }
        if let reprompt = question.reprompt {
            outputs.append(Output(text: renderText(reprompt)))
        } else {
            outputs.append(prompt(question))
        }
        session.position = .question(address, attempts: failed)
        record(address, node, outcome: "invalid")
        return nil
    }

    private mutating func prompt(_ question: Question) -> Output {
        Output(text: renderText(question.text), data: question.data.flatMap { renderValue($0) })
    }

    // MARK: Code

    private mutating func runCode(_ script: Script, at address: NodeAddress, node: Node) -> NodeAddress? {
        let flow = flows.flow(address.flow)
        let result = runtime().run(code: script.source, scope: scope, nodeExists: { flow?.node($0) != nil })
        switch result {
        case .success(let effects):
            input = effects.scope.input
            session.context = effects.scope.context
            profile = effects.scope.profile
            outputs += effects.outputs.map { Output(text: $0.text, data: $0.data) }
            notes += effects.logs.map { TraceNote(level: $0.level, message: $0.message) }
            if effects.stopped {
                session.position = nil
                session.callStack = []
                record(address, node, outcome: "stopped")
                return nil
            }
            if let next = effects.nextNode {
                let target = NodeAddress(flow: address.flow, node: next)
                record(address, node, outcome: "setNextNode", target: target)
                return target
            }
            return proceed(address, node, edge: node.edges.next, label: "next")
        case .failure(.timeout(let message)), .failure(.memory(let message)):
            // A script stopped by a limit continues at `next`, the limit named in `codeNodeError.type`.
            let limit: JSONValue = if case .failure(.memory) = result { "memory" } else { "timeout" }
            input["codeNodeError"] = ["message": .string(message), "type": limit]
            let target = follow(node.edges.next, in: address.flow)
            record(address, node, outcome: limit.stringValue ?? "timeout", target: target, error: message)
            return target
        case .failure(.exception(let message)):
            input["codeNodeError"] = ["message": .string(message), "type": "exception"]
            if let onError = node.edges.onError {
                let target = NodeAddress(flow: address.flow, node: onError.target)
                record(address, node, outcome: "error", target: target, error: message)
                return target
            }
            fail(message, at: address, kind: node.kind.name)
            return nil
        }
    }

    // MARK: Moving

    /// Follows `edge`, or returns from `execute` calls when there is none; `nil` ends the turn.
    mutating func follow(_ edge: Edge?, in flow: String) -> NodeAddress? {
        if let edge { return NodeAddress(flow: flow, node: edge.target) }
        // Inside a tool branch a missing edge ends the branch, not the executed flow around it.
        if toolFrame != nil { return nil }
        while let caller = session.callStack.popLast() {
            if let next = flows.flow(caller.flow)?.node(caller.node)?.edges.next {
                return NodeAddress(flow: caller.flow, node: next.target)
            }
        }
        return nil
    }

    /// Follows an edge and records the node with `label`, `returned` (back to a caller) or `done` (end of turn).
    mutating func proceed(_ address: NodeAddress, _ node: Node, edge: Edge?, label: String) -> NodeAddress? {
        let target = follow(edge, in: address.flow)
        record(address, node, outcome: edge != nil ? label : (target != nil ? "returned" : "done"), target: target)
        return target
    }

    /// The start of a `goto`/`execute` target, after the hop guard; the target flow's default context fills
    /// keys the session does not have yet.
    private mutating func hop(to reference: FlowReference, from address: NodeAddress) -> NodeAddress? {
        hops += 1
        guard hops <= configuration.maxHopsPerTurn else {
            fail("more than \(configuration.maxHopsPerTurn) goto/execute hops without input", at: address, kind: "guard")
            return nil
        }
        guard let flow = flows.flow(reference.flow) else {
            fail("there is no flow '\(reference.flow)'", at: address, kind: "guard")
            return nil
        }
        for (key, value) in flow.context where session.context[key] == nil { session.context[key] = value }
        return NodeAddress(flow: flow.id, node: reference.node ?? flow.start)
    }

    // MARK: Recording

    mutating func record(_ address: NodeAddress, _ node: Node, outcome: String, target: NodeAddress? = nil, error: String? = nil) {
        trace.append(
            TraceEntry(flow: address.flow, node: address.node, kind: node.kind.name, outcome: outcome, target: target, error: error, notes: notes)
        )
        notes = []
    }

    mutating func warn(_ message: String) {
        notes.append(TraceNote(level: "warning", message: message))
    }

    /// Ends the turn on an error: an `error` event, a trace entry, and the position the turn started with.
    mutating func fail(_ message: String, at address: NodeAddress, kind: String) {
        turnFailed = true
        toolFrame = nil
        input["tool"] = nil
        trace.append(TraceEntry(flow: address.flow, node: address.node, kind: kind, outcome: "error", error: message, notes: notes))
        notes = []
        events.append(.error(TurnError(message: message, address: address)))
        session.flow = initialSession.flow
        session.callStack = initialSession.callStack
        if case .handover = initialSession.position {
            session.position = nil
        } else {
            session.position = initialSession.position
        }
    }

    /// Writes a `context.` / `profile.` path, creating objects on the way; `nil` removes the key.
    mutating func write(_ value: JSONValue?, to path: MemoryPath) {
        switch path.root {
        case .context: session.context = Self.setting(value, at: path.keys[...], in: session.context)
        case .profile: profile = Self.setting(value, at: path.keys[...], in: profile)
        }
    }

    private static func setting(_ value: JSONValue?, at keys: ArraySlice<String>, in object: [String: JSONValue]) -> [String: JSONValue] {
        var object = object
        guard let key = keys.first else { return object }
        if keys.count == 1 {
            object[key] = value
        } else if value == nil, object[key]?.objectValue == nil {
            return object
        } else {
            object[key] = .object(setting(value, at: keys.dropFirst(), in: object[key]?.objectValue ?? [:]))
        }
        return object
    }
}
