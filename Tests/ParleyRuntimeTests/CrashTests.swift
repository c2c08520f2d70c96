import Foundation
import ParleyFlows
import ParleyRuntime
import ParleySQLite
import ParleyStore
import Testing

/// Kills a child process that runs the runtime (`parley-crash-drill`) with SIGKILL at random points — after an
/// accept, inside a turn, after a commit, during delivery — then restarts it on the same database and checks
/// that every acknowledged input was processed exactly once and no outgoing message was lost.
@Suite(.serialized) struct CrashTests {
    static let drill: URL = {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("parley-crash-drill")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return RuntimeFixtures.repositoryRoot.appendingPathComponent(".build/debug/parley-crash-drill")
    }()

    struct Run {
        var status: Int32
        var signal: Bool
        var accepted: [String]
        var done: Bool
    }

    static func run(database: String, arguments: [String]) throws -> Run {
        let process = Process()
        process.executableURL = drill
        process.arguments = [database, RuntimeFixtures.repositoryRoot.appendingPathComponent("Flows").path] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        return Run(
            status: process.terminationStatus,
            signal: process.terminationReason == .uncaughtSignal,
            accepted: lines.filter { $0.hasPrefix("accepted ") }.map { String($0.dropFirst("accepted ".count)) },
            done: lines.contains("done")
        )
    }

    static let points = ["accepted", "turn", "committed", "delivering"]

    @Test(arguments: points)
    func everyAcknowledgedInputRunsExactlyOnceAfterAKill(point: String) async throws {
        var random = SystemRandomNumberGenerator()
        for _ in 0..<2 {
            let inputs = 24
            let crashAfter = Int.random(in: 1...inputs, using: &random)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parley-crash-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let database = folder.appendingPathComponent("parley.sqlite").path

            let crashed = try Self.run(
                database: database,
                arguments: ["--accept", "\(inputs)", "--crash-at", point, "--crash-after", "\(crashAfter)"]
            )
            #expect(crashed.signal, "the drill was meant to die at \(point) #\(crashAfter)")
            #expect(!crashed.done)

            // Before the restart: what was committed is there, with its messages pending or delivered.
            let before = try SQLiteStore(path: database)
            let committedBefore = try await committedTraceIds(before)
            let messagesBefore = try await allMessages(before)
            try before.close()
            #expect(Set(messagesBefore.map(\.idempotencyKey)).count == messagesBefore.count)

            let recovered = try Self.run(database: database, arguments: [])
            #expect(recovered.status == 0 && recovered.done, "recovery after \(point) #\(crashAfter)")

            let store = try SQLiteStore(path: database)
            #expect(try await store.pendingInbox(limit: 1000).isEmpty)
            let committed = try await committedTraceIds(store)
            // Exactly once: every acknowledged input has one transcript entry, and no input has two.
            #expect(Set(committed).count == committed.count, "an input ran twice after \(point) #\(crashAfter)")
            #expect(Set(crashed.accepted).isSubset(of: Set(committed)), "an acknowledged input was lost after \(point) #\(crashAfter)")
            #expect(Set(committedBefore).isSubset(of: Set(committed)))
            // Turns of each session are contiguous and in acceptance order.
            for session in ["s0", "s1", "s2", "s3"] {
                let entries = try await RuntimeFixtures.transcript(store, SessionKey(endpoint: "drill", userId: "u-\(session)", sessionId: session))
                #expect(entries.map(\.turn) == Array(1..<(entries.count + 1)))
                let order = entries.map(\.traceId)
                let accepted = crashed.accepted.filter(order.contains)
                #expect(accepted == order.filter(accepted.contains), "session \(session) ran out of order")
            }
            // Nothing lost: one message per output, all delivered after recovery; none of the earlier ones vanished.
            let messages = try await allMessages(store)
            let outputs = try await totalOutputs(store)
            #expect(messages.count == outputs)
            #expect(messages.allSatisfy { $0.status == .delivered })
            #expect(Set(messagesBefore.map(\.idempotencyKey)).isSubset(of: Set(messages.map(\.idempotencyKey))))
            try store.close()
        }
    }

    private func committedTraceIds(_ store: SQLiteStore) async throws -> [String] {
        var ids: [String] = []
        for session in ["s0", "s1", "s2", "s3"] {
            ids += try await store.transcript(SessionKey(endpoint: "drill", userId: "u-\(session)", sessionId: session)).map(\.traceId)
        }
        return ids
    }

    private func totalOutputs(_ store: SQLiteStore) async throws -> Int {
        var count = 0
        for session in ["s0", "s1", "s2", "s3"] {
            count += try await RuntimeFixtures.transcript(store, SessionKey(endpoint: "drill", userId: "u-\(session)", sessionId: session))
                .reduce(0) { $0 + $1.outputs.count }
        }
        return count
    }

    private func allMessages(_ store: SQLiteStore) async throws -> [OutgoingMessage] {
        var all: [OutgoingMessage] = []
        for status in OutgoingMessage.Status.allCases { all += try await store.messages(status: status, limit: 10_000) }
        return all.sorted { ($0.id ?? 0) < ($1.id ?? 0) }
    }
}
