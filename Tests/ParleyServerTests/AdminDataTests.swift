import Foundation
import ParleyFlows
import ParleySQLite
import ParleyStore
import ParleyTestSupport
import Testing

/// The admin routes for dead inputs (DESIGN §6, *Poison inputs*) and data subject erasure (DESIGN §5.6), against
/// the real server.
@Suite struct AdminDataTests {
    private let admin = ["Authorization": "Bearer \(TestDeployment.adminToken)", "Content-Type": "application/json"]

    /// Polls for about twenty seconds until `condition` holds.
    private func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<200 {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    @Test func erasingAUserRemovesTheirConversationEverywhereAndCountsIt() async throws {
        try await TestDeployment.with { deployment, receiver in
            let webhook = "\(deployment.base)/\(TestDeployment.webhookToken)"
            for text in ["one", "two"] {
                #expect(try await HTTP.post(webhook, HTTP.message(user: "erase-me", session: "e1", text: text)).status == 202)
            }
            #expect(try await HTTP.post(webhook, HTTP.message(user: "keep-me", session: "k1", text: "stay")).status == 202)
            #expect(await receiver.waitUntil { $0.filter { $0.status == 200 }.count == 3 })

            let url = "\(deployment.base)/api/v1/users/erase-me"
            #expect(try await HTTP.send(.delete, url).status == 401)
            let erased = try await HTTP.send(.delete, url, headers: admin)
            #expect(erased.status == 200)
            #expect(erased.json == ["profiles": 0, "sessions": 1, "transcripts": 2, "inbox": 2, "outbox": 2])
            let gone = try await HTTP.send(.get, "\(deployment.base)/api/v1/sessions/web/erase-me/e1", headers: admin)
            #expect(gone.status == 404)
            let kept = try await HTTP.send(.get, "\(deployment.base)/api/v1/sessions/web/keep-me/k1", headers: admin)
            #expect(kept.status == 200)
            #expect(
                try await HTTP.send(.delete, url, headers: admin).json == ["profiles": 0, "sessions": 0, "transcripts": 0, "inbox": 0, "outbox": 0]
            )

            // A percent-encoded id names the user it decodes to; control characters are refused.
            #expect(try await HTTP.send(.delete, "\(deployment.base)/api/v1/users/a%20b", headers: admin).status == 200)
            let control = try await HTTP.send(.delete, "\(deployment.base)/api/v1/users/a%01b", headers: admin)
            #expect(control.status == 400)
            #expect(control.errorCode == "invalid_field")
        }
    }

    @Test func aDeadInputIsListedWithItsReasonAndCanBeRetried() async throws {
        try await TestDeployment.with { deployment, receiver in
            // An input whose payload no longer parses, as a damaged row or an incompatible version would leave it.
            let key = SessionKey(endpoint: "web", userId: "u1", sessionId: "p1")
            let bad = try await deployment.store.accept(
                InboxEntry(traceId: "poison-1", key: key, kind: "message", payload: "{not json", acceptedAt: Date())
            )
            #expect(
                try await HTTP.post("\(deployment.base)/\(TestDeployment.webhookToken)", HTTP.message(session: "p1", text: "after")).status == 202
            )
            let list = "\(deployment.base)/api/v1/inbox"
            #expect(try await eventually { try await HTTP.send(.get, list, headers: admin).json?["inputs"]?.arrayValue?.count == 1 })
            let inputs = try #require(try await HTTP.send(.get, list, headers: admin).json?["inputs"]?.arrayValue)
            let dead = try #require(inputs.first)
            #expect(dead["id"]?.integer() == bad.id.map(Int.init))
            #expect(dead["status"] == "dead")
            #expect(dead["attempts"] == 2)
            #expect(dead["traceId"] == "poison-1")
            #expect(dead["lastError"]?.stringValue?.contains("does not parse") == true)
            #expect(dead["payload"] == nil)
            // The session's next input was not held back for good.
            #expect(await receiver.waitUntil { $0.contains { $0.text == "echo: after" } })

            #expect(try await HTTP.send(.get, "\(list)?status=processed", headers: admin).json?["inputs"]?.arrayValue?.count == 1)
            let wrong = try await HTTP.send(.get, "\(list)?status=bogus", headers: admin)
            #expect(wrong.status == 400)
            #expect(wrong.errorCode == "invalid_field")
            #expect(try await HTTP.send(.get, list).status == 401)

            let retry = "\(deployment.base)/api/v1/inbox/retry"
            #expect(try await HTTP.post(retry, #"{"ids":[1e300]}"#, headers: admin).errorCode == "invalid_field")
            #expect(try await HTTP.post(retry, #"{"ids":[\#(try #require(bad.id))]}"#, headers: admin).json == ["retried": 1])
            // Retried, it fails again (the payload still does not parse) and is dead again, with fresh attempts.
            #expect(try await eventually { try await deployment.store.inputs(status: .dead, limit: 10).first?.attempts == 2 })
            #expect(try await HTTP.post(retry, "", headers: admin).json == ["retried": 1])
        }
    }
}
