import Foundation
import ParleyFlows
import ParleyPostgres
import ParleyStore
import ParleyTestSupport
import Synchronization
import Testing

/// DESIGN §6, *Many instances*: three `parley serve` processes on one PostgreSQL database share the work, and one
/// of them dies with `kill -9` under load. Runs when `PARLEY_TEST_POSTGRES_URL` names a database (`scripts/test`
/// starts one).
@Suite(.serialized, .enabled(if: TestDatabase.url != nil, "needs PARLEY_TEST_POSTGRES_URL"))
struct ClusterTests {
    private let admin = ["Authorization": "Bearer \(TestDeployment.adminToken)", "Content-Type": "application/json"]

    /// A deployment folder whose store is a fresh schema of the test database, with short leases and polls.
    private func prepare(receiverPort: Int) throws -> (folder: URL, location: PostgresLocation) {
        let folder = try TestDeployment.prepare(receiverPort: receiverPort)
        let url = try #require(TestDatabase.url)
        let schema = "cluster_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased())"
        let store = "\(url)\(url.contains("?") ? "&" : "?")schema=\(schema)&pool=8"
        let text =
            TestDeployment.configurationText(receiverPort: receiverPort)
            .replacingOccurrences(of: #"store: "sqlite:parley.sqlite""#, with: #"store: "\#(store)""#)
            + "\ncluster: { inboxLeaseSeconds: 2, outboxLeaseSeconds: 4, pollMilliseconds: 100 }\n"
        try text.write(to: folder.appendingPathComponent("parley.yaml"), atomically: true, encoding: .utf8)
        return (folder, try PostgresLocation(url: store))
    }

    /// A session's transcript through the admin API: turn, trace id and input text of each entry.
    private func transcriptEntries(_ base: String, session: String) async throws -> [(turn: Int, traceId: String, text: String)] {
        let answer = try await HTTP.send(.get, "\(base)/api/v1/sessions/web/u1/\(session)/transcript", headers: admin)
        guard answer.status == 200 else { return [] }
        return answer.body.split(separator: "\n").compactMap { text in
            guard let line = try? JSONValue.parse(String(text)), let turn = line["turn"]?.integer(), let trace = line["traceId"]?.stringValue
            else { return nil }
            return (turn, trace, line["input"]?["text"]?.stringValue ?? "")
        }
    }

    private func dropSchema(_ location: PostgresLocation) async throws {
        let store = try await PostgresStore.connect(location)
        try await store.dropSchema()
        store.close()
    }

    @Test func threeInstancesShareTheWorkAndSurviveAKillNine() async throws {
        let receiver = try await WebhookReceiver.start()
        let (folder, location) = try prepare(receiverPort: receiver.port)
        defer { try? FileManager.default.removeItem(at: folder) }
        var servers: [ServeProcessTests.Server] = []
        for _ in 0..<3 { servers.append(try await ServeProcessTests.Server.start(folder: folder)) }
        let bases = servers.map(\.base)
        let tally = Tally()

        // Six sessions, thirty messages each, each message to the next instance in turn: a session's turns are
        // accepted by all three. A sender waits for each answer before the next message, as a chat client does.
        let sessions = (0..<6).map { "c\($0)" }
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for (offset, session) in sessions.enumerated() {
                    group.addTask {
                        for number in 0..<30 {
                            var target = (number + offset) % 3
                            while !tally.alive.withLock({ $0[target] }) { target = (target + 1) % 3 }
                            let url = "\(bases[target])/\(TestDeployment.webhookToken)"
                            tally.sent.withLock { $0 += 1 }
                            // A request cut by the kill may or may not have been accepted: it is not resent, and the
                            // checks below only require what was acknowledged.
                            guard let answer = try? await HTTP.post(url, HTTP.message(session: session, text: "\(number)")),
                                answer.status == 202, let traceId = answer.json?["traceId"]?.stringValue
                            else { continue }
                            tally.accepted.withLock { $0[session, default: []].append((number, traceId)) }
                        }
                    }
                }
            }
        }
        #expect(await waitUntil { tally.sent.withLock { $0 } >= 60 })
        tally.alive.withLock { $0[1] = false }
        servers[1].kill9()
        await load.value

        let acknowledged = tally.accepted.withLock { $0 }
        let total = acknowledged.values.map(\.count).reduce(0, +)
        #expect(total >= 150, "most requests reach a live instance: \(total) of 180 acknowledged")

        // Every acknowledged input runs exactly once, in order, whichever instance accepted it, including those
        // the dead instance had claimed (taken over once their leases pass).
        let survivor = bases[2]
        for session in sessions {
            let expected = acknowledged[session] ?? []
            var transcript: [(turn: Int, traceId: String, text: String)] = []
            var complete = false
            for _ in 0..<300 where !complete {
                transcript = try await transcriptEntries(survivor, session: session)
                let traces = Set(transcript.map(\.traceId))
                complete = expected.allSatisfy { traces.contains($0.traceId) }
                if !complete { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(complete, "session \(session): not every acknowledged input ran")
            #expect(transcript.map(\.turn) == Array(0..<transcript.count).map { $0 + 1 }, "session \(session): turns are not 1...n")
            #expect(Set(transcript.map(\.traceId)).count == transcript.count, "session \(session): a turn ran twice")
            let numbers = transcript.compactMap { Int($0.text) }
            #expect(numbers == numbers.sorted() && Set(numbers).count == numbers.count, "session \(session) ran out of order: \(numbers)")
        }

        // Every acknowledged input's output is delivered (idempotency key TRACEID-1), in order per session.
        let allTraces = acknowledged.values.flatMap { $0.map(\.traceId) }
        let delivered = await receiver.waitUntil { requests in
            let keys = Set(requests.filter { $0.status == 200 }.compactMap { $0.headers["idempotency-key"] })
            return allTraces.allSatisfy { keys.contains("\($0)-1") }
        }
        #expect(delivered, "not every acknowledged input's output was delivered")
        let requests = await receiver.requests.filter { $0.status == 200 }
        for session in sessions {
            var seen: [Int] = []
            for request in requests where request.session == session {
                if let number = Int((request.text ?? "").replacingOccurrences(of: "echo: ", with: "")), !seen.contains(number) { seen.append(number) }
            }
            #expect(seen == seen.sorted(), "session \(session) delivered out of order: \(seen)")
        }

        // A key made through one instance works on the others, and its revocation too.
        let made = try await HTTP.post("\(bases[0])/api/v1/endpoints/keyed/keys", #"{"name":"crm"}"#, headers: admin)
        #expect(made.status == 201)
        let key = try #require(made.json?["key"]?.stringValue)
        let id = try #require(made.json?["id"]?.stringValue)
        let withKey = ["Content-Type": "application/json", "X-Webhook-Key": key]
        for base in [bases[0], bases[2]] {
            #expect(
                try await HTTP.post("\(base)/\(TestDeployment.keyedToken)", HTTP.message(session: "k", text: "hi"), headers: withKey).status == 202
            )
        }
        #expect(try await HTTP.send(.delete, "\(bases[2])/api/v1/endpoints/keyed/keys/\(id)", headers: admin).status == 204)
        #expect(
            try await HTTP.post("\(bases[0])/\(TestDeployment.keyedToken)", HTTP.message(session: "k", text: "x"), headers: withKey).status == 401
        )

        #expect(servers[0].terminate() == 0)
        #expect(servers[2].terminate() == 0)
        await receiver.stop()
        try await dropSchema(location)
    }

    @Test func aReloadOnOneInstanceReachesTheOthers() async throws {
        let receiver = try await WebhookReceiver.start()
        let (folder, location) = try prepare(receiverPort: receiver.port)
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try await ServeProcessTests.Server.start(folder: folder)
        let second = try await ServeProcessTests.Server.start(folder: folder)
        let url = "\(second.base)/\(TestDeployment.webhookToken)"
        #expect(try await HTTP.post(url, HTTP.message(session: "r1", text: "before")).status == 202)
        #expect(await receiver.waitUntil { $0.contains { $0.text == "echo: before" } })

        // The first instance reloads changed flows; the second starts new sessions on them without a signal.
        try TestFlows.echo.replacingOccurrences(of: "echo: ", with: "reloaded: ")
            .write(to: folder.appendingPathComponent("flows/echo.yaml"), atomically: true, encoding: .utf8)
        first.signal(SIGHUP)
        let reloaded = await waitUntil {
            guard (try? await HTTP.post(url, HTTP.message(session: "r-\(UUID().uuidString)", text: "after")))?.status == 202 else { return false }
            try? await Task.sleep(for: .milliseconds(300))
            return await receiver.requests.contains { $0.text == "reloaded: after" }
        }
        #expect(reloaded)
        #expect(first.terminate() == 0)
        #expect(second.terminate() == 0)
        await receiver.stop()
        try await dropSchema(location)
    }
}

/// What the senders of the cluster test saw.
final class Tally: Sendable {
    let alive = Mutex([true, true, true])
    let accepted = Mutex<[String: [(number: Int, traceId: String)]]>([:])
    let sent = Mutex(0)
}

/// The PostgreSQL database the tests may use, from the environment.
enum TestDatabase {
    static let url = ProcessInfo.processInfo.environment["PARLEY_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
}
