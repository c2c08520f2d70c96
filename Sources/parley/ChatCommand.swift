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

    @Option(help: "The configuration file that names the store (with --store).")
    var config = "parley.yaml"

    @Option(help: "The session id (with --store; default: a new one).")
    var session: String?

    func run() async throws {
        let (result, id) = try FlowSource.resolve(flow, folder: flows)
        for diagnostic in result.diagnostics where diagnostic.severity == .error { FileHandleOutput.standardError(diagnostic.description) }
        guard let flowSet = result.flowSet else { throw ExitCode(1) }
        if store {
            try await chatThroughStore(flowSet: flowSet, flow: id, files: result.files)
            return
        }
        var conversation = try Conversation(engine: Engine(flows: flowSet), flow: id, userId: user, sessionId: "cli-\(id)", channel: "cli")
        let interactive = isatty(STDIN_FILENO) != 0
        if interactive { emit("Talking to '\(id)'. Type a message; /quit to stop.") }
        var lines = StandardInput().makeAsyncIterator()
        while true {
            if interactive { FileHandle.standardOutput.write(Data("> ".utf8)) }
            guard let line = await lines.next() else { break }
            let time = now ?? Self.timestamp()
            let turn: Turn
            switch ChatLine(line) {
            case .quit: return
            case .invalid(let message):
                emit("! \(message)")
                continue
            case .message(let text, let data): turn = try conversation.send(text: text, data: data, currentTime: time)
            case .endHandover(let status): turn = try conversation.endHandover(status, currentTime: time)
            }
            for line in ChatTranscript.lines(for: turn, trace: trace) { emit(line) }
        }
    }

    /// The same conversation, but each line is accepted, run and committed by the runtime on the configured store,
    /// so the session can be listed, exported and replayed afterwards.
    private func chatThroughStore(flowSet: FlowSet, flow: String, files: [String]) async throws {
        let store = try StoreSource.open(StoreSource.configuration(config))
        let endpoint = Endpoint(name: "cli", kind: .rest, urlToken: String(repeating: "0", count: 64), flow: flow)
        let fixed = now.flatMap { ISO8601DateFormatter().date(from: $0) }
        let runtime = Runtime(
            store: store,
            flows: flowSet,
            endpoints: [endpoint],
            router: NoDeliveries(),
            settings: Runtime.Settings(now: { fixed ?? Date() })
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
            for line in ChatTranscript.lines(for: outcome.turn, trace: trace) { emit(line) }
        }
        await runtime.stop()
        await loop.value
    }

    /// The current time as ISO 8601 with milliseconds, in UTC.
    static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
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
            guard parts.count > 1, let value = try? JSONDecoder().decode(JSONValue.self, from: Data(parts[1].utf8)),
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

/// How a turn reads in the terminal: outputs as `bot:` lines, events in brackets, the trace indented.
enum ChatTranscript {
    static func lines(for turn: Turn, trace: Bool) -> [String] {
        var lines: [String] = []
        if trace {
            for entry in turn.trace {
                lines.append("  · \(entry.summary)")
                for note in entry.notes { lines.append("      \(note.level): \(note.message)") }
            }
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
}
