import Foundation
import ParleyEngine
import ParleyFlows
import ParleyRuntime
import ParleySQLite
import ParleyStore
import ParleyTestSupport

// A child process for the crash tests (Tests/ParleyRuntimeTests/CrashTests.swift): accepts inputs, runs them
// through the runtime on a SQLite file and "delivers" the outbox, and kills itself with SIGKILL at the K-th
// time it passes a named point: `accepted`, `turn`, `committed` or `delivering`.
//
// usage: parley-crash-drill DB FLOWS --accept N [--crash-at POINT --crash-after K]
// Prints "accepted TRACEID" for every acknowledged input, and "done" at the end.

let arguments = Array(CommandLine.arguments.dropFirst())
@MainActor func option(_ name: String) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: parley-crash-drill DB FLOWS --accept N [--crash-at POINT --crash-after K]\n".utf8))
    exit(2)
}
let database = arguments[0]
let flowsFolder = arguments[1]
let acceptCount = Int(option("--accept") ?? "0") ?? 0
let crashPoint = option("--crash-at")
let crashAfter = Int(option("--crash-after") ?? "0") ?? 0

final class Failpoint: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    let point: String?
    let after: Int

    init(point: String?, after: Int) {
        self.point = point
        self.after = after
    }

    func pass(_ name: String) {
        guard name == point else { return }
        let reached = lock.withLock {
            count += 1
            return count == after
        }
        if reached { kill(getpid(), SIGKILL) }
    }
}

struct Echo: OutputRouter {
    func deliveries(for outcome: TurnOutcome) -> [Delivery] {
        outcome.turn.outputs.map { Delivery(destination: .webhook, body: ["text": .string($0.text ?? "")]) }
    }
}

func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

let failpoint = Failpoint(point: crashPoint, after: crashAfter)
let loaded = FlowLoader().load(paths: [flowsFolder])
guard let flows = loaded.flowSet else {
    FileHandle.standardError.write(Data("flows do not load\n".utf8))
    exit(2)
}
let store = try SQLiteStore(path: database)
let endpoint = Endpoint(name: "drill", kind: .webhook, urlToken: String(repeating: "d", count: 64), flow: "order-status")
let runtime = Runtime(
    store: store,
    flows: flows,
    endpoints: [endpoint],
    router: Echo(),
    settings: Runtime.Settings(failpoint: { failpoint.pass($0) }, effects: SampleOrders())
)

let script = ["hi", "AB123456", "yes", "CD654321", "no", "hello", "x", "y", "z"]
for index in 0..<acceptCount {
    let session = "s\(index % 4)"
    let text = script[(index / 4) % script.count]
    let entry = try await runtime.accept(
        InboxRequest(endpoint: "drill", userId: "u-\(session)", sessionId: session, payload: InboxPayload(text: text, channel: "webhook"))
    )
    say("accepted \(entry.traceId)")
}
await runtime.processPending()
while true {
    let due = try await store.dueMessages(now: Date().addingTimeInterval(3600), limit: 50)
    if due.isEmpty { break }
    for message in due {
        failpoint.pass("delivering")
        try await store.markDelivered(id: message.id!, at: Date())
    }
}
say("done")
