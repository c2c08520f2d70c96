import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import ParleyDelivery
import ParleyFlows
import ParleyRuntime
import ParleySQLite
import ParleyServer
import ParleyStore
import ParleyTestSupport
import ServiceLifecycle

/// Test flows: an echo (one output per input, no JavaScript) and a handover round trip.
enum TestFlows {
    static let echo = """
        flow: echo
        nodes:
          say:
            say: "echo: {{input.text}}"
        """
    static let agent = """
        flow: agent
        nodes:
          hello: { say: "Hello {{input.text}}", next: to_human }
          to_human:
            handover: { text: Connecting you with a colleague., data: { queue: support } }
            next: back
          back: { say: "Back after {{input.handover.status}}" }
        """
    /// A chat bot with an agent copilot: each customer message is echoed and summarised in a workspace tile; an
    /// agent's action (channel `copilot`) answers the customer and updates the tile.
    static let helpdesk = """
        flow: helpdesk
        nodes:
          start:
            condition: input.channel === "copilot"
            then: approved
            else: greet
          greet: { say: "Hi {{input.text}}", next: summary }
          summary:
            copilot: { tile: summary, type: nextAction, text: "Customer said {{input.text}}" }
          approved: { say: "Approved {{input.data.amount}}", next: approved_tile }
          approved_tile:
            copilot: { tile: summary, type: nextAction, text: "Approved {{input.data.amount}} from {{input.data.tile}}" }
        """
    /// A transformer that maps a test format and exercises every outcome (DESIGN §5.7).
    static let transformer = """
        createWebhookTransformer({
          handleInput: async ({ request }) => {
            const body = request.body;
            if (body.throw) throw new Error("refused by the transformer");
            if (body.loop) { for (;;) {} }
            if ("result" in body) return body.result;
            if (body.touchThenFail) {
              const touched = await getSessionStorage("u9", "s9");
              touched.touched = true;
              return { userId: "u9", sessionId: 7 };
            }
            const storage = await getSessionStorage(body.user, body.session);
            storage.inputs = (storage.inputs || 0) + 1;
            return { userId: body.user, sessionId: body.session, text: body.say, data: { header: request.headers["x-test"] || null, key: request.headers["x-webhook-key"] || null } };
          },
          handleInject: ({ request }) => ({ userId: request.body.who, sessionId: request.body.thread, text: "injected " + request.body.say }),
          handleNotify: ({ request }) => request.body.quiet ? null : ({ userId: request.body.who, sessionId: request.body.thread, text: "notice: " + request.body.say }),
          handleOutput: async ({ output, processedOutput, userId, sessionId }) => {
            if (String(output.text).includes("boom")) throw new Error("cannot map boom");
            if (String(output.text).includes("drop")) return null;
            const storage = await getSessionStorage(userId, sessionId);
            storage.outputs = (storage.outputs || 0) + 1;
            return { say: output.text, inputs: storage.inputs, outputs: storage.outputs, traceId: processedOutput.AIOutput.traceId };
          },
        });
        """
    static let restTransformer = """
        createRestTransformer({
          handleInput: ({ request }) => ({ userId: request.body.from, sessionId: request.body.thread, text: request.body.message }),
          handleExecutionFinished: async ({ outputs, processedOutput, sessionId }) =>
            ({ replies: outputs.map((output) => output.text), joined: processedOutput.text, thread: sessionId }),
        });
        """
}

/// A deployment for end-to-end tests: a folder with flows, a configuration and a SQLite store, served by the real
/// server on 127.0.0.1 (an ephemeral port) with the real delivery loop, in this process.
final class TestDeployment: Sendable {
    static let webhookToken = String(repeating: "1", count: 64)
    static let restToken = String(repeating: "2", count: 64)
    static let keyedToken = String(repeating: "3", count: 64)
    static let disabledToken = String(repeating: "4", count: 64)
    static let agentToken = String(repeating: "5", count: 64)
    static let quietToken = String(repeating: "6", count: 64)
    static let voiceToken = String(repeating: "7", count: 64)
    static let deskToken = String(repeating: "8", count: 64)
    static let whatsappToken = String(repeating: "c1", count: 32)
    static let transformerToken = String(repeating: "c2", count: 32)
    static let restTransformerToken = String(repeating: "c3", count: 32)
    static let helpdeskToken = String(repeating: "c4", count: 32)
    static let unrecordedToken = String(repeating: "c5", count: 32)
    static let quietVoiceToken = String(repeating: "c6", count: 32)
    /// Secrets of the test deployment, distinctive so `Tests/security/check-logs.sh` can prove no log line of the
    /// whole test run holds them.
    static let adminToken = "admin-9c2b-never-logged"
    static let webhookPassword = "pw-5e1d-never-logged"
    /// Headers of a request acting for the agent (DESIGN §5.4.1): JSON with the admin token.
    static let agent = ["Content-Type": "application/json", "Authorization": "Bearer \(adminToken)"]

    let folder: URL
    let port: Int
    let server: ParleyServer
    let store: SQLiteStore
    private let task: Task<Void, any Error>
    private let group: ServiceGroup

    var base: String { "http://127.0.0.1:\(port)" }

    /// The configuration text for a receiver at `receiverPort`.
    static func configurationText(receiverPort: Int, port: Int = 0, maxBodyBytes: Int = 16384) -> String {
        """
        server: { host: 127.0.0.1, port: \(port), maxBodyBytes: \(maxBodyBytes), adminToken: \(adminToken) }
        store: "sqlite:parley.sqlite"
        flows: flows
        delivery: { timeoutMs: 2000, retryWindowSeconds: 3600 }
        endpoints:
          - { name: web, type: webhook, urlToken: \(webhookToken), flow: echo,
              webhook: { url: "http://127.0.0.1:\(receiverPort)/hook", user: parley, password: \(webhookPassword) } }
          - { name: rest, type: rest, urlToken: \(restToken), flow: echo }
          - { name: keyed, type: webhook, urlToken: \(keyedToken), flow: echo, auth: apiKey,
              webhook: { url: "http://127.0.0.1:\(receiverPort)/keyed" } }
          - { name: off, type: webhook, urlToken: \(disabledToken), flow: echo, enabled: false,
              webhook: { url: "http://127.0.0.1:\(receiverPort)/off" } }
          - { name: agent, type: webhook, urlToken: \(agentToken), flow: agent,
              webhook: { url: "http://127.0.0.1:\(receiverPort)/user" }, handover: { url: "http://127.0.0.1:\(receiverPort)/agent" } }
          - { name: quiet, type: webhook, urlToken: \(quietToken), flow: agent,
              webhook: { url: "http://127.0.0.1:\(receiverPort)/quiet" },
              dataProtection: { disableSensitiveLogging: true } }
          - { name: voice, type: voiceCopilot, urlToken: \(voiceToken), flow: call-assist,
              webhook: { url: "http://127.0.0.1:\(receiverPort)/voice" } }
          - { name: desk, type: webhook, urlToken: \(deskToken), flow: agent,
              webhook: { url: "http://127.0.0.1:\(receiverPort)/desk" } }
          - { name: whatsapp, type: webhook, urlToken: \(whatsappToken), flow: echo, transformer: transformers/whatsapp.js,
              webhook: { url: "http://127.0.0.1:\(receiverPort)/whatsapp" } }
          - { name: mapped, type: webhook, urlToken: \(transformerToken), flow: echo, transformer: transformers/test.js,
              webhook: { url: "http://127.0.0.1:\(receiverPort)/mapped" } }
          - { name: mappedrest, type: rest, urlToken: \(restTransformerToken), flow: echo, transformer: transformers/rest.js }
          - { name: helpdesk, type: webhook, urlToken: \(helpdeskToken), flow: helpdesk, auth: apiKey,
              webhook: { url: "http://127.0.0.1:\(receiverPort)/helpdesk" } }
          - { name: unrecorded, type: webhook, urlToken: \(unrecordedToken), flow: echo,
              webhook: { url: "http://127.0.0.1:\(receiverPort)/unrecorded" },
              dataProtection: { collectConversations: false, maskIPAddress: false } }
          - { name: quietvoice, type: voiceCopilot, urlToken: \(quietVoiceToken), flow: call-assist,
              dataProtection: { disableSensitiveLogging: true } }
        """
    }

    /// Writes the folder: configuration, flows.
    static func prepare(receiverPort: Int, port: Int = 0) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parley-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("flows"), withIntermediateDirectories: true)
        try configurationText(receiverPort: receiverPort, port: port)
            .write(to: folder.appendingPathComponent("parley.yaml"), atomically: true, encoding: .utf8)
        try TestFlows.echo.write(to: folder.appendingPathComponent("flows/echo.yaml"), atomically: true, encoding: .utf8)
        try TestFlows.agent.write(to: folder.appendingPathComponent("flows/agent.yaml"), atomically: true, encoding: .utf8)
        try TestFlows.helpdesk.write(to: folder.appendingPathComponent("flows/helpdesk.yaml"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("transformers"), withIntermediateDirectories: true)
        try TestFlows.transformer.write(to: folder.appendingPathComponent("transformers/test.js"), atomically: true, encoding: .utf8)
        try TestFlows.restTransformer.write(to: folder.appendingPathComponent("transformers/rest.js"), atomically: true, encoding: .utf8)
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        try FileManager.default.copyItem(
            at: repository.appendingPathComponent("Flows/call-assist.yaml"),
            to: folder.appendingPathComponent("flows/call-assist.yaml")
        )
        try FileManager.default.copyItem(
            at: repository.appendingPathComponent("Samples/transformers/whatsapp.js"),
            to: folder.appendingPathComponent("transformers/whatsapp.js")
        )
        return folder
    }

    private init(folder: URL, port: Int, server: ParleyServer, store: SQLiteStore, task: Task<Void, any Error>, group: ServiceGroup) {
        self.folder = folder
        self.port = port
        self.server = server
        self.store = store
        self.task = task
        self.group = group
    }

    /// Starts the server in process.
    static func start(receiverPort: Int) async throws -> TestDeployment {
        let folder = try prepare(receiverPort: receiverPort)
        let configuration = try ConfigurationLoader(environment: [:]).load(path: folder.appendingPathComponent("parley.yaml").path)
        let loaded = FlowLoader().load(paths: [configuration.flows])
        guard let flows = loaded.flowSet else { throw DeploymentError(message: "\(loaded.diagnostics)") }
        let store = try SQLiteStore(path: String(configuration.store.dropFirst("sqlite:".count)))
        var logger = Logger(label: "test.parley")
        logger.logLevel = .critical
        let delivery = DeliveryService(
            store: store,
            endpoints: configuration.endpoints,
            settings: DeliveryService.Settings(timeoutMs: 2000, retry: RetryPolicy(baseDelay: 0.05, maxDelay: 0.2), pollInterval: .milliseconds(100)),
            logger: logger
        )
        let server = ParleyServer(
            configuration: configuration,
            flows: flows,
            store: store,
            // Poison inputs die after two quick tries, so tests see dead inputs within a second or two.
            settings: Runtime.Settings(onCommit: { delivery.wake() }, poison: PoisonPolicy(maxAttempts: 2, initialBackoff: 0.1)),
            logger: logger,
            restTimeout: .seconds(10),
            eventKeepAlive: .milliseconds(200)
        )
        try await server.runtime.saveFlowVersion(files: FlowFiles.texts(loaded.files))
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: server.router(),
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        let group = ServiceGroup(
            services: [delivery, TurnService(runtime: server.runtime), app, ShutdownNotice(server: server)],
            logger: logger
        )
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw DeploymentError(message: "the server did not start") }
        return TestDeployment(folder: folder, port: port, server: server, store: store, task: task, group: group)
    }

    /// Runs `body` with a receiver (answering by `script`) and a deployment delivering to it; stops both after.
    static func with(
        receiver script: @escaping WebhookReceiver.Script = { _ in .ok },
        _ body: (TestDeployment, WebhookReceiver) async throws -> Void
    ) async throws {
        let receiver = try await WebhookReceiver.start(script: script)
        let deployment = try await start(receiverPort: receiver.port)
        do {
            try await body(deployment, receiver)
        } catch {
            await deployment.stop()
            await receiver.stop()
            throw error
        }
        await deployment.stop()
        await receiver.stop()
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
        try? store.close()
        try? FileManager.default.removeItem(at: folder)
    }

    struct DeploymentError: Error { var message: String }
}

/// Small HTTP calls with AsyncHTTPClient.
enum HTTP {
    struct Answer: Sendable {
        var status: Int
        var headers: [String: String]
        var body: String

        var json: JSONValue? { try? JSONValue.parse(body) }
        var errorCode: String? { json?["error"]?["code"]?.stringValue }
    }

    static func send(
        _ method: HTTPMethodName,
        _ url: String,
        body: String? = nil,
        headers: [String: String] = ["Content-Type": "application/json"],
        timeout: Duration = .seconds(20)
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method.nio
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: TimeAmount.nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000))
        let buffer = try await response.body.collect(upTo: 1 << 22)
        var fields: [String: String] = [:]
        for header in response.headers { fields[header.name.lowercased()] = header.value }
        return Answer(status: Int(response.status.code), headers: fields, body: String(buffer: buffer))
    }

    static func post(_ url: String, _ body: String, headers: [String: String] = ["Content-Type": "application/json"]) async throws -> Answer {
        try await send(.post, url, body: body, headers: headers)
    }

    static func message(user: String = "u1", session: String, text: String) -> String {
        JSONValue.object(["userId": .string(user), "sessionId": .string(session), "text": .string(text)]).canonicalJSON
    }
}

/// The few methods the tests use, without importing NIOHTTP1 here.
enum HTTPMethodName {
    case get, post, put, delete

    var nio: HTTPMethod {
        switch self {
        case .get: .GET
        case .post: .POST
        case .put: .PUT
        case .delete: .DELETE
        }
    }
}
