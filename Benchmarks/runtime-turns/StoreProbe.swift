import Foundation
import ParleySQLite
import ParleyStore

/// Times the store calls a turn makes, alone, so the runtime figure can be read against them.
func probeStore(folder: String, count: Int) async throws -> (accept: Double, read: Double, commit: Double) {
    let store = try SQLiteStore(path: folder + "/probe.sqlite")
    let clock = ContinuousClock()
    var entries: [InboxEntry] = []
    var start = clock.now
    for index in 0..<count {
        entries.append(
            try await store.accept(
                InboxEntry(
                    traceId: "t\(index)",
                    key: SessionKey(endpoint: "e", userId: "u\(index)", sessionId: "s\(index)"),
                    kind: "message",
                    payload: #"{"text":"hi"}"#,
                    acceptedAt: Date()
                )
            )
        )
    }
    let accept = seconds(clock.now - start) / Double(count)
    start = clock.now
    for entry in entries {
        _ = try await store.session(entry.key)
        _ = try await store.profile(userId: entry.key.userId)
    }
    let read = seconds(clock.now - start) / Double(count)
    start = clock.now
    for entry in entries {
        try await store.commit(
            TurnCommit(
                inboxId: entry.id!,
                session: StoredSession(key: entry.key, state: String(repeating: "x", count: 300), flowHash: "h", updatedAt: Date()),
                transcript: TranscriptRecord(
                    key: entry.key,
                    turn: 1,
                    traceId: entry.traceId,
                    entry: String(repeating: "y", count: 1500),
                    redacted: false,
                    createdAt: Date()
                ),
                messages: (0..<2).map {
                    OutgoingMessage(
                        idempotencyKey: "\(entry.traceId)-\($0)",
                        key: entry.key,
                        destination: "webhook",
                        payload: String(repeating: "z", count: 200),
                        createdAt: Date()
                    )
                }
            )
        )
    }
    let commit = seconds(clock.now - start) / Double(count)
    try store.close()
    return (accept, read, commit)
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}
