import Foundation
import ParleyFlows
import ParleyRuntime
import ParleyTestSupport
import Synchronization
import Testing

/// Signed deliveries, expiry and pausing, against a real `parley serve` process and a loopback receiver (DESIGN §5.1,
/// §6 *Stale replies* and *Isolation*).
@Suite(.serialized) struct DeliveryProcessTests {
    typealias Server = ServeProcessTests.Server

    static let signedToken = String(repeating: "9", count: 64)
    static let goneToken = String(repeating: "a", count: 64)
    static let admin = ["Authorization": "Bearer \(TestDeployment.adminToken)", "Content-Type": "application/json"]

    /// The test deployment plus an endpoint signed with two secrets and expiring after 2 s, and one whose receiver
    /// may be gone.
    private static func prepare(receiverPort: Int) throws -> URL {
        let folder = try TestDeployment.prepare(receiverPort: receiverPort)
        let config = folder.appendingPathComponent("parley.yaml")
        let extra = """

              - { name: signed, type: webhook, urlToken: \(signedToken), flow: echo,
                  webhook: { url: "http://127.0.0.1:\(receiverPort)/signed", signingSecret: ["${NEW_SECRET}", "${OLD_SECRET}"],
                             expireSeconds: 2 } }
              - { name: gone, type: webhook, urlToken: \(goneToken), flow: echo, webhook: { url: "http://127.0.0.1:\(receiverPort)/gone" } }
            """
        let text = try String(contentsOf: config, encoding: .utf8) + extra + "\n"
        try text.write(to: config, atomically: true, encoding: .utf8)
        return folder
    }

    /// Runs `parley` with the configuration's secrets unset (empty: no signing).
    private func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try ServeProcessTests.parley(arguments, environment: ["NEW_SECRET": "", "OLD_SECRET": ""])
    }

    @Test func signedDeliveriesVerifyWithAnIndependentImplementationAndStaleRepliesExpire() async throws {
        let receiver = try await WebhookReceiver.start(script: { $0.text == "echo: stale" ? .init(status: 503) : .ok })
        let folder = try Self.prepare(receiverPort: receiver.port)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("parley.yaml").path
        // Secrets made by the command a user runs.
        let made = try run(["keys", "signing-secret", "--endpoint", "signed", "--config", config])
        #expect(made.status == 0)
        let newSecret = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(newSecret.hasPrefix("whsec_") && newSecret.count == 50)
        let oldSecret = try run(["keys", "signing-secret", "--endpoint", "signed", "--config", config]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(oldSecret != newSecret)
        #expect(try run(["keys", "signing-secret", "--endpoint", "nope", "--config", config]).status == 2)

        let server = try await Server.start(folder: folder, logLevel: "debug", environment: ["NEW_SECRET": newSecret, "OLD_SECRET": oldSecret])
        let url = "\(server.base)/\(Self.signedToken)"
        #expect(try await HTTP.post(url, HTTP.message(session: "s1", text: "hello")).status == 202)
        #expect(await receiver.waitUntil { $0.contains { $0.text == "echo: hello" } })
        let signed = try #require(await receiver.requests.first { $0.text == "echo: hello" })
        #expect(try StandardWebhooks.verifiedSecrets(signed, secrets: [newSecret, oldSecret, SigningSecret.generate().text]) == [0, 1])
        #expect(signed.headers["webhook-id"] == signed.headers["idempotency-key"])
        let sent = try #require(Double(signed.headers["webhook-timestamp"] ?? ""))
        #expect(abs(sent - Date().timeIntervalSince1970) < 60)

        // A reply the receiver keeps refusing is dead after expireSeconds (2 s), with reason expired; the session's
        // next message still goes. (A message waiting behind it counts its waiting time too, so it is sent after.)
        #expect(try await HTTP.post(url, HTTP.message(session: "s2", text: "stale")).status == 202)
        let deadList = "\(server.base)/api/v1/outbox?status=dead"
        #expect(await waitUntil { (try? await HTTP.send(.get, deadList, headers: Self.admin).json?["messages"]?.arrayValue?.count) == 1 })
        let dead = try await HTTP.send(.get, deadList, headers: Self.admin)
        let letter = try #require(dead.json?["messages"]?.arrayValue?.first)
        #expect(letter["lastError"]?.stringValue?.hasPrefix("expired: ") == true)
        #expect(try await HTTP.post(url, HTTP.message(session: "s2", text: "after")).status == 202)
        #expect(await receiver.waitUntil { $0.contains { $0.text == "echo: after" && $0.status == 200 } })
        #expect(await receiver.requests.filter { $0.session == "s2" }.last?.text == "echo: after")

        #expect(server.terminate() == 0)
        let log = server.errors.text.withLock { $0 }
        #expect(log.contains("delivered"), "the log was captured at debug level")
        for secret in [newSecret, oldSecret] {
            #expect(!log.contains(secret) && !log.contains(String(secret.dropFirst(6))), "no signing secret in the log")
        }
        await receiver.stop()
    }

    @Test func aSlowReceiverHoldsOnlyItsEndpointsShareAndTheOtherEndpointKeepsDelivering() async throws {
        // The `gone` endpoint's receiver holds every request (until released, or the 2 s delivery timeout).
        let receiver = try await WebhookReceiver.start(script: { $0.path == "/gone" ? .init(hold: true) : .ok })
        let folder = try Self.prepare(receiverPort: receiver.port)
        defer { try? FileManager.default.removeItem(at: folder) }
        // A delivery timeout longer than the test: held requests stay in flight (no timeouts, no probing), however
        // slowly a loaded machine commits the turns.
        let config = folder.appendingPathComponent("parley.yaml")
        try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "timeoutMs: 2000", with: "timeoutMs: 120000")
            .write(to: config, atomically: true, encoding: .utf8)
        let server = try await Server.start(folder: folder, environment: ["NEW_SECRET": "", "OLD_SECRET": ""])
        let slow = "\(server.base)/\(Self.goneToken)"
        let fast = "\(server.base)/\(TestDeployment.webhookToken)"
        // Forty sessions of the slow endpoint first: enough to fill all 32 delivery slots if nothing kept them apart.
        for index in 0..<40 { #expect(try await HTTP.post(slow, HTTP.message(session: "slow\(index)", text: "s")).status == 202) }
        #expect(await receiver.waitUntil(seconds: 60) { $0.filter { $0.path == "/gone" }.count >= 16 })
        for index in 0..<10 { #expect(try await HTTP.post(fast, HTTP.message(session: "fast\(index)", text: "f")).status == 202) }
        #expect(await receiver.waitUntil(seconds: 60) { $0.filter { $0.path == "/hook" && $0.status == 200 }.count == 10 })
        // While the other endpoint's ten went through, the slow one held exactly its 16 slots, not 32.
        let slowSoFar = await receiver.requests.filter { $0.path == "/gone" }.count
        #expect(slowSoFar == 16, "\(slowSoFar) slow requests")
        await receiver.releaseHeld()
        await receiver.answer { _ in .ok }
        #expect(await receiver.waitUntil(seconds: 60) { Set($0.filter { $0.path == "/gone" && $0.status == 200 }.compactMap(\.session)).count == 40 })
        #expect(server.terminate() == 0)
        await receiver.stop()
    }

    @Test func aGoneReceiverPausesItsEndpointUntilResumedAndNothingIsLost() async throws {
        let receiver = try await WebhookReceiver.start(script: { $0.path == "/gone" ? .init(status: 410) : .ok })
        let folder = try Self.prepare(receiverPort: receiver.port)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("parley.yaml").path
        let environment = ["NEW_SECRET": "", "OLD_SECRET": ""]
        let server = try await Server.start(folder: folder, logLevel: "info", environment: environment)
        let gone = "\(server.base)/\(Self.goneToken)"
        #expect(try await HTTP.post(gone, HTTP.message(session: "g", text: "one")).status == 202)
        #expect(await receiver.waitUntil { $0.contains { $0.path == "/gone" && $0.status == 410 } })

        // Paused: reported by /ready (still 200), the endpoints list, the metrics and the log.
        #expect(
            await waitUntil {
                (try? await HTTP.send(.get, "\(server.base)/ready").json?["pausedEndpoints"]) == ["gone"]
            }
        )
        #expect(try await HTTP.send(.get, "\(server.base)/ready").status == 200)
        let endpoints = try await HTTP.send(.get, "\(server.base)/api/v1/endpoints", headers: Self.admin)
        let listed = try #require(endpoints.json?["endpoints"]?.arrayValue?.first { $0["name"] == "gone" })
        #expect(listed["paused"] == true)
        #expect(listed["url"]?.stringValue?.hasSuffix("/\(Self.goneToken)") == true)
        #expect(listed["pause"]?["reason"] == "gone: the webhook receiver answered 410 Gone")
        #expect(endpoints.json?["endpoints"]?.arrayValue?.first { $0["name"] == "web" }?["paused"] == false)
        let metrics = try await HTTP.send(.get, "\(server.base)/metrics").body
        #expect(metrics.contains(#"parley_endpoint_paused{endpoint="gone"} 1"#))
        #expect(metrics.contains(#"parley_endpoint_paused{endpoint="web"} 0"#))
        #expect(server.errors.text.withLock { $0.contains("endpoint paused") })

        // Messages accepted while paused are kept, not attempted; other endpoints deliver as usual.
        for text in ["two", "three"] { #expect(try await HTTP.post(gone, HTTP.message(session: "g", text: text)).status == 202) }
        #expect(try await HTTP.post("\(server.base)/\(TestDeployment.webhookToken)", HTTP.message(session: "w", text: "web")).status == 202)
        #expect(await receiver.waitUntil { $0.contains { $0.text == "echo: web" } })
        #expect(await receiver.requests.filter { $0.path == "/gone" }.count == 1)

        // The receiver is back; the command line resumes, and the running server delivers everything kept, in order.
        await receiver.answer { _ in .ok }
        let resumed = try run(["outbox", "resume", "--endpoint", "gone", "--config", config])
        #expect(resumed.status == 0)
        #expect(resumed.stdout == "endpoint 'gone' resumed: its kept messages are delivered in order\n")
        #expect(try run(["outbox", "resume", "--endpoint", "gone", "--config", config]).stdout == "endpoint 'gone' was not paused\n")
        #expect(await receiver.waitUntil(seconds: 20) { $0.filter { $0.path == "/gone" && $0.status == 200 }.count == 3 })
        #expect(await receiver.accepted.filter { $0.path == "/gone" }.map(\.text) == ["echo: one", "echo: two", "echo: three"])

        // The admin API pauses and resumes too; a resume through it delivers at once.
        let paused = try await HTTP.post("\(server.base)/api/v1/endpoints/gone/pause", "{}", headers: Self.admin)
        #expect(paused.json == ["endpoint": "gone", "paused": true, "changed": true])
        #expect(try await HTTP.post(gone, HTTP.message(session: "g", text: "four")).status == 202)
        try await Task.sleep(for: .milliseconds(800))
        #expect(await receiver.requests.filter { $0.path == "/gone" }.count == 4, "nothing goes while paused")
        let again = try await HTTP.post("\(server.base)/api/v1/endpoints/gone/resume", "{}", headers: Self.admin)
        #expect(again.json == ["endpoint": "gone", "paused": false, "changed": true])
        #expect(await receiver.waitUntil { $0.contains { $0.text == "echo: four" } })
        #expect(try await HTTP.post("\(server.base)/api/v1/endpoints/nope/pause", "{}", headers: Self.admin).status == 404)
        #expect(try await HTTP.post("\(server.base)/api/v1/endpoints/gone/pause", "{}").status == 401)
        #expect(server.terminate() == 0)
        await receiver.stop()
    }
}
