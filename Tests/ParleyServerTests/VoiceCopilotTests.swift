import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ParleyEndpoints
import ParleyEngine
import ParleyFlows
import ParleySQLite
import ParleyStore
import ParleyTestSupport
import Testing

/// The voice copilot endpoint end to end: both payload forms, interim vs final, the stored workspace, the SSE
/// stream and the webhook copy.
@Suite(.serialized) struct VoiceCopilotTests {
    private func withDeployment(_ body: (TestDeployment, WebhookReceiver) async throws -> Void) async throws {
        try await TestDeployment.with(body)
    }

    private func state(_ deployment: TestDeployment, user: String = "+4930123", session: String) async throws -> JSONValue {
        let answer = try await HTTP.send(
            .get,
            "\(deployment.base)/copilot/state?userId=\(user)&sessionId=\(session)&URLToken=\(TestDeployment.voiceToken)",
            headers: TestDeployment.agent
        )
        #expect(answer.status == 200, "\(answer.body)")
        return try #require(answer.json)
    }

    private func say(
        _ deployment: TestDeployment,
        _ text: String,
        speaker: String = "customer",
        final: Bool = true,
        session: String = "call-1"
    )
        async throws -> HTTP.Answer
    {
        let body: JSONValue = [
            "userId": "+4930123", "sessionId": .string(session), "text": .string(text), "speaker": .string(speaker), "final": .bool(final),
        ]
        return try await HTTP.post("\(deployment.base)/\(TestDeployment.voiceToken)", body.canonicalJSON)
    }

    /// Waits until the stored workspace satisfies `condition`.
    private func waitForState(_ deployment: TestDeployment, session: String = "call-1", _ condition: @Sendable (JSONValue) -> Bool) async -> Bool {
        await waitUntil {
            guard let text = try? await deployment.store.workspace(SessionKey(endpoint: "voice", userId: "+4930123", sessionId: session)),
                let state = try? JSONValue.parse(text)
            else { return false }
            return condition(state)
        }
    }

    @Test func finalUtterancesRunTheFlowAndBuildTheWorkspace() async throws {
        try await withDeployment { deployment, receiver in
            #expect(try await say(deployment, "Hello, I have a question about my bill").status == 202)
            #expect(await waitForState(deployment) { $0["tiles"]?["sentiment"] != nil })
            let first = try await state(deployment, session: "call-1")
            #expect(first["grid"]?["grid"] == ["columns": 3, "rows": 5, "gap": 8])
            #expect(first["transcript"] == [["speaker": "customer", "text": "Hello, I have a question about my bill"]])
            #expect(first["tiles"]?["checklist"]?["type"] == "html")
            #expect(first["tiles"]?["next-action"]?["type"] == "nextAction")
            #expect(first["tiles"]?["knowledge"]?["type"] == "knowledge")
            #expect(first["tiles"]?["sentiment"]?["text"] == "neutral")
            #expect(first["tiles"]?["sentiment"]?["unknown"] == nil)

            // The agent's words tick the checklist through sendData: the html tile keeps its type and gets data.
            #expect(try await say(deployment, "Good morning, thanks for calling, this call is recorded", speaker: "agent").status == 202)
            #expect(await waitForState(deployment) { $0["tiles"]?["checklist"]?["data"]?["greeted"] == true })
            let second = try await state(deployment, session: "call-1")
            #expect(second["tiles"]?["checklist"]?["type"] == "html")
            #expect(second["tiles"]?["checklist"]?["data"]?["recordingNotice"] == true)

            // A customer number identifies the caller.
            #expect(try await say(deployment, "my customer number is 1002 3456").status == 202)
            #expect(await waitForState(deployment) { $0["tiles"]?["identity"]?["text"] == "Ada Lovelace, gold customer since 2015" })
            let third = try await state(deployment, session: "call-1")
            #expect(third["transcript"]?.arrayValue?.count == 3)
            #expect(third["tiles"]?["crm"]?["url"] == "https://crm.example.com/customers/10023456?view=compact")

            // Each tile update also went to the webhook as AIOutput with data.copilot.
            #expect(await receiver.waitUntil { $0.contains { $0.path == "/voice" && $0.bodyText.contains(#""tile":"identity""#) } })
            let copy = try JSONValue.parse(try #require(await receiver.requests.first { $0.bodyText.contains(#""type":"setGrid""#) }).bodyText)
            #expect(copy["AIOutput"]?["data"]?["copilot"]?["type"] == "setGrid")
            #expect(copy["sessionId"] == "call-1")
        }
    }

    @Test func interimUtterancesUpdateOnlyTheTranscriptLine() async throws {
        try await withDeployment { deployment, _ in
            #expect(try await say(deployment, "I would like to", final: false, session: "call-2").status == 202)
            #expect(await waitForState(deployment, session: "call-2") { $0["interim"]?["customer"] == "I would like to" })
            let interim = try await state(deployment, session: "call-2")
            #expect(interim["transcript"] == [])
            #expect(interim["tiles"] == [:])
            #expect(try await deployment.store.transcript(SessionKey(endpoint: "voice", userId: "+4930123", sessionId: "call-2")).isEmpty)

            #expect(try await say(deployment, "I would like to cancel my contract", session: "call-2").status == 202)
            #expect(await waitForState(deployment, session: "call-2") { $0["tiles"]?["offer"] != nil })
            let final = try await state(deployment, session: "call-2")
            #expect(final["interim"] == [:])
            #expect(final["transcript"] == [["speaker": "customer", "text": "I would like to cancel my contract"]])
            #expect(final["tiles"]?["offer"]?["type"] == "adaptiveCard")
            let entries = try await deployment.store.transcript(SessionKey(endpoint: "voice", userId: "+4930123", sessionId: "call-2"))
            #expect(entries.count == 1)
            #expect(entries.first?.entry.contains(#""speaker":"customer""#) == true)
        }
    }

    @Test func aJambonzTranscriptionHookMapsToTheCallAndItsSpeakers() async throws {
        try await withDeployment { deployment, _ in
            let hook: JSONValue = [
                "call_sid": "9f1c-call", "from": "+4930123", "to": "+4940999", "direction": "inbound",
                "speech": ["is_final": true, "channel_tag": 2, "alternatives": [["transcript": "Thank you for calling Acme", "confidence": 0.93]]],
            ]
            #expect(try await HTTP.post("\(deployment.base)/\(TestDeployment.voiceToken)", hook.canonicalJSON).status == 202)
            #expect(await waitForState(deployment, session: "9f1c-call") { $0["transcript"]?.arrayValue?.isEmpty == false })
            let agent = try await state(deployment, session: "9f1c-call")
            #expect(agent["transcript"] == [["speaker": "agent", "text": "Thank you for calling Acme"]])

            var customer = hook.objectValue ?? [:]
            customer["speech"] = ["is_final": false, "channel_tag": 1, "alternatives": [["transcript": "hi I"]]]
            #expect(try await HTTP.post("\(deployment.base)/\(TestDeployment.voiceToken)", JSONValue.object(customer).canonicalJSON).status == 202)
            #expect(await waitForState(deployment, session: "9f1c-call") { $0["interim"]?["customer"] == "hi I" })
        }
        // Outbound calls: the user is the called party and channel 1 (the caller) is the agent.
        let outbound = try VoiceUtterance(
            body: Array(
                #"{"call_sid":"c2","from":"+49100","to":"+49200","direction":"outbound","speech":{"is_final":true,"channel_tag":1,"alternatives":[{"transcript":"Hello"}]}}"#
                    .utf8
            )
        )
        #expect(outbound == VoiceUtterance(userId: "+49200", sessionId: "c2", text: "Hello", speaker: "agent", final: true, data: ["callSid": "c2"]))
    }

    @Test func voiceRequestsAreValidatedLikeTheWebhookEndpoint() async throws {
        try await withDeployment { deployment, _ in
            let url = "\(deployment.base)/\(TestDeployment.voiceToken)"
            #expect(try await HTTP.post(url, #"{"userId":"u","sessionId":"s","text":"hi","speaker":"robot"}"#).errorCode == "invalid_field")
            #expect(try await HTTP.post(url, #"{"userId":"u","sessionId":"s","speaker":"agent"}"#).errorCode == "invalid_field")
            #expect(try await HTTP.post(url, #"{"userId":"u","sessionId":"s","text":" ","speaker":"agent"}"#).errorCode == "missing_text_or_data")
            #expect(try await HTTP.post(url, #"{"call_sid":"c","from":"x","speech":{"alternatives":[]}}"#).errorCode == "invalid_field")
            #expect(try await HTTP.post(url, "nope").errorCode == "invalid_json")
            let unknown = try await HTTP.send(
                .get,
                "\(deployment.base)/copilot/state?userId=u&sessionId=s&URLToken=\(String(repeating: "f", count: 64))"
            )
            #expect(unknown.status == 404)
            #expect(unknown.errorCode == "unknown_endpoint")
            // Every endpoint keeps a workspace (DESIGN §5.5): a chat session's is empty until a copilot node runs.
            let chat = try await HTTP.send(.get, "\(deployment.base)/copilot/state?userId=u&sessionId=s&URLToken=\(TestDeployment.webhookToken)", headers: TestDeployment.agent)
            #expect(chat.status == 200)
            #expect(chat.json?["tiles"] == .object([:]))
        }
    }

    @Test func theEventStreamSendsTheStateThenEveryChange() async throws {
        try await withDeployment { deployment, _ in
            var request = HTTPClientRequest(
                url: "\(deployment.base)/copilot/events?userId=%2B4930123&sessionId=call-3&URLToken=\(TestDeployment.voiceToken)"
            )
            request.method = .GET
            request.headers.add(name: "Authorization", value: "Bearer \(TestDeployment.adminToken)")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            #expect(response.status.code == 200)
            #expect(response.headers.first(name: "content-type") == "text/event-stream")
            var events: [JSONValue] = []
            var pending = ""
            var sent = false
            for try await buffer in response.body {
                pending += String(buffer: buffer)
                while let end = pending.range(of: "\n\n") {
                    let block = String(pending[..<end.lowerBound])
                    pending = String(pending[end.upperBound...])
                    guard let line = block.split(separator: "\n").first(where: { $0.hasPrefix("data: ") }) else { continue }
                    events.append(try JSONValue.parse(String(line.dropFirst(6))))
                }
                if events.count == 1, !sent {
                    sent = true
                    #expect(events[0] == ["grid": nil, "tiles": [:], "transcript": [], "interim": [:]])
                    #expect(try await say(deployment, "hello there", session: "call-3").status == 202)
                }
                if events.last?["tiles"]?["sentiment"] != nil { break }
            }
            #expect(events.count >= 2)
            #expect(events.last?["transcript"] == [["speaker": "customer", "text": "hello there"]])
        }
        // The watcher is gone once the stream ends.
    }
}

@Suite struct WorkspaceTests {
    @Test func tilesOutsideTheGridAreKeptAndFlagged() {
        var workspace = Workspace()
        workspace.apply(TileUpdate(tile: "early", type: "nextAction", fields: ["text": "Say hello"]), at: "t1")
        #expect(workspace.tiles["early"]?["unknown"] == nil)
        workspace.apply(
            TileUpdate(
                tile: nil,
                type: "setGrid",
                fields: ["grid": ["grid": ["columns": 2, "rows": 1, "gap": 4], "tiles": ["main": ["x": 1, "y": 1, "rows": 1, "columns": 2]]]]
            ),
            at: "t2"
        )
        #expect(workspace.tiles["early"]?["unknown"] == true)
        workspace.apply(TileUpdate(tile: "main", type: "html", fields: ["html": "<b>hi</b>", "data": ["a": 1]]), at: "t3")
        workspace.apply(TileUpdate(tile: "main", type: "sendData", fields: ["data": ["b": 2]]), at: "t4")
        #expect(workspace.tiles["main"] == ["type": "html", "html": "<b>hi</b>", "data": ["a": 1, "b": 2], "updatedAt": "t4"])
        workspace.hear("partial", speaker: "agent", final: false)
        workspace.hear("partial words", speaker: "agent", final: true)
        #expect(workspace.transcript == [["speaker": "agent", "text": "partial words"]])
        #expect(workspace.interim.isEmpty)
        #expect(Workspace(json: workspace.json) == workspace)
    }
}
