import ArgumentParser
import Foundation
import ParleyEngine
import ParleyFlows
import ParleyRuntime
import ParleyServer
import ParleyStore

/// `parley chat FLOW [--flows DIR] [--trace]`: a terminal conversation with a flow.
///
/// Reads one user message per line from standard input, so it can be scripted. Lines starting with `/` are
/// commands: `/data {json}` sends data, `/handover completed|cancelled|error` ends a handover, `/quit` stops.
struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Talk to a flow in the terminal (reads lines from standard input, so it can be scripted).",
        discussion: """
            Each line is a user message. Commands: /data {"key": "value"} sends data, \
            /handover completed|cancelled|error ends a handover, /quit stops.
            """
    )

    @Argument(help: "A flow id in the flows folder, or a flow file.")
    var flow: String

    @Option(help: "The flows folder.")
    var flows: String = "Flows"

    @Flag(help: "Show every executed node.")
    var trace = false

    @Option(help: "The user id of the conversation.")
    var user = "cli-user"

    @Option(help: "Fix input.currentTime (ISO 8601) instead of using the clock, for repeatable runs.")
    var now: String?

    @Flag(help: "Run turns through the runtime and record them in the configured store (endpoint 'cli').")
    var store = false

    @Option(help: "A deployment: its connections perform the flow's effects (and with --store its store is used; default parley.yaml).")
    var config: String?

    @Option(help: "The session id (with --store; default: a new one).")
    var session: String?

    func validate() throws {
        if let now, Self.parseTime(now) == nil {
            throw ValidationError("--now must be an ISO 8601 time such as 2025-01-01T12:00:00Z, not '\(now)'")
        }
    }

    /// An ISO 8601 date and time, with or without fractional seconds.
    static func parseTime(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    func run() async throws {
        // Effects go through a deployment's connections only when one is given explicitly (DESIGN §3.1).
        let deployment = try config.map(StoreSource.configuration)
        let (result, id) = try FlowSource.resolve(flow, folder: flows, connections: deployment?.connectionKinds)
        for diagnostic in result.diagnostics where diagnostic.severity == .error { FileHandleOutput.standardError(diagnostic.description) }
        guard let flowSet = result.flowSet else { throw ExitCode(1) }
        let executor = deployment.map { EffectExecutor(connections: $0.connections) }
        do {
            if store {
                try await chatThroughStore(flowSet: flowSet, flow: id, files: result.files, deployment: deployment, executor: executor)
            } else {
                try await chat(flowSet: flowSet, flow: id, deployment: deployment, executor: executor)
            }
        } catch {
            await executor?.shutdown()
            throw error
        }
        await executor?.shutdown()
    }

    private func chat(flowSet: FlowSet, flow id: String, deployment: Configuration?, executor: EffectExecutor?) async throws {
        let engine = Engine(flows: flowSet, configuration: EngineConfiguration(connections: deployment?.connectionProfiles ?? [:]))
        var conversation = try Conversation(engine: engine, flow: id, userId: user, sessionId: "cli-\(id)", channel: "cli")
        let performer: any EffectPerformer = executor ?? NoConnections()
        let interactive = isatty(STDIN_FILENO) != 0
        if interactive { emit("Talking to '\(id)'. Type a message; /quit to stop.") }
        var lines = StandardInput().makeAsyncIterator()
        // One formatter for the whole conversation: making one costs more than a turn without JavaScript.
        let clock = Self.clockFormatter()
        while true {
            if interactive { FileHandle.standardOutput.write(Data("> ".utf8)) }
            guard let line = await lines.next() else { break }
            let time = now ?? clock.string(from: Date())
            let input: Input
            switch ChatLine(line) {
            case .quit: return
            case .invalid(let message):
                emit("! \(message)")
                continue
            case .message(let text, let data): input = conversation.input(text: text, data: data, currentTime: time)
            case .endHandover(let status): input = conversation.input(text: "", data: [:], handover: status, currentTime: time)
            }
            var progress = try conversation.start(input)
            var effects: [EffectRecord] = []
            while case .waiting(let effect, let pending) = progress {
                let performed = await performer.perform(effect, traceId: conversation.prepared(input).traceId)
                effects.append(performed.record)
                progress = pending.resume(with: performed.result)
            }
            guard case .finished(let turn) = progress else { continue }
            conversation.record(turn)
            // One write per turn: a scripted reader sees each turn whole, without a system call per line.
            emit(lines: ChatTranscript.lines(for: turn, trace: trace, effects: effects, input: interactive ? nil : line))
        }
    }

    /// The same conversation, but each line is accepted, run and committed by the runtime on the configured store,
    /// so the session can be listed, exported and replayed afterwards.
    private func chatThroughStore(flowSet: FlowSet, flow: String, files: [String], deployment: Configuration?, executor: EffectExecutor?) async throws
    {
        let store = try await StoreSource.open(deployment ?? StoreSource.configuration("parley.yaml"))
        let endpoint = Endpoint(name: "cli", kind: .rest, urlToken: String(repeating: "0", count: 64), flow: flow)
        let fixed = now.flatMap(Self.parseTime)
        let runtime = Runtime(
            store: store,
            flows: flowSet,
            endpoints: [endpoint],
            router: NoDeliveries(),
            settings: Runtime.Settings(
                engine: EngineConfiguration(connections: deployment?.connectionProfiles ?? [:]),
                now: { fixed ?? Date() },
                effects: executor ?? NoConnections()
            )
        )
        try await runtime.saveFlowVersion(files: FlowFiles.texts(files))
        let sessionId = session ?? "cli-\(UUID().uuidString.prefix(8).lowercased())"
        FileHandleOutput.standardError("session: --endpoint \(endpoint.name) --user \(user) --session \(sessionId)")
        // The same turn loop the server runs; each line waits for its committed turn.
        let loop = Task { await runtime.run() }
        defer { loop.cancel() }
        reading: for await line in StandardInput() {
            let payload: InboxPayload
            var kind = InboxEntry.Kind.message
            switch ChatLine(line) {
            case .quit: break reading
            case .invalid(let message):
                emit("! \(message)")
                continue
            case .message(let text, let data): payload = InboxPayload(text: text, data: data, channel: "cli")
            case .endHandover(let status):
                payload = InboxPayload(channel: "cli", handover: status)
                kind = .handoverEnd
            }
            let outcome = try await runtime.acceptAndWait(
                InboxRequest(endpoint: endpoint.name, userId: user, sessionId: sessionId, kind: kind, payload: payload, traceIdPrefix: "cli")
            )
            emit(lines: ChatTranscript.lines(for: outcome.turn, trace: trace, input: isatty(STDIN_FILENO) != 0 ? nil : line))
        }
        await runtime.stop()
        await loop.value
    }

    /// Formats the current time as ISO 8601 with milliseconds, in UTC.
    static func clockFormatter() -> ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}

/// `parley chat --store` prints turns itself; nothing is sent over HTTP.
struct NoDeliveries: OutputRouter {
    func deliveries(for outcome: TurnOutcome) -> [Delivery] { [] }
}

/// One line typed into `parley chat`.
enum ChatLine: Equatable {
    case message(text: String, data: [String: JSONValue])
    case endHandover(HandoverEnd.Status)
    case quit
    case invalid(String)

    init(_ line: String) {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("/") else {
            self = .message(text: line, data: [:])
            return
        }
        let parts = trimmed.split(separator: " ", maxSplits: 1).map(String.init)
        switch parts[0] {
        case "/quit", "/exit": self = .quit
        case "/handover":
            let status = parts.count > 1 ? parts[1] : "completed"
            if let parsed = HandoverEnd.Status(rawValue: status) {
                self = .endHandover(parsed)
            } else {
                self = .invalid("usage: /handover completed|cancelled|error")
            }
        case "/data":
            guard parts.count > 1, let value = try? JSONValue.parse(String(parts[1])),
                let object = value.objectValue
            else {
                self = .invalid("usage: /data {\"key\": \"value\"}")
                return
            }
            self = .message(text: "", data: object)
        default: self = .message(text: line, data: [:])
        }
    }
}

/// How a turn reads in the terminal: outputs as `bot:` lines, events in brackets, the trace indented. With the trace,
/// the turn starts with the line it answers (`> hi`), and every effect stands where it happened: just before the
/// node that used its answer (issue 26: effects were printed after every node).
enum ChatTranscript {
    static func lines(for turn: Turn, trace: Bool, effects: [EffectRecord] = [], input: String? = nil) -> [String] {
        var lines: [String] = []
        if trace {
            if let input { lines.append("> \(input)") }
            if let classification = turn.classification {
                let scores = classification.intents.map { "\($0.intent) \(JSONValue.format($0.score))" }.joined(separator: ", ")
                lines.append("  · intent \(classification.intent ?? "-") (\(scores)) slots \(classification.slots.canonicalJSON)")
            }
            var pending = effects[...]
            for entry in turn.trace {
                // The calls this node made (an llm node's rounds, an http node's request) come before its line.
                while let effect = pending.first, effect.flow == entry.flow, effect.node == entry.node {
                    lines.append(line(for: effect))
                    pending.removeFirst()
                }
                lines.append("  · \(entry.summary)")
                for note in entry.notes { lines.append("      \(note.level): \(note.message)") }
            }
            lines += pending.map(line(for:))
        }
        for output in turn.outputs {
            var line = "bot: \(output.text ?? "")"
            if let data = output.data, data != .emptyObject { line += "  \(data.canonicalJSON)" }
            lines.append(line)
        }
        for event in turn.events {
            var object = event.json.objectValue ?? [:]
            let name = object.removeValue(forKey: "event")?.stringValue ?? "event"
            lines.append("[\(name)] \(JSONValue.object(object).canonicalJSON)")
        }
        return lines
    }

    private static func line(for effect: EffectRecord) -> String {
        let answer = effect.response["error"]?.stringValue.map { "failed: \($0)" } ?? "HTTP \(effect.response["status"]?.canonicalJSON ?? "?")"
        let target = effect.request["path"]?.stringValue ?? ""
        return "  · effect \(effect.kind.rawValue) \(effect.connection) \(effect.request["method"]?.stringValue ?? "") \(target) → \(answer)"
    }
}
