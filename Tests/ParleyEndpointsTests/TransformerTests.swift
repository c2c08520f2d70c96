import Foundation
import ParleyEndpoints
import ParleyEngine
import ParleyFlows
import ParleyRuntime
import ParleyScript
import ParleyStore
import Synchronization
import Testing

/// Transformer hooks in the sandbox (DESIGN §5.7), with an in-memory storage.
@Suite struct TransformerTests {
    final class Storages: Sendable {
        let values = Mutex<[SessionKey: JSONValue]>([:])
        let loads = Mutex<Int>(0)

        var storage: EndpointTransformer.Storage {
            EndpointTransformer.Storage(
                load: { key in
                    self.loads.withLock { $0 += 1 }
                    return self.values.withLock { $0[key] }
                },
                save: { key, value in self.values.withLock { $0[key] = value } }
            )
        }
    }

    static func transformer(_ source: String, kind: Endpoint.Kind = .webhook) -> EndpointTransformer {
        EndpointTransformer(
            endpoint: Endpoint(name: "e", kind: kind, urlToken: String(repeating: "a", count: 64), flow: "f"),
            source: source,
            limits: ScriptLimits(timeLimit: .milliseconds(300))
        )
    }

    static let slack = """
        createWebhookTransformer({
          handleInput: async ({ endpoint, request }) => {
            if (request.body.type === "url_verification") return null;
            const event = request.body.event;
            const storage = await getSessionStorage(event.user, event.channel);
            storage.seen = (storage.seen || 0) + 1;
            return { userId: event.user, sessionId: event.channel, text: event.text, data: { seen: storage.seen, endpoint: endpoint.name, random: Math.random() } };
          },
          handleOutput: async ({ output, processedOutput, userId, sessionId }) => {
            const storage = await getSessionStorage(userId, sessionId);
            storage.sent = (storage.sent || 0) + 1;
            return output.text ? { channel: sessionId, text: output.text, sent: storage.sent, trace: processedOutput.AIOutput.traceId } : null;
          },
        });
        """

    static let slackEvent: JSONValue = ["type": "event_callback", "event": ["type": "message", "user": "U1", "channel": "C1", "text": "hi"]]

    @Test func anInputHookMapsTheBodyAndKeepsItsSessionStorage() async throws {
        let storages = Storages()
        let transformer = Self.transformer(Self.slack)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let first = try await transformer.input(.handleInput, body: Self.slackEvent, headers: [:], query: [:], now: now, storage: storages.storage)
        guard case .body(let mapped, let changed) = first else {
            Issue.record("expected a body, got \(first)")
            return
        }
        // Nothing is saved until the caller has stored the input.
        #expect(storages.values.withLock { $0.isEmpty })
        try await EndpointTransformer.save(changed, to: storages.storage)
        #expect(mapped.object["userId"] == "U1")
        #expect(mapped.object["sessionId"] == "C1")
        #expect(mapped.object["text"] == "hi")
        #expect(mapped.object["data"]?["seen"] == 1)
        #expect(mapped.object["data"]?["endpoint"] == "e")
        let key = SessionKey(endpoint: "e", userId: "U1", sessionId: "C1")
        #expect(storages.values.withLock { $0[key] } == ["seen": 1])
        // The same request gives the same seeded randomness.
        let again = try await transformer.input(.handleInput, body: Self.slackEvent, headers: [:], query: [:], now: now, storage: Storages().storage)
        guard case .body(let repeated, _) = again else { return }
        #expect(repeated.object["data"]?["random"] == mapped.object["data"]?["random"])
        // The stored value is read on the next call.
        let second = try await transformer.input(.handleInput, body: Self.slackEvent, headers: [:], query: [:], now: now, storage: storages.storage)
        if case .body(let body, let changed) = second {
            #expect(body.object["data"]?["seen"] == 2)
            try await EndpointTransformer.save(changed, to: storages.storage)
        }
        #expect(storages.values.withLock { $0[key] } == ["seen": 2])
    }

    @Test func falsyResultsMissingHooksAndFailures() async throws {
        let storage = Storages().storage
        let verification: JSONValue = ["type": "url_verification", "challenge": "x"]
        #expect(
            try await Self.transformer(Self.slack).input(.handleInput, body: verification, headers: [:], query: [:], now: Date(), storage: storage)
                == .ignored(changed: [:])
        )
        #expect(
            try await Self.transformer(Self.slack).input(.handleInject, body: verification, headers: [:], query: [:], now: Date(), storage: storage)
                == .untransformed
        )
        let failing = Self.transformer("createWebhookTransformer({ handleInput: async () => { throw new Error('no way'); } });")
        await #expect(throws: APIError.self) {
            try await failing.input(.handleInput, body: .emptyObject, headers: [:], query: [:], now: Date(), storage: storage)
        }
        do {
            _ = try await failing.input(.handleInput, body: .emptyObject, headers: [:], query: [:], now: Date(), storage: storage)
        } catch let error as APIError {
            #expect(error.code == "transformer_failed")
            #expect(error.statusCode == 500)
            #expect(error.message.contains("no way"))
        }
        let endless = Self.transformer("createWebhookTransformer({ handleInput: () => { for (;;) {} } });")
        await #expect(throws: APIError.self) {
            try await endless.input(.handleInput, body: .emptyObject, headers: [:], query: [:], now: Date(), storage: storage)
        }
        let pending = Self.transformer("createWebhookTransformer({ handleInput: () => new Promise(() => {}) });")
        await #expect(throws: APIError.self) {
            try await pending.input(.handleInput, body: .emptyObject, headers: [:], query: [:], now: Date(), storage: storage)
        }
        let notAnObject = Self.transformer("createWebhookTransformer({ handleInput: () => [1, 2] });")
        do {
            _ = try await notAnObject.input(.handleInput, body: .emptyObject, headers: [:], query: [:], now: Date(), storage: storage)
            Issue.record("an array result was accepted")
        } catch let error as APIError {
            #expect(error.code == "invalid_transformer_result")
        }
    }

    @Test func anOutputHookMapsEachBodyDeterministically() {
        let transformer = Self.transformer(Self.slack)
        let outcome = ChannelMappingTests.outcome(ChannelMappingTests.endpoint(.webhook))
        let body = AIOutputs.message(text: "hello", data: nil, input: outcome.input, endpoint: outcome.endpoint, source: "bot")
        var storage: JSONValue? = ["seen": 1]
        #expect(
            transformer.output(body, index: 0, outcome: outcome, storage: &storage)
                == .body(["channel": "s", "text": "hello", "sent": 1, "trace": "t-1"])
        )
        #expect(storage == ["seen": 1, "sent": 1])
        let dataOnly = AIOutputs.message(text: nil, data: ["x": 1], input: outcome.input, endpoint: outcome.endpoint, source: "bot")
        #expect(transformer.output(dataOnly, index: 1, outcome: outcome, storage: &storage) == .dropped)
        let failing = Self.transformer("createWebhookTransformer({ handleOutput: () => { throw new TypeError('bad'); } });")
        guard case .failed(let reason) = failing.output(body, index: 0, outcome: outcome, storage: &storage) else {
            Issue.record("a throwing handleOutput did not fail")
            return
        }
        #expect(reason.hasPrefix("transformer_failed: handleOutput: TypeError: bad"))
        #expect(Self.transformer("createWebhookTransformer({});").output(body, index: 0, outcome: outcome, storage: &storage) == .untransformed)
    }

    @Test func theRouterDeadLettersAFailedOutputAndCommitsTheStorage() {
        var endpoint = ChannelMappingTests.endpoint(.webhook)
        endpoint.transformer = Endpoint.Transformer(
            path: "t.js",
            location: SourceLocation(file: "parley.yaml", line: 1, column: 1),
            file: "t.js",
            source: """
                createWebhookTransformer({ handleOutput: async ({ output, userId, sessionId }) => {
                  const storage = await getSessionStorage(userId, sessionId);
                  storage.n = (storage.n || 0) + 1;
                  if (output.text === "boom") throw new Error("boom");
                  return { n: storage.n, text: output.text };
                } });
                """
        )
        let router = ChannelRouter(directory: ChannelDirectory(endpoints: [endpoint]))
        #expect(router.needsSessionStorage(endpoint))
        var outcome = ChannelMappingTests.outcome(endpoint, outputs: [Output(text: "a"), Output(text: "boom"), Output(text: "c")])
        outcome.sessionStorage = ["n": 10]
        let routed = router.route(outcome)
        #expect(routed.deliveries.map(\.body) == [["n": 11, "text": "a"], routed.deliveries[1].body, ["n": 12, "text": "c"]])
        #expect(routed.deliveries[1].failure?.hasPrefix("transformer_failed: handleOutput: Error: boom") == true)
        #expect(routed.deliveries[1].body["AIOutput"]?["text"] == "boom")
        #expect(routed.sessionStorage == ["n": 12])
    }
}
