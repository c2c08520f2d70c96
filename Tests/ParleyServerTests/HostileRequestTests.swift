import Foundation
import ParleyFlows
import ParleySQLite
import ParleyStore
import ParleyTestSupport
import Testing

/// Named regressions: requests that used to trap the server, or that it answered wrongly. Each answer must be a
/// `4xx` with the field named, and the server must go on serving.
@Suite(.serialized) struct HostileRequestTests {
    static let voice = #"{"call_sid":"c1","from":"+49100","to":"+49200","speech":{"is_final":true,"alternatives":[{"transcript":"hi"}],"#

    /// `speech.channel_tag: 1e300` ended the process (`Int(Double)` on a wire number), unauthenticated.
    @Test(arguments: [
        (voice + #""channel_tag":1e300}}"#, "speech.channel_tag"),
        (voice + #""channel_tag":-1e300}}"#, "speech.channel_tag"),
        (voice + #""channel_tag":2.5}}"#, "speech.channel_tag"),
        (voice + #""channel_tag":"1"}}"#, "speech.channel_tag"),
        (#"{"call_sid":"c1","from":"+49100","channel_tag":9223372036854775808,"speech":{"alternatives":[{"transcript":"hi"}]}}"#, "channel_tag"),
        (#"{"call_sid":"c1","from":"+49100","speech":{"is_final":"yes","alternatives":[{"transcript":"hi"}]}}"#, "speech.is_final"),
    ])
    func voiceNumbersOutOfRangeAreInvalidFields(body: String, field: String) async throws {
        try await TestDeployment.with { deployment, _ in
            let answer = try await HTTP.post("\(deployment.base)/\(TestDeployment.voiceToken)", body)
            #expect(answer.status == 400)
            #expect(answer.errorCode == "invalid_field")
            #expect(answer.json?["error"]?["message"]?.stringValue?.hasPrefix(field + ":") == true, "\(answer.body)")
            #expect(try await HTTP.send(.get, "\(deployment.base)/health").status == 200)
            #expect(try await deployment.store.pendingInbox(limit: 10).isEmpty)
        }
    }

    /// `POST /api/v1/outbox/retry {"ids":[1e300]}` ended the process (`Int64.init` on a wire number).
    @Test func adminBodiesAndQueriesAreChecked() async throws {
        try await TestDeployment.with { deployment, _ in
            let admin = ["Authorization": "Bearer \(TestDeployment.adminToken)", "Content-Type": "application/json"]
            let retry = "\(deployment.base)/api/v1/outbox/retry"
            let manyIds = "[" + (1...1001).map(String.init).joined(separator: ",") + "]"
            for (body, field) in [
                (#"{"ids":[1e300]}"#, "ids"), (#"{"ids":[-1e300]}"#, "ids"), (#"{"ids":["1"]}"#, "ids"), (#"{"ids":[0.5]}"#, "ids"),
                (#"{"ids":1e300}"#, "ids"), (#"{"ids":\#(manyIds)}"#, "ids"), (#"{"id":[1]}"#, "id"),
            ] {
                let answer = try await HTTP.post(retry, body, headers: admin)
                #expect(answer.status == 400, "\(body)")
                #expect(answer.errorCode == "invalid_field", "\(body)")
                #expect(answer.json?["error"]?["message"]?.stringValue?.hasPrefix(field + ":") == true, "\(body): \(answer.body)")
            }
            #expect(try await HTTP.post(retry, "[1", headers: admin).errorCode == "invalid_json")
            #expect(try await HTTP.post(retry, #"{"ids":[1,2]}"#, headers: admin).json == ["retried": 0])
            #expect(try await HTTP.post(retry, "", headers: admin).json == ["retried": 0])

            for query in ["limit=abc", "limit=0", "limit=-1", "limit=1e300", "limit=1001", "limit=99999999999999999999", "limit=2.0"] {
                for path in ["sessions", "outbox"] {
                    let answer = try await HTTP.send(.get, "\(deployment.base)/api/v1/\(path)?\(query)", headers: admin)
                    #expect(answer.status == 400, "\(path)?\(query)")
                    #expect(answer.json?["error"]?["message"]?.stringValue?.hasPrefix("limit:") == true, "\(path)?\(query): \(answer.body)")
                }
            }
            #expect(try await HTTP.send(.get, "\(deployment.base)/api/v1/outbox?status=bogus", headers: admin).errorCode == "invalid_field")
            #expect(try await HTTP.send(.get, "\(deployment.base)/api/v1/outbox?status=pending&limit=5", headers: admin).status == 200)
            #expect(try await HTTP.send(.get, "\(deployment.base)/api/v1/sessions?limit=1000", headers: admin).status == 200)

            let keys = "\(deployment.base)/api/v1/endpoints/keyed/keys"
            for body in [#"{"name":5}"#, #"{"name":""}"#, #"{"name":"a\u0000b"}"#, #"{"name":"\#(String(repeating: "k", count: 101))"}"#] {
                #expect(try await HTTP.post(keys, body, headers: admin).errorCode == "invalid_field", "\(body)")
            }
            #expect(try await HTTP.post(keys, "nope", headers: admin).errorCode == "invalid_json")
            #expect(try await deployment.store.keys(endpoint: "keyed").isEmpty)
            let created = try await HTTP.post(keys, #"{"name":"desk"}"#, headers: admin)
            #expect(created.status == 201)
            #expect(created.json?["name"] == "desk")
        }
    }

    /// Found by schemathesis: answers that disagreed with the documented contract.
    @Test func routesAnswerAsDocumented() async throws {
        try await TestDeployment.with { deployment, receiver in
            let base = deployment.base
            // Other methods on every route under a token: 405 with Allow (404 for an unknown token).
            for path in ["inject", "notify"].map({ "/\($0)/\(TestDeployment.webhookToken)" })
                + ["message", "end"].map({ "/handover/\(TestDeployment.agentToken)/\($0)" })
            {
                let answer = try await HTTP.send(.get, base + path)
                #expect(answer.status == 405, "\(path)")
                #expect(answer.errorCode == "method_not_allowed", "\(path)")
                #expect(answer.headers["allow"] == "POST", "\(path)")
            }
            #expect(try await HTTP.send(.delete, "\(base)/inject/\(String(repeating: "f", count: 64))").errorCode == "unknown_endpoint")
            // An unknown path has the JSON error shape.
            let unknown = try await HTTP.send(.get, "\(base)/no/such/route")
            #expect(unknown.status == 404)
            #expect(unknown.errorCode == "not_found")
            // An agent's message needs its text (DESIGN 5.4).
            let agent = try await HTTP.post(
                "\(base)/handover/\(TestDeployment.agentToken)/message",
                #"{"userId":"u","sessionId":"s","data":{"a":1}}"#,
                headers: TestDeployment.agent
            )
            #expect(agent.errorCode == "invalid_field")
            #expect(agent.json?["error"]?["message"]?.stringValue?.hasPrefix("text:") == true)
            // Path parameters are percent-decoded: a session of user "é a" is found under %C3%A9%20a.
            #expect(
                try await HTTP.post("\(base)/\(TestDeployment.webhookToken)", HTTP.message(user: "é a", session: "s/1", text: "hi")).status == 202
            )
            #expect(await receiver.waitUntil { $0.count == 1 })
            let admin = ["Authorization": "bearer \(TestDeployment.adminToken)"]  // the scheme is case-insensitive
            let session = try await HTTP.send(.get, "\(base)/api/v1/sessions/web/%C3%A9%20a/s%2F1", headers: admin)
            #expect(session.status == 200, "\(session.body)")
            #expect(session.json?["userId"] == "é a")
            let transcript = try await HTTP.send(.get, "\(base)/api/v1/sessions/web/%C3%A9%20a/s%2F1/transcript", headers: admin)
            #expect(transcript.status == 200)
        }
    }

    /// A NUL inside an id would be cut off by SQLite's C string API and merge two users' sessions.
    @Test func controlCharactersInIdsAreRefused() async throws {
        try await TestDeployment.with { deployment, _ in
            for body in [
                #"{"userId":"u\u0000x","sessionId":"s","text":"a"}"#, #"{"userId":"u","sessionId":"s\nforged log line","text":"a"}"#,
                #"{"userId":"u\u007f","sessionId":"s","text":"a"}"#,
                // Issue 25: NEL, the line separator and a bidirectional override could spoof the caller's name.
                #"{"userId":"u\u0085","sessionId":"s","text":"a"}"#, #"{"userId":"u","sessionId":"s\u2028","text":"a"}"#,
                #"{"userId":"\u202eevil","sessionId":"s","text":"a"}"#, #"{"userId":"u\u2066x","sessionId":"s","text":"a"}"#,
            ] {
                let answer = try await HTTP.post("\(deployment.base)/\(TestDeployment.webhookToken)", body)
                #expect(answer.errorCode == "invalid_field", "\(body)")
            }
            #expect(try await deployment.store.pendingInbox(limit: 10).isEmpty)
            // Control characters inside the text are the user's: they are kept and escaped.
            #expect(
                try await HTTP.post("\(deployment.base)/\(TestDeployment.webhookToken)", #"{"userId":"u","sessionId":"s","text":"a\u0000b"}"#).status
                    == 202
            )
        }
    }

    /// Issue 25: one letter with 400,000 combining accents (800 KB) passed the 256-character limit of an id and made
    /// every delivery 2.4 MB. Ids are limited in UTF-8 bytes, texts in code points.
    @Test func lengthLimitsCountBytesAndCodePointsNotGraphemes() async throws {
        try await TestDeployment.with { deployment, _ in
            let url = "\(deployment.base)/\(TestDeployment.webhookToken)"
            // (The test deployment takes bodies of up to 16 KB; ChannelMappingTests tries 800 KB.)
            let accented = "a" + String(repeating: "\u{301}", count: 3000)
            for (user, text) in [(accented, "hi"), (String(repeating: "é", count: 129), "hi")] {
                let body = JSONValue.object(["userId": .string(user), "sessionId": "s", "text": .string(text)]).canonicalJSON
                let answer = try await HTTP.post(url, body)
                #expect(answer.status == 400, "\(answer.body.prefix(200))")
                #expect(answer.errorCode == "invalid_field")
            }
            #expect(try await deployment.store.pendingInbox(limit: 10).isEmpty)
            // At the limit: 256 bytes of id (128 two-byte letters).
            let fits = JSONValue.object([
                "userId": .string(String(repeating: "é", count: 128)), "sessionId": "s", "text": .string(String(repeating: "ü", count: 5000)),
            ]).canonicalJSON
            #expect(try await HTTP.post(url, fits).status == 202)
        }
    }

    /// While handed over without `handover.url`, user messages used to be recorded and dropped; now they reach the
    /// webhook that got the handover request (DESIGN §5.4).
    @Test func userMessagesDuringAHandoverWithoutAnAgentURLReachTheWebhook() async throws {
        try await TestDeployment.with { deployment, receiver in
            let url = "\(deployment.base)/\(TestDeployment.deskToken)"
            #expect(try await HTTP.post(url, HTTP.message(session: "d1", text: "Ada")).status == 202)
            #expect(await receiver.waitUntil { $0.filter { $0.path == "/desk" }.count == 2 })
            let traceId = try #require(
                try await HTTP.post(url, #"{"userId":"u1","sessionId":"d1","text":"are you there?","data":{"page":"billing"}}"#)
                    .json?["traceId"]?.stringValue
            )
            #expect(await receiver.waitUntil { $0.filter { $0.path == "/desk" }.count == 3 })
            let forwarded = try JSONValue.parse(try #require(await receiver.requests.filter { $0.path == "/desk" }.last).bodyText)
            #expect(
                forwarded == [
                    "userId": "u1", "sessionId": "d1",
                    "AIOutput": [
                        "text": nil, "source": "user", "traceId": .string(traceId), "disableSensitiveLogging": false,
                        "data": ["handover": ["status": "active", "userMessage": ["text": "are you there?", "data": ["page": "billing"]]]],
                    ],
                    "disableSensitiveLogging": false,
                ]
            )
            // Recorded in the transcript, not as an output of a turn; the flow did not run.
            let records = try await deployment.store.transcript(SessionKey(endpoint: "desk", userId: "u1", sessionId: "d1"))
            #expect(records.count == 2)
            let entry = try JSONValue.parse(try #require(records.last).entry)
            #expect(entry["input"]?["text"] == "are you there?")
            #expect(entry["outputs"] == [])
            #expect(entry["trace"]?.arrayValue?.first?["outcome"] == "handedOver:ignored")
            // The agent side ends the handover: the flow resumes and answers through the webhook as before.
            #expect(
                try await HTTP.post(
                    "\(deployment.base)/handover/\(TestDeployment.deskToken)/end",
                    #"{"userId":"u1","sessionId":"d1","status":"completed"}"#,
                    headers: TestDeployment.agent
                ).status == 202
            )
            #expect(await receiver.waitUntil { $0.contains { $0.path == "/desk" && $0.text == "Back after completed" } })
        }
    }
}
