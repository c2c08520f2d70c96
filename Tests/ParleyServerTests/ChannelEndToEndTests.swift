import Foundation
import ParleyEndpoints
import ParleyFlows
import ParleySQLite
import ParleyStore
import ParleyTestSupport
import Synchronization
import Testing

/// Issue 13 end to end against a real `parley serve`: transformers (DESIGN §5.7), the chat copilot with actions and
/// workspace access (§5.5), and data protection (§7).
@Suite("Channels end to end: transformers, chat copilot, workspace access, data protection", .serialized)
struct ChannelEndToEndTests {
    static let admin = ["Authorization": "Bearer \(TestDeployment.adminToken)", "Content-Type": "application/json"]

    private func withServer(
        logLevel: String? = nil,
        _ body: (ServeProcessTests.Server, WebhookReceiver, URL) async throws -> Void
    ) async throws {
        let receiver = try await WebhookReceiver.start()
        let folder = try TestDeployment.prepare(receiverPort: receiver.port)
        let server = try await ServeProcessTests.Server.start(folder: folder, logLevel: logLevel)
        defer {
            _ = server.terminate()
            try? FileManager.default.removeItem(at: folder)
        }
        do {
            try await body(server, receiver, folder)
        } catch {
            await receiver.stop()
            throw error
        }
        await receiver.stop()
    }

    /// The distinct messages a path received, in order: delivery is at least once, so a loaded machine may see a
    /// retry of a message whose first attempt timed out; the message is the same (its Idempotency-Key).
    static func messages(_ requests: [WebhookReceiver.Received], to path: String) -> [WebhookReceiver.Received] {
        var seen: Set<String> = []
        return requests.filter { $0.path == path && seen.insert($0.headers["idempotency-key"] ?? UUID().uuidString).inserted }
    }

    static func whatsapp(from: String, text: String?, id: String = "wamid.1") -> String {
        var value: [String: JSONValue] = [
            "messaging_product": "whatsapp", "metadata": ["phone_number_id": "PNID-1", "display_phone_number": "15550001111"],
            "contacts": [["profile": ["name": "Ada"], "wa_id": .string(from)]],
        ]
        if let text {
            value["messages"] = [["from": .string(from), "id": .string(id), "type": "text", "text": ["body": .string(text)]]]
        } else {
            value["statuses"] = [["id": .string(id), "status": "delivered", "recipient_id": .string(from)]]
        }
        let body: JSONValue = [
            "object": "whatsapp_business_account", "entry": [["id": "WABA", "changes": [["field": "messages", "value": .object(value)]]]],
        ]
        return body.canonicalJSON
    }

    @Test func theWhatsAppSampleTransformerMapsBothWaysAndIgnoresReceipts() async throws {
        try await withServer { server, receiver, _ in
            let url = "\(server.base)/\(TestDeployment.whatsappToken)"
            let accepted = try await HTTP.post(url, Self.whatsapp(from: "15551234567", text: "hello"))
            #expect(accepted.status == 202)
            #expect(accepted.json?["traceId"]?.stringValue?.hasPrefix("endpoint-httpIncomingMessage-") == true)
            #expect(await receiver.waitUntil { $0.contains { $0.path == "/whatsapp" } })
            let sent = try #require(await receiver.requests.first { $0.path == "/whatsapp" })
            let json = try JSONValue.parse(sent.bodyText)
            // The Cloud API's send-message body, not the AIOutput payload.
            #expect(json["messaging_product"] == "whatsapp")
            #expect(json["to"] == "15551234567")
            #expect(json["type"] == "text")
            #expect(json["text"]?["body"] == "echo: hello")
            // Kept in the session storage by handleInput, read by handleOutput.
            #expect(json["phone_number_id"] == "PNID-1")
            #expect(json["AIOutput"] == nil)

            // A delivery receipt has no message: 202, nothing stored or run.
            let receipt = try await HTTP.post(url, Self.whatsapp(from: "15551234567", text: nil))
            #expect(receipt.status == 202)
            #expect(receipt.json?["ignored"] == true)
            try await Task.sleep(for: .milliseconds(500))
            #expect(Self.messages(await receiver.requests, to: "/whatsapp").count == 1)
        }
    }

    @Test func transformerResultsAreValidatedAndFailuresHaveTheirCodes() async throws {
        try await withServer { server, receiver, folder in
            let url = "\(server.base)/\(TestDeployment.transformerToken)"
            // Mapped in, with the session storage counted by the input hook and read by the output hook; the key
            // header never reaches the transformer, other headers do.
            let headers = ["Content-Type": "application/json", "X-Test": "seen", "X-Webhook-Key": "pk_secret"]
            // (One after the other: a hook saves the whole storage object, so overlapping requests of one session
            // would each write what they saw, as docs/transformers.md says.)
            #expect(try await HTTP.post(url, #"{"user":"u1","session":"s1","say":"one"}"#, headers: headers).status == 202)
            #expect(await receiver.waitUntil { Self.messages($0, to: "/mapped").count == 1 })
            #expect(try await HTTP.post(url, #"{"user":"u1","session":"s1","say":"two"}"#, headers: headers).status == 202)
            #expect(await receiver.waitUntil { Self.messages($0, to: "/mapped").count == 2 })
            let bodies = Self.messages(await receiver.requests, to: "/mapped").map { try? JSONValue.parse($0.bodyText) }
            #expect(bodies[0]?["say"] == "echo: one")
            #expect(bodies[0]?["inputs"] == 1)
            #expect(bodies[1]?["say"] == "echo: two")
            #expect(bodies[1]?["inputs"] == 2)
            #expect(bodies[1]?["outputs"] == 2)
            #expect(bodies[1]?["traceId"]?.stringValue?.hasPrefix("endpoint-httpIncomingMessage-") == true)

            // The flow saw the header but not the key.
            let admin = Self.admin
            let transcript = try await HTTP.send(.get, "\(server.base)/api/v1/sessions/mapped/u1/s1/transcript", headers: admin)
            #expect(transcript.body.contains("seen"))
            #expect(!transcript.body.contains("pk_secret"))

            // Results are checked as the endpoint's own input: invalid ones are 400 invalid_transformer_result.
            for result in [#"{"userId":"u","sessionId":7,"text":"x"}"#, #"{"userId":"u","sessionId":"s"}"#, #""just text""#] {
                let answer = try await HTTP.post(url, #"{"result":\#(result)}"#)
                #expect(answer.status == 400, "\(result)")
                #expect(answer.errorCode == "invalid_transformer_result", "\(result)")
            }
            // A falsy result ignores the request.
            #expect(try await HTTP.post(url, #"{"result":null}"#).json?["ignored"] == true)
            // A transformer that throws or runs too long: 500 transformer_failed, nothing stored.
            let thrown = try await HTTP.post(url, #"{"throw":true}"#)
            #expect(thrown.status == 500)
            #expect(thrown.errorCode == "transformer_failed")
            #expect(thrown.body.contains("refused by the transformer"))
            let looped = try await HTTP.post(url, #"{"loop":true}"#)
            #expect(looped.status == 500)
            #expect(looped.errorCode == "transformer_failed")

            // handleOutput: a falsy result drops the output, a throw makes it a dead letter with the reason.
            #expect(try await HTTP.post(url, #"{"user":"u2","session":"s2","say":"drop me"}"#).status == 202)
            #expect(try await HTTP.post(url, #"{"user":"u2","session":"s2","say":"boom"}"#).status == 202)
            #expect(try await HTTP.post(url, #"{"user":"u2","session":"s2","say":"after"}"#).status == 202)
            #expect(await receiver.waitUntil { $0.contains { $0.path == "/mapped" && $0.bodyText.contains("echo: after") } })
            #expect(Self.messages(await receiver.requests, to: "/mapped").count == 3)
            let dead = try await HTTP.send(.get, "\(server.base)/api/v1/outbox?status=dead", headers: admin)
            let letters = dead.json?["messages"]?.arrayValue ?? []
            #expect(letters.count == 1)
            #expect(letters.first?["lastError"]?.stringValue?.hasPrefix("transformer_failed: handleOutput") == true)

            // Inject and notify have their own hooks: inject runs the flow, notify only delivers; both map out too.
            let inject = #"{"who":"u3","thread":"s3","say":"hello"}"#
            #expect(try await HTTP.post("\(server.base)/inject/\(TestDeployment.transformerToken)", inject, headers: TestDeployment.agent).status == 202)
            #expect(
                try await HTTP.post("\(server.base)/notify/\(TestDeployment.transformerToken)", #"{"who":"u3","thread":"s3","say":"shipped"}"#, headers: TestDeployment.agent).status
                    == 202
            )
            #expect(try await HTTP.post("\(server.base)/notify/\(TestDeployment.transformerToken)", #"{"quiet":true}"#, headers: TestDeployment.agent).json?["ignored"] == true)
            #expect(
                await receiver.waitUntil {
                    $0.filter { $0.bodyText.contains("injected hello") || $0.bodyText.contains("notice: shipped") }.count == 2
                }
            )
            let third = Self.messages(await receiver.requests, to: "/mapped").compactMap { try? JSONValue.parse($0.bodyText)["say"]?.stringValue }
            #expect(third.suffix(2) == ["echo: injected hello", "notice: shipped"])

            // A rejected result keeps none of the hook's storage changes.
            #expect(try await HTTP.post(url, #"{"touchThenFail":true}"#).errorCode == "invalid_transformer_result")

            // The storage lives in the store, by session.
            let store = try SQLiteStore(path: folder.appendingPathComponent("parley.sqlite").path)
            defer { try? store.close() }
            #expect(try await store.sessionStorage(SessionKey(endpoint: "mapped", userId: "u9", sessionId: "s9")) == nil)
            let stored = try #require(try await store.sessionStorage(SessionKey(endpoint: "mapped", userId: "u1", sessionId: "s1")))
            #expect(try JSONValue.parse(stored) == ["inputs": 2, "outputs": 2])
        }
    }

    @Test func aRESTTransformerMapsTheRequestAndTheAnswer() async throws {
        try await withServer { server, _, _ in
            let answer = try await HTTP.post(
                "\(server.base)/\(TestDeployment.restTransformerToken)",
                #"{"from":"ada","thread":"t-1","message":"hi"}"#
            )
            #expect(answer.status == 200)
            #expect(answer.json == ["replies": ["echo: hi"], "joined": "echo: hi", "thread": "t-1"])
        }
    }

    @Test func aChatEndpointKeepsAWorkspaceThatNeedsAccessAndTakesActions() async throws {
        try await withServer { server, receiver, folder in
            let made = try await HTTP.post("\(server.base)/api/v1/endpoints/helpdesk/keys", #"{"name":"desk"}"#, headers: Self.admin)
            let key = try #require(made.json?["key"]?.stringValue)
            // Key names are unique per endpoint.
            let again = try await HTTP.post("\(server.base)/api/v1/endpoints/helpdesk/keys", #"{"name":"desk"}"#, headers: Self.admin)
            #expect(again.status == 409)
            #expect(again.errorCode == "duplicate_key_name")

            let keyed = ["Content-Type": "application/json", "X-Webhook-Key": key]
            #expect(
                try await HTTP.post("\(server.base)/\(TestDeployment.helpdeskToken)", HTTP.message(session: "c1", text: "my parcel"), headers: keyed)
                    .status == 202
            )
            #expect(await receiver.waitUntil { $0.contains { $0.path == "/helpdesk" } })

            let query = "userId=u1&sessionId=c1&URLToken=\(TestDeployment.helpdeskToken)"
            let state = "\(server.base)/copilot/state?\(query)"
            // Access: none, a wrong key, a forged link, then the key and a minted link.
            #expect(try await HTTP.send(.get, state).errorCode == "missing_access")
            #expect(try await HTTP.send(.get, state, headers: ["X-Webhook-Key": "pk_wrong"]).errorCode == "invalid_access")
            #expect(try await HTTP.send(.get, "\(state)&access=9999999999.AAAA").errorCode == "invalid_access")
            #expect(try await HTTP.send(.get, "\(server.base)/copilot/?\(query)").status == 401)
            let workspace = try await HTTP.send(.get, state, headers: ["X-Webhook-Key": key])
            #expect(workspace.status == 200)
            #expect(workspace.json?["tiles"]?["summary"]?["text"] == "Customer said my parcel")
            #expect(workspace.json?["tiles"]?["summary"]?["type"] == "nextAction")

            let config = folder.appendingPathComponent("parley.yaml").path
            let link = try ServeProcessTests.parley([
                "copilot", "link", "--config", config, "--endpoint", "helpdesk", "--user", "u1", "--session", "c1",
            ])
            #expect(link.status == 0)
            let line = link.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(line.contains("/copilot/?userId=u1&sessionId=c1&URLToken=\(TestDeployment.helpdeskToken)&access="))
            let access = try #require(line.components(separatedBy: "&access=").last)
            #expect(try await HTTP.send(.get, "\(state)&access=\(access)").status == 200)
            #expect(try await HTTP.send(.get, "\(server.base)/copilot/?\(query)&access=\(access)").status == 200)
            // The link is for one session only.
            #expect(
                try await HTTP.send(
                    .get,
                    "\(server.base)/copilot/state?userId=u1&sessionId=c2&URLToken=\(TestDeployment.helpdeskToken)&access=\(access)"
                ).errorCode == "invalid_access"
            )
            // An expired link, signed with the store's key.
            let store = try SQLiteStore(path: folder.appendingPathComponent("parley.sqlite").path)
            let secret = try await store.secret(named: WorkspaceLink.secretName, orCreate: { "unused" }, at: Date())
            try store.close()
            #expect(secret != "unused")
            let expired = WorkspaceLink.access(
                secret: secret,
                endpoint: "helpdesk",
                userId: "u1",
                sessionId: "c1",
                expiry: Int(Date().timeIntervalSince1970) - 5
            )
            #expect(try await HTTP.send(.get, "\(state)&access=\(expired)").errorCode == "invalid_access")

            // An Adaptive Card Action.Submit from the page: runs the flow with channel copilot.
            let action = try await HTTP.post("\(server.base)/copilot/action?\(query)&access=\(access)", #"{"tile":"refund","data":{"amount":"25"}}"#)
            #expect(action.status == 202)
            #expect(action.json?["traceId"]?.stringValue?.hasPrefix("endpoint-copilotAction-") == true)
            #expect(try await HTTP.post("\(server.base)/copilot/action?\(query)", #"{"tile":"refund"}"#).errorCode == "missing_access")
            #expect(try await HTTP.post("\(server.base)/copilot/action?\(query)&access=\(access)", #"{"data":{}}"#).errorCode == "invalid_field")
            #expect(await receiver.waitUntil { $0.contains { $0.path == "/helpdesk" && $0.text == "Approved 25" } })
            #expect(
                await HTTP.eventually {
                    try await HTTP.send(.get, state, headers: ["X-Webhook-Key": key]).json?["tiles"]?["summary"]?["text"] == "Approved 25 from refund"
                }
            )
            // Tile updates never reach the customer's webhook on a chat endpoint.
            let delivered = Self.messages(await receiver.requests, to: "/helpdesk")
            #expect(delivered.map(\.text) == ["Hi my parcel", "Approved 25"])
            #expect(!delivered.contains { $0.bodyText.contains(#""copilot":"#) })
        }
    }

    @Test func dataProtectionHoldsAtRestAndInTheLog() async throws {
        try await withServer(logLevel: "info") { server, receiver, folder in
            // Each endpoint's full URL is printed at start (right after the line the test waited for: poll for it).
            let web = "parley: endpoint web (webhook): http://127.0.0.1:\(server.port)/\(TestDeployment.webhookToken)"
            let helpdesk = "parley: endpoint helpdesk (webhook): http://127.0.0.1:\(server.port)/\(TestDeployment.helpdeskToken)"
            #expect(await HTTP.eventually { server.errors.text.withLock { $0.contains(web) && $0.contains(helpdesk) } })

            // collectConversations: false keeps no transcript; maskIPAddress: false logs the address as it is.
            #expect(
                try await HTTP.post("\(server.base)/\(TestDeployment.unrecordedToken)", HTTP.message(session: "n1", text: "private")).status == 202
            )
            #expect(await receiver.waitUntil { $0.contains { $0.path == "/unrecorded" } })
            let transcript = try await HTTP.send(.get, "\(server.base)/api/v1/sessions/unrecorded/u1/n1/transcript", headers: Self.admin)
            #expect(transcript.errorCode == "unknown_session")
            #expect(try await HTTP.send(.get, "\(server.base)/api/v1/sessions/unrecorded/u1/n1", headers: Self.admin).status == 200)
            // The default masks it.
            #expect(try await HTTP.post("\(server.base)/\(TestDeployment.webhookToken)", HTTP.message(session: "m1", text: "hi")).status == 202)
            #expect(await receiver.waitUntil { $0.contains { $0.path == "/hook" } })
            let lines = server.errors.text.withLock { $0 }.split(separator: "\n").filter { $0.contains("accepted") }
            #expect(lines.contains { $0.contains("endpoint=unrecorded") && $0.contains("127.0.0.1") })
            #expect(lines.contains { $0.contains("endpoint=web") && $0.contains("127.0.0.x") })
            #expect(!lines.contains { $0.contains("endpoint=web") && $0.contains("127.0.0.1") })

            // A voice workspace under disableSensitiveLogging keeps the transcript masked at rest.
            let utterance = #"{"userId":"c","sessionId":"v1","text":"my card number is 4111","speaker":"customer"}"#
            #expect(try await HTTP.post("\(server.base)/\(TestDeployment.quietVoiceToken)", utterance).status == 202)
            let store = try SQLiteStore(path: folder.appendingPathComponent("parley.sqlite").path)
            defer { try? store.close() }
            let key = SessionKey(endpoint: "quietvoice", userId: "c", sessionId: "v1")
            #expect(await HTTP.eventually { (try? await store.workspace(key)) != nil })
            let stored = try #require(try await store.workspace(key))
            #expect(!stored.contains("4111"))
            #expect(try JSONValue.parse(stored)["transcript"] == [["speaker": "customer", "text": "***"]])
        }
    }
}

extension HTTP {
    /// Polls `condition` for up to 20 s.
    static func eventually(_ condition: () async throws -> Bool) async -> Bool {
        for _ in 0..<200 {
            if (try? await condition()) == true { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }
}
