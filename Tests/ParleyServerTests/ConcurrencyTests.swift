import Foundation
import ParleyFlows
import ParleyTestSupport
import Synchronization
import Testing

/// Many senders at once against `parley serve` as a process (issue 25): the server must keep answering while turns
/// that update copilot tiles run from every side, and every accepted input must reach its receiver.
///
/// Before the fix, four to eight concurrent senders deadlocked the server on a two-core machine: both cooperative
/// threads waited for a SQLite reader that only an asynchronous read, waiting for one of those threads, could give
/// back. `/health` then stopped answering and SIGTERM did nothing.
@Suite(.serialized) struct ConcurrencyTests {
    static let token = String(repeating: "d7", count: 32)

    @Test func concurrentSendersWithCopilotTilesNeverStallTheServer() async throws {
        let receiver = try await WebhookReceiver.start()
        let folder = try TestDeployment.prepare(receiverPort: receiver.port)
        defer { try? FileManager.default.removeItem(at: folder) }
        try """
        server: { host: 127.0.0.1, port: 0, adminToken: \(TestDeployment.adminToken) }
        store: "sqlite:parley.sqlite"
        flows: flows
        delivery: { timeoutMs: 5000, retryWindowSeconds: 3600 }
        endpoints:
          - { name: tiles, type: webhook, urlToken: \(Self.token), flow: helpdesk,
              webhook: { url: "http://127.0.0.1:\(receiver.port)/tiles" } }
        """.write(to: folder.appendingPathComponent("parley.yaml"), atomically: true, encoding: .utf8)
        let server = try await ServeProcessTests.Server.start(folder: folder)
        let url = "\(server.base)/\(Self.token)"
        let senders = 16
        let messages = 20
        let accepted = ServeProcessTests.TraceIds()
        let watch = Watch()

        // /health is polled throughout; a deadlocked server leaves it unanswered. The timeout is generous so that a
        // loaded machine is not mistaken for a dead server.
        let watcher = Task {
            while !watch.done.withLock({ $0 }) {
                do {
                    let answer = try await HTTP.send(.get, "\(server.base)/health", timeout: .seconds(10))
                    if answer.status != 200 { watch.stalls.withLock { $0.append("health answered \(answer.status)") } }
                } catch {
                    watch.stalls.withLock { $0.append("health did not answer: \(error)") }
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for sender in 0..<senders {
                group.addTask {
                    for index in 0..<messages {
                        do {
                            let answer = try await HTTP.post(url, HTTP.message(user: "u\(sender)", session: "s\(sender)-\(index % 3)", text: "m\(index)"))
                            if answer.status == 202, let traceId = answer.json?["traceId"]?.stringValue {
                                accepted.ids.withLock { $0.append(traceId) }
                            } else {
                                watch.stalls.withLock { $0.append("a message was answered \(answer.status)") }
                            }
                        } catch {
                            watch.stalls.withLock { $0.append("a message was not answered: \(error)") }
                            return
                        }
                    }
                }
            }
        }
        // Every accepted input's greeting (its first output, key TRACEID-1) reaches the receiver.
        let acknowledged = accepted.ids.withLock { $0 }
        // (A server that already stalled is not waited for.)
        let stalled = !watch.stalls.withLock { $0 }.isEmpty
        let delivered = await receiver.waitUntil(seconds: stalled ? 1 : 60) { requests in
            let keys = Set(requests.filter { $0.status == 200 }.compactMap { $0.headers["idempotency-key"] })
            return acknowledged.allSatisfy { keys.contains("\($0)-1") }
        }
        watch.done.withLock { $0 = true }
        await watcher.value
        let health = try? await HTTP.send(.get, "\(server.base)/health", timeout: .seconds(10))
        #expect(watch.stalls.withLock { $0 }.isEmpty, "\(watch.stalls.withLock { $0.prefix(5) })")
        #expect(acknowledged.count == senders * messages)
        #expect(delivered, "not every accepted input was delivered")
        #expect(health?.status == 200)
        if health?.status == 200 {
            #expect(server.terminate() == 0)
        } else {
            server.kill9()
        }
        await receiver.stop()
    }

    /// Scripts run off the cooperative threads (ScriptWork): while four code nodes spin to their limit, more than
    /// the machine's cores, another endpoint's plain turn runs and is delivered at once. Before, the two cooperative
    /// threads of a two-core machine sat in JavaScript and every other turn waited for a script to end.
    @Test func spinningScriptsDoNotHoldOtherTurnsBack() async throws {
        let receiver = try await WebhookReceiver.start()
        let folder = try TestDeployment.prepare(receiverPort: receiver.port)
        defer { try? FileManager.default.removeItem(at: folder) }
        try """
        flow: spin
        nodes:
          spin: { code: "while (true) {}", next: after }
          after: { say: "after: {{input.codeNodeError.type}}" }
        """.write(to: folder.appendingPathComponent("flows/spin.yaml"), atomically: true, encoding: .utf8)
        let echo = String(repeating: "d6", count: 32)
        try """
        server: { host: 127.0.0.1, port: 0 }
        store: "sqlite:parley.sqlite"
        flows: flows
        engine: { codeTimeoutMs: 5000 }
        endpoints:
          - { name: spin, type: webhook, urlToken: \(Self.token), flow: spin,
              webhook: { url: "http://127.0.0.1:\(receiver.port)/spin" } }
          - { name: echo, type: webhook, urlToken: \(echo), flow: echo,
              webhook: { url: "http://127.0.0.1:\(receiver.port)/echo" } }
        """.write(to: folder.appendingPathComponent("parley.yaml"), atomically: true, encoding: .utf8)
        let server = try await ServeProcessTests.Server.start(folder: folder)
        for index in 0..<4 {
            #expect(try await HTTP.post("\(server.base)/\(Self.token)", HTTP.message(session: "spin\(index)", text: "go")).status == 202)
        }
        // Let the turns start spinning (a slow machine that has not started them yet only makes this easier).
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await HTTP.post("\(server.base)/\(echo)", HTTP.message(session: "plain", text: "hi")).status == 202)
        #expect(await receiver.waitUntil(seconds: 60) { $0.contains { $0.text == "echo: hi" } })
        let spun = await receiver.requests.filter { $0.path == "/spin" }.count
        #expect(spun == 0, "the plain turn was delivered only after \(spun) spinning turns had ended")
        #expect(await receiver.waitUntil(seconds: 60) { $0.filter { $0.text == "after: timeout" }.count == 4 })
        #expect(server.terminate() == 0)
        await receiver.stop()
    }

    /// What the senders and the `/health` watcher saw.
    final class Watch: Sendable {
        let stalls = Mutex<[String]>([])
        let done = Mutex(false)
    }
}

/// Issue 26: after `POST /handover/<token>/end` on a REST endpoint, the resumed turn's answer was recorded and
/// delivered nowhere, and so was any output of a REST turn no request waited for (an inject). With a `webhook`, the
/// REST endpoint delivers those outputs there; the answers requests wait for stay in their responses.
@Suite(.serialized) struct RESTOutputTests {
    @Test func outputsNoRequestWaitsForGoToTheRESTEndpointsWebhook() async throws {
        let receiver = try await WebhookReceiver.start()
        let folder = try TestDeployment.prepare(receiverPort: receiver.port)
        defer { try? FileManager.default.removeItem(at: folder) }
        let token = String(repeating: "dc", count: 32)
        try """
        server: { host: 127.0.0.1, port: 0, adminToken: \(TestDeployment.adminToken) }
        store: "sqlite:parley.sqlite"
        flows: flows
        endpoints:
          - { name: api, type: rest, urlToken: \(token), flow: agent, webhook: { url: "http://127.0.0.1:\(receiver.port)/api" } }
        """.write(to: folder.appendingPathComponent("parley.yaml"), atomically: true, encoding: .utf8)
        let server = try await ServeProcessTests.Server.start(folder: folder)
        let answer = try await HTTP.post("\(server.base)/\(token)", HTTP.message(session: "r1", text: "Ada"))
        #expect(answer.status == 200)
        #expect(answer.json?["text"] == "Hello Ada Connecting you with a colleague.")
        // The agent ends the handover: the resumed turn's answer reaches the webhook, not nowhere.
        let end = try await HTTP.post(
            "\(server.base)/handover/\(token)/end",
            #"{"userId":"u1","sessionId":"r1","status":"completed"}"#,
            headers: TestDeployment.agent
        )
        #expect(end.status == 202)
        #expect(await receiver.waitUntil { $0.contains { $0.path == "/api" && $0.text == "Back after completed" } })
        // So does an injected turn's, while an answered request's outputs are not delivered twice.
        #expect(try await HTTP.post("\(server.base)/inject/\(token)", HTTP.message(session: "r2", text: "Grace"), headers: TestDeployment.agent).status == 202)
        #expect(await receiver.waitUntil { $0.contains { $0.path == "/api" && $0.text == "Hello Grace" } })
        let delivered = await receiver.requests.compactMap(\.text)
        #expect(!delivered.contains("Hello Ada"), "\(delivered)")
        #expect(server.terminate() == 0)
        await receiver.stop()
    }
}
