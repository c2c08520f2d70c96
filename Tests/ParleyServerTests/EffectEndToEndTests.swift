import Foundation
import ParleyEngine
import ParleyFlows
import ParleyRuntime
import ParleyTestSupport
import Synchronization
import Testing

/// Flows that call the world, end to end: a real `parley serve`, a loopback orders API and a loopback
/// OpenAI-compatible model server that answers tool calls, and a webhook receiver.
@Suite(.serialized) struct EffectEndToEndTests {
    static let token = String(repeating: "e", count: 64)
    static let ordersSecret = "orders-secret-token-3f9a1c"
    static let modelKey = "sk-test-secret-key-7d6f5a"

    static let flow = """
        flow: helper
        nodes:
          answer:
            llm:
              connection: model
              system: "You help with orders."
              history: 6
              tools:
                lookup_order:
                  description: Looks an order up.
                  parameters: { type: object, properties: { orderId: { type: string } }, required: [orderId] }
                  node: find
            onError: sorry
          find:
            http: { connection: orders, path: "/orders/{{input.tool.arguments.orderId}}", store: context.lookup }
            next: give
          give:
            resolveTool: "{{context.lookup.body}}"
          sorry:
            say: "Sorry, no answer right now ({{input.llmError.status || 'no connection'}})."
        """

    /// A served deployment whose `orders` and `model` connections are the two stand-ins.
    struct World {
        let server: ServeProcessTests.Server
        let receiver: WebhookReceiver
        let orders: StubServer
        let model: StubServer
        let folder: URL

        var url: String { "\(server.base)/\(EffectEndToEndTests.token)" }

        func stop() async {
            _ = server.terminate()
            await receiver.stop()
            await orders.stop()
            await model.stop()
            try? FileManager.default.removeItem(at: folder)
        }
    }

    static let shipped = StubServer.Reply.json(["orderId": "AB123456", "status": "shipped", "carrier": "DHL"])

    static func world(model script: @escaping StubServer.Script) async throws -> World {
        let receiver = try await WebhookReceiver.start()
        let orders = try await StubServer.start { request, _ in
            request.path.hasSuffix("/AB123456") ? shipped : .json(["error": "no such order"], status: 404)
        }
        let model = try await StubServer.start(script: script)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parley-effects-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("flows"), withIntermediateDirectories: true)
        try flow.write(to: folder.appendingPathComponent("flows/helper.yaml"), atomically: true, encoding: .utf8)
        try """
        server: { host: 127.0.0.1, port: 0, adminToken: \(TestDeployment.adminToken) }
        store: "sqlite:parley.sqlite"
        flows: flows
        endpoints:
          - { name: helper, type: webhook, urlToken: \(token), flow: helper, webhook: { url: "http://127.0.0.1:\(receiver.port)/hook" } }
        connections:
          orders: { type: http, url: "\(orders.base)/api", headers: { Authorization: "Bearer ${ORDERS_TOKEN}" } }
          model: { type: openai, url: "\(model.base)/v1", apiKey: "${MODEL_KEY}", model: test-model, timeoutMs: 5000 }
        """.write(to: folder.appendingPathComponent("parley.yaml"), atomically: true, encoding: .utf8)
        let server = try await ServeProcessTests.Server.start(
            folder: folder,
            logLevel: "debug",
            environment: ["ORDERS_TOKEN": ordersSecret, "MODEL_KEY": modelKey]
        )
        return World(server: server, receiver: receiver, orders: orders, model: model, folder: folder)
    }

    /// The model asks for the tool on the first request of a turn and answers with text on the second.
    static let toolThenText: StubServer.Script = { request, _ in
        let body = request.json as? [String: Any]
        let messages = body?["messages"] as? [[String: Any]] ?? []
        if messages.last?["role"] as? String == "tool" { return ModelReply.content("Order AB123456 has shipped with DHL.") }
        if (messages.last?["content"] as? String ?? "").contains("AB123456") {
            return ModelReply.toolCall("lookup_order", arguments: ["orderId": "AB123456"])
        }
        return ModelReply.content("You said: \(messages.last?["content"] as? String ?? "")")
    }

    @Test func aToolUsingConversationThroughTheWebhookEndpoint() async throws {
        let world = try await Self.world(model: Self.toolThenText)
        do {
            let accepted = try await HTTP.post(world.url, HTTP.message(session: "t1", text: "Where is AB123456?"))
            let traceId = try #require(accepted.json?["traceId"]?.stringValue)
            #expect(await world.receiver.waitUntil { $0.count == 1 })
            #expect(await world.receiver.requests.first?.text == "Order AB123456 has shipped with DHL.")

            // The model got two requests; the second carries the tool's result.
            let calls = await world.model.requests
            #expect(calls.count == 2)
            #expect(calls.allSatisfy { $0.path == "/v1/chat/completions" && $0.headers["authorization"] == "Bearer \(Self.modelKey)" })
            let second = try #require(calls.last?.json as? [String: Any])
            #expect(second["model"] as? String == "test-model")
            #expect(second["temperature"] as? Double == 0)
            let messages = try #require(second["messages"] as? [[String: Any]])
            #expect(messages.map { $0["role"] as? String ?? "" } == ["system", "user", "assistant", "tool"])
            #expect((messages.last?["content"] as? String)?.contains(#""status":"shipped""#) == true)
            #expect(calls.first?.headers["idempotency-key"] == "\(traceId)-effect-1")

            // The orders API got the connection's header and the turn's idempotency key.
            let lookups = await world.orders.requests
            #expect(lookups.map(\.path) == ["/api/orders/AB123456"])
            #expect(lookups.first?.headers["authorization"] == "Bearer \(Self.ordersSecret)")
            #expect(lookups.first?.headers["idempotency-key"] == "\(traceId)-effect-2")

            // The next turn sends the conversation so far as history.
            #expect(try await HTTP.post(world.url, HTTP.message(session: "t1", text: "thanks")).status == 202)
            #expect(await world.receiver.waitUntil { $0.count == 2 })
            let third = try #require(await world.model.requests.last?.json as? [String: Any])
            let history = (third["messages"] as? [[String: Any]] ?? []).map { $0["content"] as? String ?? "" }
            #expect(history == ["You help with orders.", "Where is AB123456?", "Order AB123456 has shipped with DHL.", "thanks"])

            // Metrics per connection.
            let metrics = try await HTTP.send(.get, "\(world.server.base)/metrics").body
            #expect(metrics.contains(#"parley_effect_calls_total{connection="model",kind="llm"} 3"#), "\(metrics)")
            #expect(metrics.contains(#"parley_effect_calls_total{connection="orders",kind="http"} 1"#))
            #expect(metrics.contains(#"parley_effect_duration_seconds_count{connection="model"} 3"#))
        } catch {
            await world.stop()
            throw error
        }
        await world.stop()
    }

    @Test func aModelOutageTakesOnError() async throws {
        let world = try await Self.world { _, _ in StubServer.Reply(status: 503, body: #"{"error":{"message":"overloaded"}}"#) }
        do {
            #expect(try await HTTP.post(world.url, HTTP.message(session: "o1", text: "hi")).status == 202)
            #expect(await world.receiver.waitUntil { $0.count == 1 })
            #expect(await world.receiver.requests.first?.text == "Sorry, no answer right now (503).")
            // The model server gone altogether: no answer at all.
            await world.model.stop()
            #expect(try await HTTP.post(world.url, HTTP.message(session: "o2", text: "hi")).status == 202)
            #expect(await world.receiver.waitUntil { $0.count == 2 })
            #expect(await world.receiver.requests.last?.text == "Sorry, no answer right now (no connection).")
        } catch {
            await world.stop()
            throw error
        }
        await world.stop()
    }

    /// Connection headers and model keys are used on the wire and appear nowhere else: not in the transcript, not in
    /// the log (at debug level), not in the database file.
    @Test func secretsStayOutOfTranscriptsLogsAndTheDatabase() async throws {
        let world = try await Self.world(model: Self.toolThenText)
        do {
            #expect(try await HTTP.post(world.url, HTTP.message(session: "s1", text: "Where is AB123456?")).status == 202)
            #expect(await world.receiver.waitUntil { $0.count == 1 })
            let admin = ["Authorization": "Bearer \(TestDeployment.adminToken)"]
            let export = try await HTTP.send(.get, "\(world.server.base)/api/v1/sessions/helper/u1/s1/transcript", headers: admin)
            #expect(export.status == 200)
            #expect(export.body.contains(#""kind":"llm""#))
            #expect(export.body.contains(#""Authorization":"***""#))
            _ = world.server.terminate()
            let log = world.server.errors.text.withLock { $0 }
            let database = try Data(contentsOf: world.folder.appendingPathComponent("parley.sqlite"))
            let wal = (try? Data(contentsOf: world.folder.appendingPathComponent("parley.sqlite-wal"))) ?? Data()
            for secret in [Self.ordersSecret, Self.modelKey] {
                #expect(!export.body.contains(secret), "the transcript holds \(secret)")
                #expect(!log.contains(secret), "the log holds \(secret)")
                #expect(database.range(of: Data(secret.utf8)) == nil, "the database holds \(secret)")
                #expect(wal.range(of: Data(secret.utf8)) == nil, "the WAL holds \(secret)")
            }
            #expect(log.contains("effect answered"), "debug logging was on")
        } catch {
            await world.stop()
            throw error
        }
        await world.stop()
    }

    /// The recorded transcript replays offline, identically; a changed prompt shows as a request diff.
    @Test func theRecordingReplaysOfflineAndAChangedPromptIsCaught() async throws {
        let world = try await Self.world(model: Self.toolThenText)
        let export: String
        do {
            #expect(try await HTTP.post(world.url, HTTP.message(session: "r1", text: "Where is AB123456?")).status == 202)
            #expect(try await HTTP.post(world.url, HTTP.message(session: "r1", text: "and the other one?")).status == 202)
            #expect(await world.receiver.waitUntil { $0.count == 2 })
            let admin = ["Authorization": "Bearer \(TestDeployment.adminToken)"]
            export = try await HTTP.send(.get, "\(world.server.base)/api/v1/sessions/helper/u1/r1/transcript", headers: admin).body
        } catch {
            await world.stop()
            throw error
        }
        await world.stop()

        // Both stand-ins are gone: the recording answers every call.
        let transcript = try Transcript(jsonLines: export)
        #expect(transcript.turns.map(\.effects.count) == [3, 1])
        let flows = try #require(FlowLoader().load(sources: [("helper.yaml", Self.flow)]).flowSet)
        let engine = Engine(flows: flows, configuration: EngineConfiguration(connections: transcript.connectionProfiles))
        #expect(try await Replay(engine: engine).run(transcript) == .identical(turns: 2))

        let changed = try #require(
            FlowLoader().load(sources: [
                ("helper.yaml", Self.flow.replacingOccurrences(of: "You help with orders.", with: "You help with orders, briefly."))
            ]).flowSet
        )
        let result = try await Replay(engine: Engine(flows: changed, configuration: EngineConfiguration(connections: transcript.connectionProfiles)))
            .run(transcript)
        guard case .diverged(let divergence) = result else {
            Issue.record("a changed prompt replayed identically")
            return
        }
        #expect(divergence.turn == 1)
        #expect(divergence.aspect == "effect 1 request")
        let lines = result.report.split(separator: "\n").map(String.init)
        #expect(lines.first == #"turn 1 (user "Where is AB123456?"): effect 1 request differs"#)
        #expect(lines.contains { $0.hasPrefix("- ") && $0.hasSuffix(#""content": "You help with orders.","#) })
        #expect(lines.contains { $0.hasPrefix("+ ") && $0.hasSuffix(#""content": "You help with orders, briefly.","#) })
        #expect(lines.contains("  …"), "unchanged lines far from the change are folded")
    }

    /// Forty sessions whose model calls each take a second wait side by side, not one after another: the model
    /// server sees them in flight together (measured as concurrency, not as a time limit).
    @Test func sessionsWaitingOnTheModelDoNotWaitForEachOther() async throws {
        let world = try await Self.world { _, _ in ModelReply.content("done", delayMs: 1000) }
        do {
            let started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<40 {
                    group.addTask { try await HTTP.post(world.url, HTTP.message(session: "c\(index)", text: "hi")).status }
                }
                for try await status in group { #expect(status == 202) }
            }
            #expect(await world.receiver.waitUntil { $0.count == 40 })
            let concurrent = await world.model.maxConcurrent
            #expect(concurrent >= 20, "only \(concurrent) model calls were in flight at once")
            print("40 one-second model calls: \(ContinuousClock.now - started), at most \(concurrent) in flight")
        } catch {
            await world.stop()
            throw error
        }
        await world.stop()
    }
}
