import Foundation
import ParleyFlows
import ParleyTestSupport
import Synchronization
import Testing

/// Issue 25: no security headers were sent, the page could be framed by anyone and posted its actions to `"*"`.
@Suite(.serialized) struct SecurityHeadersTests {
    @Test func everyAnswerCarriesItsSecurityHeaders() async throws {
        try await TestDeployment.with { deployment, _ in
            let base = deployment.base
            let query = "userId=u1&sessionId=h1&URLToken=\(TestDeployment.webhookToken)"
            let page = try await HTTP.send(.get, "\(base)/copilot/?\(query)", headers: TestDeployment.agent)
            #expect(page.status == 200)
            let policy = try #require(page.headers["content-security-policy"])
            #expect(policy.contains("frame-ancestors 'self'"))
            #expect(policy.contains("connect-src 'self'"))
            #expect(policy.contains("object-src 'none'"))
            #expect(page.headers["x-content-type-options"] == "nosniff")
            #expect(page.headers["cache-control"] == "no-store")
            #expect(page.body.contains(#"<meta name="parley-frame-ancestors" content="">"#))

            let admin = ["Authorization": "Bearer \(TestDeployment.adminToken)", "Content-Type": "application/json"]
            for (method, url, body) in [
                (HTTPMethodName.get, "\(base)/copilot/state?\(query)", nil as String?),
                (.post, "\(base)/api/v1/endpoints/web/keys", #"{"name":"headers"}"#),
                (.get, "\(base)/api/v1/sessions", nil),
                (.get, "\(base)/copilot/state?\(query)&access=forged", nil),
                (.post, "\(base)/\(TestDeployment.webhookToken)", "not json"),
            ] {
                let answer = try await HTTP.send(method, url, body: body, headers: url.contains("forged") ? [:] : admin)
                #expect(answer.headers["x-content-type-options"] == "nosniff", "\(url)")
                #expect(answer.headers["cache-control"] == "no-store", "\(url): \(answer.status)")
                #expect(answer.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'", "\(url)")
            }
            // The page's assets may be cached; they hold nothing of a session.
            let script = try await HTTP.send(.get, "\(base)/copilot/app.js")
            #expect(script.headers["cache-control"] != "no-store")
            #expect(script.headers["x-content-type-options"] == "nosniff")
            #expect(script.body.contains("embedderOrigin"))
            #expect(!script.body.contains(#"postMessage(detail, "*")"#))
        }
    }

    @Test func configuredAgentDesktopsMayFrameThePageAndReceiveItsActions() async throws {
        let receiver = try await WebhookReceiver.start()
        let folder = try TestDeployment.prepare(receiverPort: receiver.port)
        defer { try? FileManager.default.removeItem(at: folder) }
        let token = String(repeating: "d9", count: 32)
        try """
        server: { host: 127.0.0.1, port: 0, frameAncestors: ["https://desk.example.com", "http://127.0.0.1:9443"] }
        store: "sqlite:parley.sqlite"
        flows: flows
        endpoints:
          - { name: framed, type: rest, urlToken: \(token), flow: echo, agentAuth: none }
        """.write(to: folder.appendingPathComponent("parley.yaml"), atomically: true, encoding: .utf8)
        let server = try await ServeProcessTests.Server.start(folder: folder)
        let page = try await HTTP.send(.get, "\(server.base)/copilot/?userId=u1&sessionId=f1&URLToken=\(token)")
        #expect(page.status == 200)
        #expect(page.headers["content-security-policy"]?.contains("frame-ancestors 'self' https://desk.example.com http://127.0.0.1:9443") == true)
        #expect(page.body.contains(#"<meta name="parley-frame-ancestors" content="https://desk.example.com http://127.0.0.1:9443">"#))
        #expect(server.terminate() == 0)
        await receiver.stop()
    }
}
