import Foundation
import ParleySQLite
import ParleyStore

// The outbox drain rate against the backlog (issue 25): a receiver back from an outage must drain at full speed
// however much waits. Fills a SQLite store, then delivers `live` messages through the store calls the delivery loop
// makes (nextDueDate, claimMessages of 64, markDelivered of each, concurrently as the loop's deliveries are), and
// prints the rate. usage: parley-outbox-bench FOLDER BACKLOG LIVE paused|live
//   paused: BACKLOG messages wait behind a paused endpoint; LIVE messages of another endpoint are drained
//   live:   BACKLOG messages wait on the endpoint being drained; the first LIVE of them are drained

let arguments = CommandLine.arguments
guard arguments.count == 5, let backlog = Int(arguments[2]), let live = Int(arguments[3]), ["paused", "live"].contains(arguments[4]) else {
    FileHandle.standardError.write(Data("usage: parley-outbox-bench FOLDER BACKLOG LIVE paused|live\n".utf8))
    exit(2)
}
let folder = arguments[1]
let mode = arguments[4]
try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
let store = try SQLiteStore(path: "\(folder)/outbox-\(mode)-\(backlog).sqlite")
let start = Date(timeIntervalSince1970: 1_767_225_600)

/// Queues `count` messages of `endpoint`, five per session, in commits of 5,000.
func fill(endpoint: String, count: Int, prefix: String) async throws {
    var queued = 0
    var turn = 0
    while queued < count {
        let batch = min(5000, count - queued)
        let key = SessionKey(endpoint: endpoint, userId: "\(prefix)-filler", sessionId: "\(turn)")
        let entry = try await store.accept(InboxEntry(traceId: "\(prefix)-\(turn)", key: key, kind: "message", payload: "{}", acceptedAt: start))
        let messages = (0..<batch).map { index in
            let number = queued + index
            return OutgoingMessage(
                idempotencyKey: "\(prefix)-\(number)",
                key: SessionKey(endpoint: endpoint, userId: "u\(number / 5)", sessionId: "s\(number / 5)"),
                destination: "webhook",
                payload: String(repeating: "z", count: 200),
                createdAt: start.addingTimeInterval(Double(number) / 1000)
            )
        }
        guard let id = entry.id else { fatalError("the store gave the entry no id") }
        try await store.commit(
            TurnCommit(inboxId: id, session: StoredSession(key: key, state: "{}", flowHash: "h", updatedAt: start), messages: messages)
        )
        queued += batch
        turn += 1
    }
}

if mode == "paused" {
    try await fill(endpoint: "paused", count: backlog, prefix: "p")
    _ = try await store.pauseEndpoint("paused", reason: "gone: 410", at: start)
    try await fill(endpoint: "live", count: live, prefix: "l")
} else {
    try await fill(endpoint: "live", count: backlog, prefix: "l")
}

let now = start.addingTimeInterval(86_400)
let clock = ContinuousClock()
let began = clock.now
var delivered = 0
var passes = 0
while delivered < live {
    _ = try await store.nextDueDate()
    let claimed = try await store.claimMessages(owner: "bench", now: now, until: now.addingTimeInterval(60), limit: 64, excluding: [])
    guard !claimed.isEmpty else { break }
    passes += 1
    try await withThrowingTaskGroup(of: Void.self) { group in
        for message in claimed.prefix(live - delivered) {
            guard let id = message.id else { continue }
            group.addTask { try await store.markDelivered(id: id, at: now) }
        }
        try await group.waitForAll()
    }
    delivered += min(claimed.count, live - delivered)
}
let elapsed = clock.now - began
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
guard delivered == live else {
    FileHandle.standardError.write(Data("drained \(delivered) of \(live) messages\n".utf8))
    exit(1)
}
let pending = try await store.countMessages(status: .pending)
print("\(mode) backlog=\(backlog) drained=\(delivered) passes=\(passes) pending after=\(pending) seconds=\(String(format: "%.2f", seconds)) delivered/s=\(Int(Double(delivered) / seconds))")
try store.close()
