import Foundation
import ParleyFlows
import ParleySQLite
import ParleyStore
import ParleyTestSupport
import Synchronization
import Testing

/// End to end: the real server on 127.0.0.1 and a real webhook receiver, exact payloads and headers.
@Suite(.serialized) struct EndpointTests {
    private func withDeployment(
        receiver script: @escaping WebhookReceiver.Script = { _ in .ok },
        _ body: (TestDeployment, WebhookReceiver) async throws -> Void
    ) async throws {
        try await TestDeployment.with(receiver: script, body)
    }

    @Test func aMessageIsAcceptedAndItsOutputDeliveredWithTheCognigyShape() async throws {
        try await withDeployment { deployment, receiver in
            let answer = try await HTTP.post("\(deployment.base)/\(TestDeployment.webhookToken)", HTTP.message(session: "s1", text: "hi there"))
            #expect(answer.status == 202)
            let traceId = try #require(answer.json?["traceId"]?.stringValue)
            #expect(answer.json == ["traceId": .string(traceId)])
            #expect(traceId.hasPrefix("endpoint-httpIncomingMessage-"))
            #expect(await receiver.waitUntil { $0.count == 1 })
            let delivered = try #require(await receiver.requests.first)
            #expect(delivered.path == "/hook")
            #expect(delivered.headers["content-type"] == "application/json")
            #expect(delivered.headers["idempotency-key"] == "\(traceId)-1")
            #expect(delivered.headers["authorization"] == "Basic " + Data("parley:\(TestDeployment.webhookPassword)".utf8).base64EncodedString())
            let body = try JSONValue.parse(delivered.bodyText)
            #expect(
                body == [
                    "userId": "u1", "sessionId": "s1",
                    "AIOutput": [
                        "text": "echo: hi there", "data": [:], "traceId": .string(traceId), "source": "bot", "disableSensitiveLogging": false,
                    ],
                    "disableSensitiveLogging": false,
                ]
            )
        }
    }

    @Test func dataOnlyMessagesAreAccepted() async throws {
        try await withDeployment { deployment, receiver in
            let answer = try await HTTP.post(
                "\(deployment.base)/\(TestDeployment.webhookToken)",
                #"{"userId":"u1","sessionId":"s2","data":{"button":"yes"}}"#
            )
            #expect(answer.status == 202)
            #expect(await receiver.waitUntil { $0.count == 1 })
            #expect(await receiver.requests.first?.text == "echo: ")
        }
    }

    /// Every error code of DESIGN §5.1, and nothing stored or delivered for any of them.
    @Test func everyRejectionHasItsCodeAndChangesNothing() async throws {
        try await withDeployment { deployment, receiver in
            let url = "\(deployment.base)/\(TestDeployment.webhookToken)"
            let json = ["Content-Type": "application/json"]
            let cases: [(String, HTTP.Answer, Int, String)] = [
                ("bad JSON", try await HTTP.post(url, "{not json"), 400, "invalid_json"),
                ("array", try await HTTP.post(url, "[1,2]"), 400, "invalid_json"),
                ("no userId", try await HTTP.post(url, #"{"sessionId":"s","text":"x"}"#), 400, "invalid_field"),
                ("numeric sessionId", try await HTTP.post(url, #"{"userId":"u","sessionId":5,"text":"x"}"#), 400, "invalid_field"),
                (
                    "long userId", try await HTTP.post(url, HTTP.message(user: String(repeating: "u", count: 257), session: "s", text: "x")), 400,
                    "invalid_field"
                ),
                (
                    "long text", try await HTTP.post(url, HTTP.message(session: "s", text: String(repeating: "t", count: 10_001))), 400,
                    "invalid_field"
                ),
                ("data not object", try await HTTP.post(url, #"{"userId":"u","sessionId":"s","data":[1]}"#), 400, "invalid_field"),
                ("neither", try await HTTP.post(url, #"{"userId":"u","sessionId":"s"}"#), 400, "missing_text_or_data"),
                ("empty text", try await HTTP.post(url, #"{"userId":"u","sessionId":"s","text":""}"#), 400, "missing_text_or_data"),
                (
                    "no key", try await HTTP.post("\(deployment.base)/\(TestDeployment.keyedToken)", HTTP.message(session: "s", text: "x")), 401,
                    "missing_api_key"
                ),
                (
                    "wrong key",
                    try await HTTP.post(
                        "\(deployment.base)/\(TestDeployment.keyedToken)",
                        HTTP.message(session: "s", text: "x"),
                        headers: json.merging(["X-Webhook-Key": "pk_nope"]) { $1 }
                    ), 401, "invalid_api_key"
                ),
                (
                    "disabled", try await HTTP.post("\(deployment.base)/\(TestDeployment.disabledToken)", HTTP.message(session: "s", text: "x")), 403,
                    "endpoint_disabled"
                ),
                (
                    "unknown token",
                    try await HTTP.post("\(deployment.base)/\(String(repeating: "f", count: 64))", HTTP.message(session: "s", text: "x")), 404,
                    "unknown_endpoint"
                ),
                ("GET", try await HTTP.send(.get, url), 405, "method_not_allowed"),
                (
                    "too large", try await HTTP.post(url, HTTP.message(session: "s", text: String(repeating: "x", count: 20000))), 413,
                    "body_too_large"
                ),
                (
                    "text/plain", try await HTTP.post(url, HTTP.message(session: "s", text: "x"), headers: ["Content-Type": "text/plain"]), 415,
                    "unsupported_media_type"
                ),
            ]
            for (name, answer, status, code) in cases {
                #expect(answer.status == status, "\(name): \(answer.body)")
                #expect(answer.errorCode == code, "\(name): \(answer.body)")
                #expect(answer.json?["error"]?["message"]?.stringValue?.isEmpty == false, "\(name)")
            }
            #expect(cases.first { $0.0 == "GET" }?.1.headers["allow"] == "POST")
            #expect(cases.first { $0.0 == "no userId" }?.1.json?["error"]?["message"]?.stringValue?.hasPrefix("userId") == true)
            #expect(try await deployment.store.pendingInbox(limit: 10).isEmpty)
            #expect(try await deployment.store.sessions(endpoint: nil, limit: 10).isEmpty)
            try await Task.sleep(for: .milliseconds(200))
            #expect(await receiver.requests.isEmpty)
        }
    }

    @Test func eachSessionsOutputsArriveInOrderUnderConcurrentRequests() async throws {
        try await withDeployment { deployment, receiver in
            let url = "\(deployment.base)/\(TestDeployment.webhookToken)"
            try await withThrowingTaskGroup(of: Void.self) { group in
                for session in 0..<6 {
                    group.addTask {
                        for index in 0..<8 {
                            let answer = try await HTTP.post(url, HTTP.message(session: "c\(session)", text: "\(index)"))
                            #expect(answer.status == 202)
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(await receiver.waitUntil { $0.count == 48 })
            let requests = await receiver.requests
            for session in 0..<6 {
                let texts = requests.filter { $0.session == "c\(session)" }.map { $0.text ?? "" }
                #expect(texts == (0..<8).map { "echo: \($0)" })
            }
            #expect(await receiver.maxConcurrentPerSession == 1)
        }
    }

    @Test func aReceiverThatFailsThenRecoversLosesNothingAndKeepsOrder() async throws {
        let failures = Failures(count: 5)
        try await withDeployment(receiver: { _ in failures.next() ? WebhookReceiver.Reply(status: 503) : .ok }) { deployment, receiver in
            let url = "\(deployment.base)/\(TestDeployment.webhookToken)"
            for index in 0..<4 {
                let answer = try await HTTP.post(url, HTTP.message(session: "r", text: "\(index)"))
                #expect(answer.status == 202)
            }
            #expect(await receiver.waitUntil { $0.filter { $0.status == 200 }.count == 4 })
            let delivered = await receiver.accepted.map { $0.text ?? "" }
            #expect(delivered == ["echo: 0", "echo: 1", "echo: 2", "echo: 3"])
            #expect(await receiver.requests.count >= 9)
        }
    }

    @Test func restAnswersWithTheOutputStack() async throws {
        try await withDeployment { deployment, receiver in
            let answer = try await HTTP.post("\(deployment.base)/\(TestDeployment.restToken)", HTTP.message(session: "rest1", text: "hello"))
            #expect(answer.status == 200)
            let json = try #require(answer.json)
            #expect(json["text"] == "echo: hello")
            #expect(json["data"] == [:])
            #expect(json["userId"] == "u1")
            #expect(json["sessionId"] == "rest1")
            #expect(json["outputStack"]?.arrayValue?.count == 1)
            let first = try #require(json["outputStack"]?.arrayValue?.first)
            #expect(first["text"] == "echo: hello")
            #expect(first["source"] == "bot")
            try await Task.sleep(for: .milliseconds(100))
            #expect(await receiver.requests.isEmpty)
        }
    }

    @Test func injectRunsTheFlowAndNotifyOnlyDelivers() async throws {
        try await withDeployment { deployment, receiver in
            let inject = try await HTTP.post(
                "\(deployment.base)/inject/\(TestDeployment.webhookToken)",
                HTTP.message(session: "n1", text: "from CRM"),
                headers: TestDeployment.agent
            )
            #expect(inject.status == 202)
            #expect(inject.json?["traceId"]?.stringValue?.hasPrefix("endpoint-inject-") == true)
            let notify = try await HTTP.post(
                "\(deployment.base)/notify/\(TestDeployment.webhookToken)",
                HTTP.message(session: "n1", text: "Your parcel left"),
                headers: TestDeployment.agent
            )
            #expect(notify.status == 202)
            #expect(await receiver.waitUntil { $0.count == 2 })
            #expect(await receiver.requests.map { $0.text ?? "" } == ["echo: from CRM", "Your parcel left"])
            let entries = try await deployment.store.transcript(SessionKey(endpoint: "web", userId: "u1", sessionId: "n1"))
            #expect(entries.count == 1)
            #expect(entries.first?.entry.contains(#""channel":"inject""#) == true)
            #expect(try await HTTP.post("\(deployment.base)/notify/\(TestDeployment.webhookToken)", #"{"userId":"u1"}"#, headers: TestDeployment.agent).errorCode == "invalid_field")
        }
    }

    @Test func theHandoverRoundTrip() async throws {
        try await withDeployment { deployment, receiver in
            let base = deployment.base
            let token = TestDeployment.agentToken
            #expect(try await HTTP.post("\(base)/\(token)", HTTP.message(session: "h1", text: "Ada")).status == 202)
            #expect(await receiver.waitUntil { $0.contains { $0.path == "/agent" } })
            let request = try #require(await receiver.requests.first { $0.path == "/agent" })
            let handover = try JSONValue.parse(request.bodyText)
            #expect(handover["endpoint"] == "agent")
            #expect(handover["text"] == "Connecting you with a colleague.")
            #expect(handover["data"] == ["queue": "support"])
            #expect(
                handover["transcript"] == [
                    ["source": "user", "text": "Ada", "data": [:]], ["source": "bot", "text": "Hello Ada", "data": [:]],
                    ["source": "bot", "text": "Connecting you with a colleague.", "data": [:]],
                ]
            )
            #expect(await receiver.requests.filter { $0.path == "/user" }.map { $0.text ?? "" } == ["Hello Ada", "Connecting you with a colleague."])

            // While handed over, the user's messages go to the agent side and the flow does not run.
            #expect(try await HTTP.post("\(base)/\(token)", HTTP.message(session: "h1", text: "are you there?")).status == 202)
            #expect(await receiver.waitUntil { $0.filter { $0.path == "/agent" }.count == 2 })
            let forwarded = try JSONValue.parse(try #require(await receiver.requests.last { $0.path == "/agent" }).bodyText)
            #expect(forwarded["text"] == "are you there?")
            #expect(forwarded["source"] == "user")

            // The agent answers the user, then ends the handover: the flow resumes after the handover node.
            let agentMessage = #"{"userId":"u1","sessionId":"h1","text":"Hi, I am Grace."}"#
            #expect(try await HTTP.post("\(base)/handover/\(token)/message", agentMessage, headers: TestDeployment.agent).status == 202)
            #expect(try await HTTP.post("\(base)/handover/\(token)/end", #"{"userId":"u1","sessionId":"h1","status":"completed"}"#, headers: TestDeployment.agent).status == 202)
            #expect(await receiver.waitUntil { $0.filter { $0.path == "/user" }.count == 4 })
            let user = await receiver.requests.filter { $0.path == "/user" }
            #expect(user.map { $0.text ?? "" } == ["Hello Ada", "Connecting you with a colleague.", "Hi, I am Grace.", "Back after completed"])
            #expect(user.map { $0.source ?? "" } == ["bot", "bot", "agent", "bot"])
            let bad = try await HTTP.post("\(base)/handover/\(token)/end", #"{"userId":"u1","sessionId":"h1","status":"done"}"#, headers: TestDeployment.agent)
            #expect(bad.errorCode == "invalid_field")
        }
    }

    @Test func aHandoverWithoutAnAgentURLIsAnnouncedInTheOutputData() async throws {
        try await withDeployment { deployment, receiver in
            #expect(try await HTTP.post("\(deployment.base)/\(TestDeployment.quietToken)", HTTP.message(session: "q1", text: "Bob")).status == 202)
            #expect(await receiver.waitUntil { $0.count == 2 })
            let last = try JSONValue.parse(try #require(await receiver.requests.last).bodyText)
            #expect(last["AIOutput"]?["data"] == ["handover": ["status": "requested", "queue": "support"]])
            #expect(last["disableSensitiveLogging"] == true)
            // Sensitive: the transcript is masked, and the delivered bodies are erased from the store.
            let records = try await deployment.store.transcript(SessionKey(endpoint: "quiet", userId: "u1", sessionId: "q1"))
            #expect(records.allSatisfy { $0.redacted })
            #expect(records.allSatisfy { !$0.entry.contains("Bob") })
            #expect(
                await waitUntil { (try? await deployment.store.messages(status: .delivered, limit: 10).allSatisfy { $0.payload.isEmpty }) == true }
            )
        }
    }

    @Test func operationsRoutes() async throws {
        try await withDeployment { deployment, _ in
            #expect(try await HTTP.send(.get, "\(deployment.base)/health").json == ["status": "ok"])
            let ready = try await HTTP.send(.get, "\(deployment.base)/ready")
            #expect(ready.status == 200)
            #expect(ready.json?["flowHash"]?.stringValue?.hasPrefix("sha256:") == true)
            _ = try await HTTP.post("\(deployment.base)/\(TestDeployment.webhookToken)", HTTP.message(session: "m", text: "x"))
            _ = try await HTTP.post("\(deployment.base)/\(TestDeployment.webhookToken)", "{")
            let metrics = try await HTTP.send(.get, "\(deployment.base)/metrics")
            #expect(metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
            #expect(metrics.body.contains(#"parley_requests_total{endpoint="web",status="202"} 1"#))
            #expect(metrics.body.contains(#"parley_requests_total{endpoint="web",status="400"} 1"#))
            #expect(metrics.body.contains("parley_turn_duration_seconds_count"))
            #expect(metrics.body.contains("parley_outbox_depth"))
            #expect(metrics.body.contains("parley_dead_letters"))
        }
    }
}

/// Fails the first `count` calls.
final class Failures: Sendable {
    private let remaining: Mutex<Int>

    init(count: Int) {
        remaining = Mutex(count)
    }

    func next() -> Bool {
        remaining.withLock {
            guard $0 > 0 else { return false }
            $0 -= 1
            return true
        }
    }
}

/// Polls `condition` for up to about ten seconds.
func waitUntil(_ condition: @Sendable () async -> Bool) async -> Bool {
    for _ in 0..<500 {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return false
}
