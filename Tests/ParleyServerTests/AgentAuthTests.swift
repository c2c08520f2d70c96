import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ParleyFlows
import ParleySQLite
import ParleyStore
import Synchronization
import ParleyTestSupport
import Testing

/// DESIGN §5.4.1 (issue 25): the routes that act for the agent never trust the endpoint URL alone. Before, a customer
/// with only the URL approved their own refund through `/copilot/action`, sent `source: "agent"` messages and read
/// any session's workspace.
@Suite(.serialized) struct AgentAuthTests {
    static let admin = ["Authorization": "Bearer \(TestDeployment.adminToken)"]

    /// The agent-side routes of the `web` endpoint (`auth: none`), each with a valid body.
    static func agentRoutes(_ base: String) -> [(method: HTTPMethodName, url: String, body: String?)] {
        let web = TestDeployment.webhookToken
        let query = "userId=u1&sessionId=a1&URLToken=\(web)"
        return [
            (.post, "\(base)/inject/\(web)", HTTP.message(session: "a1", text: "from the CRM")),
            (.post, "\(base)/notify/\(web)", HTTP.message(session: "a1", text: "your parcel left")),
            (.post, "\(base)/handover/\(web)/message", HTTP.message(session: "a1", text: "I am the agent")),
            (.post, "\(base)/handover/\(web)/end", #"{"userId":"u1","sessionId":"a1","status":"completed"}"#),
            (.get, "\(base)/copilot/state?\(query)", nil),
            (.get, "\(base)/copilot/?\(query)", nil),
            (.post, "\(base)/copilot/action?\(query)", #"{"tile":"refund","data":{"approved":true}}"#),
        ]
    }

    @Test func theEndpointURLAloneNeverActsForTheAgent() async throws {
        try await TestDeployment.with { deployment, receiver in
            for route in Self.agentRoutes(deployment.base) {
                let bare = try await HTTP.send(route.method, route.url, body: route.body)
                #expect(bare.status == 401, "\(route.url)")
                #expect(bare.errorCode == "missing_access", "\(route.url): \(bare.body)")
                let wrong = try await HTTP.send(
                    route.method, route.url, body: route.body,
                    headers: ["Content-Type": "application/json", "Authorization": "Bearer \(TestDeployment.adminToken)x"]
                )
                #expect(wrong.errorCode == "invalid_access", "\(route.url)")
                let forged = try await HTTP.send(route.method, route.url + "&access=9999999999.AAAA", body: route.body)
                if route.url.contains("/copilot/") { #expect(forged.errorCode == "invalid_access", "\(route.url)") }
            }
            // Nothing of it ran: no input stored, nothing delivered.
            #expect(try await deployment.store.pendingInbox(limit: 10).isEmpty)
            #expect(await receiver.requests.isEmpty)

            // The admin token acts for the agent on every route.
            for route in Self.agentRoutes(deployment.base) {
                let answer = try await HTTP.send(route.method, route.url, body: route.body, headers: TestDeployment.agent)
                #expect((200..<300).contains(answer.status), "\(route.url): \(answer.status) \(answer.body)")
            }
            // So does an active key of the endpoint, and a revoked one no longer does.
            let made = try await HTTP.post("\(deployment.base)/api/v1/endpoints/web/keys", #"{"name":"crm"}"#, headers: Self.admin)
            let key = try #require(made.json?["key"]?.stringValue)
            let id = try #require(made.json?["id"]?.stringValue)
            let keyed = ["Content-Type": "application/json", "X-Webhook-Key": key]
            let inject = "\(deployment.base)/inject/\(TestDeployment.webhookToken)"
            #expect(try await HTTP.post(inject, HTTP.message(session: "a2", text: "keyed"), headers: keyed).status == 202)
            #expect(try await HTTP.send(.delete, "\(deployment.base)/api/v1/endpoints/web/keys/\(id)", headers: Self.admin).status == 204)
            #expect(try await HTTP.post(inject, HTTP.message(session: "a2", text: "revoked"), headers: keyed).errorCode == "invalid_api_key")
            // The customer's own route is unchanged: the URL alone, as Cognigy's Endpoint URL.
            #expect(try await HTTP.post("\(deployment.base)/\(TestDeployment.webhookToken)", HTTP.message(session: "a3", text: "hi")).status == 202)
        }
    }

    @Test func aRevokedKeyEndsItsOpenEventStream() async throws {
        try await TestDeployment.with { deployment, _ in
            let made = try await HTTP.post("\(deployment.base)/api/v1/endpoints/helpdesk/keys", #"{"name":"desk"}"#, headers: Self.admin)
            let key = try #require(made.json?["key"]?.stringValue)
            let id = try #require(made.json?["id"]?.stringValue)
            var request = HTTPClientRequest(
                url: "\(deployment.base)/copilot/events?userId=u1&sessionId=e1&URLToken=\(TestDeployment.helpdeskToken)"
            )
            request.headers.add(name: "X-Webhook-Key", value: key)
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
            #expect(response.status.code == 200)
            var body = response.body.makeAsyncIterator()
            let first = try await body.next().map { String(buffer: $0) } ?? ""
            #expect(first.hasPrefix("event: state"))
            #expect(try await HTTP.send(.delete, "\(deployment.base)/api/v1/endpoints/helpdesk/keys/\(id)", headers: Self.admin).status == 204)
            // The stream ends at the next keep-alive (every 200 ms in the test deployment) instead of going on.
            var ended = false
            while let chunk = try await body.next() {
                #expect(!String(buffer: chunk).contains("event: state"), "a revoked key still received a turn")
            }
            ended = true
            #expect(ended)
        }
    }

    @Test func agentAuthNoneAcceptsTheURLAloneAndWarnsAtStart() async throws {
        let receiver = try await WebhookReceiver.start()
        let folder = try TestDeployment.prepare(receiverPort: receiver.port)
        defer { try? FileManager.default.removeItem(at: folder) }
        let token = String(repeating: "d8", count: 32)
        try """
        server: { host: 127.0.0.1, port: 0 }
        store: "sqlite:parley.sqlite"
        flows: flows
        endpoints:
          - { name: trusted, type: webhook, urlToken: \(token), flow: echo, agentAuth: none,
              webhook: { url: "http://127.0.0.1:\(receiver.port)/trusted" } }
        """.write(to: folder.appendingPathComponent("parley.yaml"), atomically: true, encoding: .utf8)
        let server = try await ServeProcessTests.Server.start(folder: folder)
        #expect(await waitUntil { server.errors.text.withLock { $0 }.contains("warning: endpoint trusted has agentAuth: none") })
        #expect(try await HTTP.post("\(server.base)/inject/\(token)", HTTP.message(session: "t1", text: "trusted")).status == 202)
        #expect(try await HTTP.send(.get, "\(server.base)/copilot/state?userId=u1&sessionId=t1&URLToken=\(token)").status == 200)
        #expect(await receiver.waitUntil { $0.contains { $0.text == "echo: trusted" } })
        #expect(server.terminate() == 0)
        await receiver.stop()
    }
}
