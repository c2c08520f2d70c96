import Foundation
import ParleyStore
import Testing

@Suite("Store conformance: sessions, profiles, transcripts")
struct SessionConformanceTests {
    @Test(arguments: StoreBackends.all)
    func aLaterTurnReplacesTheSession(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let key = Fixture.key("s1")
            #expect(try await store.session(key) == nil)

            try await store.runTurn(key, state: #"{"step":1}"#, at: Fixture.time(1))
            #expect(try await store.session(key)?.normalized == Fixture.session(key, state: #"{"step":1}"#, at: Fixture.time(1)))

            let entry = try await store.accept(Fixture.input(key, trace: "t2"))
            let updated = Fixture.session(key, state: #"{"step":2}"#, at: Fixture.time(2), flowHash: "hash-2")
            try await store.commit(TurnCommit(inboxId: try #require(entry.id), session: updated))
            #expect(try await store.session(key)?.normalized == updated)

            // Keys differing in any one part are different sessions.
            #expect(try await store.session(Fixture.key("s1", user: "u2")) == nil)
            #expect(try await store.session(Fixture.key("s1", endpoint: "other")) == nil)
            #expect(try await store.session(Fixture.key("s2")) == nil)
        }
    }

    @Test(arguments: StoreBackends.all)
    func sessionsComeMostRecentlyUpdatedFirst(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let a = Fixture.key("a", endpoint: "web")
            let b = Fixture.key("b", endpoint: "voice")
            let c = Fixture.key("c", endpoint: "web")
            try await store.runTurn(a, state: "a1", at: Fixture.time(1))
            try await store.runTurn(b, state: "b1", at: Fixture.time(2))
            try await store.runTurn(c, state: "c1", at: Fixture.time(3))
            // A later turn of `a` moves it to the front.
            try await store.runTurn(a, state: "a2", at: Fixture.time(4))

            #expect(try await store.sessions(endpoint: nil, limit: 10).map(\.key) == [a, c, b])
            #expect(try await store.sessions(endpoint: nil, limit: 2).map(\.key) == [a, c])
            #expect(try await store.sessions(endpoint: "web", limit: 10).map(\.key) == [a, c])
            #expect(
                try await store.sessions(endpoint: "voice", limit: 10).map(\.normalized) == [Fixture.session(b, state: "b1", at: Fixture.time(2))]
            )
            #expect(try await store.sessions(endpoint: "none", limit: 10).isEmpty)
            #expect(try await store.sessions(endpoint: nil, limit: 0).isEmpty)
            #expect(try await store.sessions(endpoint: nil, limit: 10).first?.state == "a2")
        }
    }

    @Test(arguments: StoreBackends.all)
    func profilesBelongToTheUserAndSurviveTurnsThatDoNotWriteThem(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            #expect(try await store.profile(userId: "ada") == nil)
            try await store.runTurn(Fixture.key("s1", user: "ada"), profile: #"{"name":"Ada"}"#)
            try await store.runTurn(Fixture.key("s2", user: "bob"), profile: #"{"name":"Bob"}"#)
            #expect(try await store.profile(userId: "ada") == #"{"name":"Ada"}"#)

            // Another session (even on another endpoint) of the same user replaces the profile.
            try await store.runTurn(Fixture.key("s3", user: "ada", endpoint: "voice"), profile: #"{"name":"Ada L."}"#)
            #expect(try await store.profile(userId: "ada") == #"{"name":"Ada L."}"#)

            // A turn without a profile leaves it as it was.
            try await store.runTurn(Fixture.key("s1", user: "ada"), profile: nil)
            #expect(try await store.profile(userId: "ada") == #"{"name":"Ada L."}"#)
            #expect(try await store.profile(userId: "bob") == #"{"name":"Bob"}"#)
        }
    }

    @Test(arguments: StoreBackends.all)
    func aTurnsStateIsTheSessionAndItsUsersProfile(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let key = Fixture.key("s1", user: "ada")
            let empty = try await store.turnState(key)
            #expect(empty.session == nil && empty.profile == nil)

            try await store.runTurn(key, state: #"{"step":1}"#, at: Fixture.time(1), profile: #"{"name":"Ada"}"#)
            // The profile is the user's, whichever session asks; the session is the key's only.
            try await store.runTurn(Fixture.key("s2", user: "ada"), state: #"{"step":9}"#, at: Fixture.time(2), profile: nil)
            let state = try await store.turnState(key)
            #expect(state.session?.normalized == Fixture.session(key, state: #"{"step":1}"#, at: Fixture.time(1)))
            #expect(state.profile == #"{"name":"Ada"}"#)
            let other = try await store.turnState(Fixture.key("s3", user: "ada"))
            #expect(other.session == nil && other.profile == #"{"name":"Ada"}"#)
            let stranger = try await store.turnState(Fixture.key("s1", user: "bob"))
            #expect(stranger.session == nil && stranger.profile == nil)
        }
    }

    @Test(arguments: StoreBackends.all)
    func transcriptsComeInCommitOrderAndKeepTheRedactedMark(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let key = Fixture.key("s1")
            let other = Fixture.key("s2")
            // Turn 3 is followed by turn 1 of a session that expired and restarted under the same id.
            let records = [
                Fixture.transcript(key, turn: 1, at: Fixture.time(1)),
                Fixture.transcript(key, turn: 2, redacted: true, at: Fixture.time(2)),
                Fixture.transcript(key, turn: 3, at: Fixture.time(3)),
                TranscriptRecord(key: key, turn: 1, traceId: "trace-restart", entry: #"{"turn":1}"#, redacted: false, createdAt: Fixture.time(4)),
            ]
            // Interleaved with another session's turns.
            for record in records {
                let entry = try await store.accept(Fixture.input(key, trace: record.traceId))
                try await store.commit(
                    TurnCommit(inboxId: try #require(entry.id), session: Fixture.session(key, state: "{}"), transcript: record)
                )
                try await store.runTurn(other, transcriptTurn: record.turn == 1 && record.traceId != "trace-1" ? 4 : record.turn)
            }

            let stored = try await store.transcript(key)
            #expect(stored.map(\.normalized) == records)
            #expect(stored.map(\.redacted) == [false, true, false, false])
            #expect(try await store.transcript(other).map(\.turn) == [1, 2, 3, 4])
            #expect(try await store.transcript(Fixture.key("none")).isEmpty)
        }
    }

    @Test(arguments: StoreBackends.all)
    func workspacesAreWrittenByTheCommitThatChangesThem(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let key = Fixture.key("call-1", endpoint: "voice")
            #expect(try await store.workspace(key) == nil)
            try await store.runTurn(key, workspace: #"{"tiles":{"a":1}}"#)
            #expect(try await store.workspace(key) == #"{"tiles":{"a":1}}"#)
            try await store.runTurn(key, workspace: #"{"tiles":{"a":2}}"#)
            // A turn that does not touch the workspace leaves it as it was.
            try await store.runTurn(key)
            #expect(try await store.workspace(key) == #"{"tiles":{"a":2}}"#)
            #expect(try await store.workspace(Fixture.key("call-2", endpoint: "voice")) == nil)
        }
    }
}
