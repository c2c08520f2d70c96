import Foundation
import ParleyFlows
import ParleySQLite
import ParleyStore
import ParleyTestSupport
import Synchronization
import Testing

/// `parley serve` as a process: kill -9 under load, graceful shutdown, hot reload, keys from the CLI.
@Suite(.serialized) struct ServeProcessTests {
    static let binary: URL = {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("parley")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/parley")
    }()

    /// A running `parley serve`.
    final class Server: Sendable {
        let process: Process
        let port: Int
        let errors: Collected

        init(process: Process, port: Int, errors: Collected) {
            self.process = process
            self.port = port
            self.errors = errors
        }

        var base: String { "http://127.0.0.1:\(port)" }

        static func start(
            folder: URL,
            arguments: [String] = [],
            logLevel: String? = nil,
            environment: [String: String] = [:]
        ) async throws -> Server {
            // With PARLEY_TEST_LOG_DIR (scripts/test sets it), every server logs at debug level into a file there,
            // which Tests/security/check-logs.sh then searches for secrets.
            let logDirectory = ProcessInfo.processInfo.environment["PARLEY_TEST_LOG_DIR"]
            let logLevel = logLevel ?? (logDirectory == nil ? "error" : "debug")
            let logFile = logDirectory.flatMap { directory -> FileHandle? in
                let path = "\(directory)/serve-\(UUID().uuidString).log"
                FileManager.default.createFile(atPath: path, contents: nil)
                return FileHandle(forWritingAtPath: path)
            }
            let process = Process()
            process.executableURL = ServeProcessTests.binary
            process.arguments = ["serve", "--config", folder.appendingPathComponent("parley.yaml").path, "--log-level", logLevel] + arguments
            if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
            process.currentDirectoryURL = folder
            let pipe = Pipe()
            process.standardError = pipe
            process.standardOutput = FileHandle.nullDevice
            let errors = Collected()
            let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
            pipe.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                if data.isEmpty {
                    handle.readabilityHandler = nil
                    try? logFile?.close()
                    continuation.finish()
                    return
                }
                logFile?.write(data)
                let text = String(decoding: data, as: UTF8.self)
                let all = errors.text.withLock {
                    $0 += text
                    return $0
                }
                if let range = all.range(of: "on http://127.0.0.1:"),
                    let port = Int(all[range.upperBound...].prefix(while: \.isNumber))
                {
                    continuation.yield(port)
                }
            }
            try process.run()
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else {
                throw TestDeployment.DeploymentError(message: "parley serve did not start: \(errors.text.withLock { $0 })")
            }
            return Server(process: process, port: port, errors: errors)
        }

        func kill9() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        func terminate() -> Int32 {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
            return process.terminationStatus
        }

        func signal(_ number: Int32) { kill(process.processIdentifier, number) }
    }

    @Test func everyAcceptedRequestIsDeliveredAfterKillNine() async throws {
        let receiver = try await WebhookReceiver.start()
        let folder = try TestDeployment.prepare(receiverPort: receiver.port)
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try await Server.start(folder: folder)
        let url = "\(first.base)/\(TestDeployment.webhookToken)"
        let accepted = TraceIds()
        // Load from several sessions; the server is killed while requests are in flight.
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for session in 0..<8 {
                    group.addTask {
                        for index in 0..<40 {
                            guard let answer = try? await HTTP.post(url, HTTP.message(session: "k\(session)", text: "\(index)")) else { return }
                            if answer.status == 202, let traceId = answer.json?["traceId"]?.stringValue {
                                accepted.ids.withLock { $0.append(traceId) }
                            }
                        }
                    }
                }
            }
        }
        #expect(await waitUntil { accepted.ids.withLock { $0.count } >= 60 })
        first.kill9()
        await load.value
        let acknowledged = accepted.ids.withLock { $0 }
        #expect(acknowledged.count >= 60)

        let second = try await Server.start(folder: folder)
        // Every 202 produces its output (the echo flow answers each input once): idempotency key TRACEID-1.
        let delivered = await receiver.waitUntil { requests in
            let keys = Set(requests.filter { $0.status == 200 }.compactMap { $0.headers["idempotency-key"] })
            return acknowledged.allSatisfy { keys.contains("\($0)-1") }
        }
        #expect(delivered, "not every acknowledged request was delivered after the restart")
        // Per session, the outputs that arrived are in request order (duplicates allowed: at least once).
        let requests = await receiver.requests.filter { $0.status == 200 }
        for session in 0..<8 {
            var seen: [Int] = []
            for request in requests where request.session == "k\(session)" {
                if let number = Int((request.text ?? "").replacingOccurrences(of: "echo: ", with: "")), !seen.contains(number) { seen.append(number) }
            }
            #expect(seen == seen.sorted(), "session k\(session) delivered out of order: \(seen)")
        }
        #expect(second.terminate() == 0)
        await receiver.stop()
    }

    @Test func sigtermFinishesAndKeepsUndeliveredMessagesForTheNextStart() async throws {
        let receiver = try await WebhookReceiver.start(script: { _ in WebhookReceiver.Reply(status: 503) })
        let folder = try TestDeployment.prepare(receiverPort: receiver.port)
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try await Server.start(folder: folder)
        let answer = try await HTTP.post("\(first.base)/\(TestDeployment.webhookToken)", HTTP.message(session: "g", text: "keep me"))
        #expect(answer.status == 202)
        #expect(await receiver.waitUntil { !$0.isEmpty })
        #expect(first.terminate() == 0)

        await receiver.answer { _ in .ok }
        let second = try await Server.start(folder: folder)
        #expect(await receiver.waitUntil { $0.contains { $0.status == 200 && $0.text == "echo: keep me" } })
        #expect(second.terminate() == 0)
        await receiver.stop()
    }

    @Test func sighupReloadsValidFlowsAndKeepsServingWhenTheyAreInvalid() async throws {
        let receiver = try await WebhookReceiver.start()
        let folder = try TestDeployment.prepare(receiverPort: receiver.port)
        defer { try? FileManager.default.removeItem(at: folder) }
        let server = try await Server.start(folder: folder)
        let url = "\(server.base)/\(TestDeployment.webhookToken)"
        let echo = folder.appendingPathComponent("flows/echo.yaml")
        try await Task.sleep(for: .milliseconds(300))  // the SIGHUP handler is installed while the server starts

        try "flow: echo\nnodes:\n  say:\n    sya: broken\n".write(to: echo, atomically: true, encoding: .utf8)
        server.signal(SIGHUP)
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await HTTP.post(url, HTTP.message(session: "a", text: "one")).status == 202)
        #expect(await receiver.waitUntil { $0.contains { $0.text == "echo: one" } })

        try TestFlows.echo.replacingOccurrences(of: "echo: ", with: "v2: ").write(to: echo, atomically: true, encoding: .utf8)
        let v2 = try #require(FlowLoader().load(paths: [echo.deletingLastPathComponent().path]).flowSet).contentHash
        server.signal(SIGHUP)
        let reloaded = await waitUntil {
            (try? await HTTP.send(.get, "\(server.base)/ready"))?.json?["flowHash"]?.stringValue == v2
        }
        #expect(reloaded)
        // A new session runs on the new flows; the session that started before keeps its version.
        #expect(try await HTTP.post(url, HTTP.message(session: "b", text: "two")).status == 202)
        #expect(try await HTTP.post(url, HTTP.message(session: "a", text: "three")).status == 202)
        #expect(await receiver.waitUntil { $0.contains { $0.text == "v2: two" } && $0.contains { $0.session == "a" && $0.text == "echo: three" } })
        #expect(server.terminate() == 0)
        await receiver.stop()
    }

    /// A reload used to accept a flow set without an endpoint's flow, and every new input of that endpoint then
    /// failed and was retried every second, forever. Now the reload is refused, counted, and the old flows serve.
    @Test func aReloadThatDropsAnEndpointsFlowIsRefused() async throws {
        let receiver = try await WebhookReceiver.start()
        let folder = try TestDeployment.prepare(receiverPort: receiver.port)
        defer { try? FileManager.default.removeItem(at: folder) }
        let server = try await Server.start(folder: folder)
        let url = "\(server.base)/\(TestDeployment.webhookToken)"
        let before = try #require(try await HTTP.send(.get, "\(server.base)/ready").json?["flowHash"])
        try await Task.sleep(for: .milliseconds(300))  // the SIGHUP handler is installed while the server starts

        // A valid flow set, but the endpoints 'web', 'rest', 'keyed' and 'off' name the flow 'echo'.
        let echo = folder.appendingPathComponent("flows/echo.yaml")
        try TestFlows.echo.replacingOccurrences(of: "flow: echo", with: "flow: echo-renamed").write(to: echo, atomically: true, encoding: .utf8)
        server.signal(SIGHUP)
        let counted = await waitUntil {
            (try? await HTTP.send(.get, "\(server.base)/metrics"))?.body.contains(#"parley_flow_reloads_total{outcome="rejected"} 1"#) == true
        }
        #expect(counted)
        #expect(try await HTTP.send(.get, "\(server.base)/ready").json?["flowHash"] == before)
        #expect(try await HTTP.send(.get, "\(server.base)/metrics").body.contains(#"parley_flow_reloads_total{outcome="applied"} 0"#))
        #expect(try await HTTP.post(url, HTTP.message(session: "r1", text: "still here")).status == 202)
        #expect(await receiver.waitUntil { $0.contains { $0.text == "echo: still here" } })
        #expect(server.errors.text.withLock { $0 }.contains("names flow 'echo', which is not in"))
        #expect(server.terminate() == 0)
        await receiver.stop()
    }

    @Test func keysCreatedUsedAndRevoked() async throws {
        let receiver = try await WebhookReceiver.start()
        let folder = try TestDeployment.prepare(receiverPort: receiver.port)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("parley.yaml").path
        let created = try run(["keys", "create", "--endpoint", "keyed", "--name", "crm", "--config", config])
        #expect(created.status == 0)
        let key = try #require(created.stdout.split(separator: "\n").first { $0.hasPrefix("key: ") }.map { String($0.dropFirst(5)) })
        let id = try #require(created.stdout.split(separator: "\n").first { $0.hasPrefix("id: ") }.map { String($0.dropFirst(4)) })
        #expect(key.hasPrefix("pk_"))
        let listed = try run(["keys", "list", "--endpoint", "keyed", "--config", config])
        #expect(listed.stdout.contains("\(id)\tcrm\t\(key.prefix(9))…"))
        #expect(!listed.stdout.contains(key))
        // The store keeps the hash only.
        let database = try Data(contentsOf: folder.appendingPathComponent("parley.sqlite"))
        #expect(database.range(of: Data(key.utf8)) == nil)

        let server = try await Server.start(folder: folder)
        let url = "\(server.base)/\(TestDeployment.keyedToken)"
        let withKey = ["Content-Type": "application/json", "X-Webhook-Key": key]
        #expect(try await HTTP.post(url, HTTP.message(session: "k", text: "hi"), headers: withKey).status == 202)

        // The admin API creates, lists and revokes too.
        let admin = ["Authorization": "Bearer \(TestDeployment.adminToken)", "Content-Type": "application/json"]
        let made = try await HTTP.post("\(server.base)/api/v1/endpoints/keyed/keys", #"{"name":"web"}"#, headers: admin)
        #expect(made.status == 201)
        let second = try #require(made.json?["key"]?.stringValue)
        #expect(made.json?["keyPreview"]?.stringValue == String(second.prefix(9)) + "…")
        #expect(made.json?["name"] == "web")
        let keys = try await HTTP.send(.get, "\(server.base)/api/v1/endpoints/keyed/keys", headers: admin)
        #expect(keys.json?["keys"]?.arrayValue?.count == 2)
        #expect(!keys.body.contains(second))
        #expect(try await HTTP.send(.get, "\(server.base)/api/v1/endpoints/keyed/keys").status == 401)
        #expect(try await HTTP.send(.get, "\(server.base)/api/v1/endpoints/keyed/keys", headers: ["Authorization": "Bearer wrong"]).status == 401)
        #expect(try await HTTP.send(.get, "\(server.base)/api/v1/endpoints/nope/keys", headers: admin).errorCode == "unknown_endpoint")

        let revoked = try run(["keys", "revoke", "--endpoint", "keyed", "--id", id, "--config", config])
        #expect(revoked.status == 0)
        let rejected = try await HTTP.post(url, HTTP.message(session: "k", text: "again"), headers: withKey)
        #expect(rejected.status == 401)
        #expect(rejected.errorCode == "invalid_api_key")
        let secondId = try #require(made.json?["id"]?.stringValue)
        #expect(try await HTTP.send(.delete, "\(server.base)/api/v1/endpoints/keyed/keys/\(secondId)", headers: admin).status == 204)
        #expect(try await HTTP.send(.delete, "\(server.base)/api/v1/endpoints/keyed/keys/\(secondId)", headers: admin).errorCode == "unknown_key")
        #expect(
            try await HTTP.post(url, HTTP.message(session: "k", text: "x"), headers: ["Content-Type": "application/json", "X-Webhook-Key": second])
                .status == 401
        )
        #expect(server.terminate() == 0)
        await receiver.stop()
    }

    @Test func adminSessionsAndOutbox() async throws {
        let receiver = try await WebhookReceiver.start(script: { request in WebhookReceiver.Reply(status: request.path == "/hook" ? 400 : 200) })
        let folder = try TestDeployment.prepare(receiverPort: receiver.port)
        defer { try? FileManager.default.removeItem(at: folder) }
        let server = try await Server.start(folder: folder)
        let admin = ["Authorization": "Bearer \(TestDeployment.adminToken)", "Content-Type": "application/json"]
        #expect(try await HTTP.post("\(server.base)/\(TestDeployment.webhookToken)", HTTP.message(session: "adm", text: "hello")).status == 202)
        // 400 from the receiver: a dead letter.
        #expect(
            await waitUntil {
                (try? await HTTP.send(.get, "\(server.base)/api/v1/outbox?status=dead", headers: admin).json?["messages"]?.arrayValue?.count) == 1
            }
        )
        let dead = try await HTTP.send(.get, "\(server.base)/api/v1/outbox?status=dead", headers: admin)
        #expect(!dead.body.contains("echo: hello"))
        let sessions = try await HTTP.send(.get, "\(server.base)/api/v1/sessions?endpoint=web", headers: admin)
        #expect(sessions.json?["sessions"]?.arrayValue?.first?["sessionId"] == "adm")
        let session = try await HTTP.send(.get, "\(server.base)/api/v1/sessions/web/u1/adm", headers: admin)
        #expect(session.json?["state"]?["executionCount"] == 1)
        let transcript = try await HTTP.send(.get, "\(server.base)/api/v1/sessions/web/u1/adm/transcript", headers: admin)
        #expect(transcript.headers["content-type"] == "application/x-ndjson")
        #expect(transcript.body.split(separator: "\n").count == 2)
        #expect(try await HTTP.send(.get, "\(server.base)/api/v1/sessions/web/u1/none", headers: admin).errorCode == "unknown_session")

        // The CLI sees the same dead letter, without its body.
        let config = folder.appendingPathComponent("parley.yaml").path
        let listed = try run(["outbox", "list", "--status", "dead", "--config", config])
        #expect(listed.status == 0)
        #expect(listed.stdout.contains("dead"))
        #expect(listed.stdout.contains("web/u1/adm"))
        #expect(!listed.stdout.contains("echo: hello"))
        #expect(try run(["outbox", "retry", "--config", config]).status == 2)

        await receiver.answer { _ in .ok }
        let retried = try await HTTP.post("\(server.base)/api/v1/outbox/retry", "{}", headers: admin)
        #expect(retried.json == ["retried": 1])
        #expect(await receiver.waitUntil { $0.contains { $0.status == 200 && $0.text == "echo: hello" } })
        #expect(try run(["outbox", "list", "--status", "dead", "--config", config]).stdout == "no messages\n")
        #expect(server.terminate() == 0)
        await receiver.stop()
    }

    @Test func deadInputsAndErasureFromTheCommandLine() async throws {
        let folder = try TestDeployment.prepare(receiverPort: 9)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("parley.yaml").path
        let store = try SQLiteStore(path: folder.appendingPathComponent("parley.sqlite").path)
        let key = SessionKey(endpoint: "web", userId: "u1", sessionId: "p1")
        let poisoned = try await store.accept(
            InboxEntry(traceId: "poison-1", key: key, kind: "message", payload: #"{"text":"SECRET-PAYLOAD""#, acceptedAt: Date())
        )
        let id = try #require(poisoned.id)
        try await store.failInput(id: id, attempts: 5, error: "the input's payload does not parse", at: Date(), retryAt: nil)
        let gone = SessionKey(endpoint: "web", userId: "gone", sessionId: "g1")
        let turn = try await store.accept(InboxEntry(traceId: "t-gone", key: gone, kind: "message", payload: "{}", acceptedAt: Date()))
        try await store.commit(
            TurnCommit(
                inboxId: try #require(turn.id),
                session: StoredSession(key: gone, state: "{}", flowHash: "h", updatedAt: Date()),
                profile: #"{"name":"Gone"}"#,
                transcript: TranscriptRecord(key: gone, turn: 1, traceId: "t-gone", entry: "{}", redacted: false, createdAt: Date())
            )
        )
        try store.close()

        let listed = try run(["inbox", "list", "--config", config])
        #expect(listed.status == 0)
        #expect(listed.stdout.hasPrefix("\(id)\tdead\t5 attempts\tweb/u1/p1\tmessage\tpoison-1\taccepted "))
        #expect(listed.stdout.contains("the input's payload does not parse"))
        #expect(!listed.stdout.contains("SECRET-PAYLOAD"))
        #expect(try run(["inbox", "retry", "--config", config]).status == 2)
        #expect(try run(["inbox", "retry", "--all", "--id", "\(id)", "--config", config]).status == 2)
        let retried = try run(["inbox", "retry", "--id", "\(id)", "--config", config])
        #expect(retried.stdout == "1 dead input queued again\n")
        #expect(try run(["inbox", "list", "--config", config]).stdout == "no dead inputs\n")
        #expect(try run(["inbox", "list", "--status", "pending", "--config", config]).stdout.contains("\(id)\tpending\t0 attempts"))

        let erased = try run(["sessions", "erase", "--user", "gone", "--config", config])
        #expect(erased.status == 0)
        #expect(try JSONValue.parse(erased.stdout) == ["profiles": 1, "sessions": 1, "transcripts": 1, "inbox": 1, "outbox": 0])
        #expect(try run(["sessions", "show", "--endpoint", "web", "--user", "gone", "--session", "g1", "--config", config]).status != 0)
    }

    @Test func badConfigurationAndInvalidFlowsStopTheStart() throws {
        let folder = try TestDeployment.prepare(receiverPort: 9)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("parley.yaml")
        let text = try String(contentsOf: config, encoding: .utf8)
        try text.replacingOccurrences(of: "flows: flows", with: "flows: flows\nflowz: x").write(to: config, atomically: true, encoding: .utf8)
        let bad = try run(["serve", "--config", config.path])
        #expect(bad.status == 2)
        #expect(bad.stderr.hasSuffix("parley.yaml:4:1: unknown key 'flowz'; did you mean 'flows'?\n"))
        #expect(!bad.stderr.contains("Error:"))

        try text.write(to: config, atomically: true, encoding: .utf8)
        try "flow: echo\nnodes:\n  say:\n    sya: x\n".write(to: folder.appendingPathComponent("flows/echo.yaml"), atomically: true, encoding: .utf8)
        let invalid = try run(["serve", "--config", config.path])
        #expect(invalid.status == 1)
        #expect(invalid.stderr.contains("echo.yaml:4:5: error: unknown node kind 'sya'; did you mean 'say'?"))
    }

    /// Trace ids of accepted requests.
    final class TraceIds: Sendable {
        let ids = Mutex<[String]>([])
    }

    /// Standard error collected from a child process.
    final class Collected: Sendable {
        let text = Mutex("")
    }

    private func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try Self.parley(arguments)
    }

    /// Runs the `parley` command line to its end, with `environment` added to this process's.
    static func parley(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }
}
