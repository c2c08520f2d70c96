import Foundation
import ParleyStore
import Testing

/// Builders for the records the conformance suite stores, and the millisecond rounding it compares dates with.
enum Fixture {
    /// A fixed instant on a whole second; tests place events relative to it.
    static let t0 = Date(timeIntervalSince1970: 1_750_000_000)

    static func time(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    static func key(_ session: String, user: String = "u1", endpoint: String = "web") -> SessionKey {
        SessionKey(endpoint: endpoint, userId: user, sessionId: session)
    }

    static func input(_ key: SessionKey, trace: String, payload: String = #"{"text":"hi"}"#, at: Date = t0) -> InboxEntry {
        InboxEntry(traceId: trace, key: key, kind: "message", payload: payload, acceptedAt: at)
    }

    static func message(
        _ key: SessionKey,
        _ name: String,
        at: Date = t0,
        due: Date? = nil,
        sensitive: Bool = false,
        payload: String? = nil
    ) -> OutgoingMessage {
        OutgoingMessage(
            idempotencyKey: "idem-\(name)",
            key: key,
            destination: "webhook",
            payload: payload ?? #"{"text":"\#(name)"}"#,
            createdAt: at,
            nextAttemptAt: due,
            sensitive: sensitive
        )
    }

    static func session(_ key: SessionKey, state: String, at: Date = t0, flowHash: String = "hash-1") -> StoredSession {
        StoredSession(key: key, state: state, flowHash: flowHash, updatedAt: at)
    }

    static func transcript(_ key: SessionKey, turn: Int, redacted: Bool = false, at: Date = t0) -> TranscriptRecord {
        TranscriptRecord(key: key, turn: turn, traceId: "trace-\(turn)", entry: #"{"turn":\#(turn)}"#, redacted: redacted, createdAt: at)
    }
}

extension Store {
    /// Accepts an input for `key` and commits a turn for it that writes `state` and enqueues `messages`: the only way
    /// messages enter the outbox.
    @discardableResult
    func runTurn(
        _ key: SessionKey,
        state: String = "{}",
        at: Date = Fixture.t0,
        transcriptTurn: Int? = nil,
        profile: String? = nil,
        messages: [OutgoingMessage] = [],
        workspace: String? = nil
    ) async throws -> InboxEntry {
        let entry = try await accept(Fixture.input(key, trace: "trace-\(UUID().uuidString)", at: at))
        let id = try #require(entry.id)
        try await commit(
            TurnCommit(
                inboxId: id,
                session: Fixture.session(key, state: state, at: at),
                profile: profile,
                transcript: transcriptTurn.map { Fixture.transcript(key, turn: $0, at: at) },
                messages: messages,
                workspace: workspace
            )
        )
        return entry
    }
}

// Rounds a record's dates to the millisecond, the precision every backend keeps.

extension Date {
    var roundedToMillisecond: Date { Date(timeIntervalSince1970: (timeIntervalSince1970 * 1000).rounded() / 1000) }
    var milliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
}

extension InboxEntry {
    var normalized: InboxEntry {
        var copy = self
        copy.acceptedAt = acceptedAt.roundedToMillisecond
        return copy
    }
}

extension StoredSession {
    var normalized: StoredSession {
        var copy = self
        copy.updatedAt = updatedAt.roundedToMillisecond
        return copy
    }
}

extension TranscriptRecord {
    var normalized: TranscriptRecord {
        var copy = self
        copy.createdAt = createdAt.roundedToMillisecond
        return copy
    }
}

extension OutgoingMessage {
    var normalized: OutgoingMessage {
        var copy = self
        copy.createdAt = createdAt.roundedToMillisecond
        copy.nextAttemptAt = nextAttemptAt.roundedToMillisecond
        return copy
    }
}

extension FlowVersion {
    var normalized: FlowVersion {
        var copy = self
        copy.createdAt = createdAt.roundedToMillisecond
        return copy
    }
}

extension APIKeyRecord {
    var normalized: APIKeyRecord {
        var copy = self
        copy.createdAt = createdAt.roundedToMillisecond
        copy.revokedAt = revokedAt?.roundedToMillisecond
        return copy
    }
}
