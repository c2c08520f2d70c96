import Foundation
import ParleyStore
import Testing

/// Retention (DESIGN §6) and data subject erasure (DESIGN §5.6).
@Suite("Store conformance: retention and erasure")
struct RetentionConformanceTests {
    /// Every cutoff at the same date.
    private static func cutoffs(_ date: Date) -> RetentionCutoffs {
        RetentionCutoffs(transcripts: date, delivered: date, inbox: date, dead: date, sessions: date)
    }

    @Test(arguments: StoreBackends.all)
    func pruningRemovesOnlyOldRowsInBatches(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            // Five old sessions with a processed input, a transcript entry and a delivered message each ...
            for index in 0..<5 {
                let key = Fixture.key("old\(index)")
                try await store.runTurn(key, at: Fixture.t0, transcriptTurn: 1, messages: [Fixture.message(key, "old\(index)")])
            }
            for message in try await store.messages(status: .pending, limit: 10) {
                try await store.markDelivered(id: try #require(message.id), at: Fixture.t0)
            }
            // ... an old dead input and dead letter, a recent session, and work still pending.
            let doomed = try await store.accept(Fixture.input(Fixture.key("dead"), trace: "dead", at: Fixture.t0))
            try await store.failInput(id: try #require(doomed.id), attempts: 5, error: "x", at: Fixture.t0, retryAt: nil)
            let recent = Fixture.key("recent")
            try await store.runTurn(
                recent,
                at: Fixture.time(100),
                transcriptTurn: 1,
                messages: [Fixture.message(recent, "recent", at: Fixture.time(100))]
            )
            let letter = try #require(try await store.messages(status: .pending, limit: 1).first?.id)
            try await store.markDead(id: letter, attempts: 3, error: "400", at: Fixture.t0)
            let waiting = Fixture.key("waiting")
            _ = try await store.accept(Fixture.input(waiting, trace: "waiting", at: Fixture.t0))

            let cutoffs = Self.cutoffs(Fixture.time(50))
            let first = try await store.prune(cutoffs, limit: 2)
            #expect(first.inbox == 2 && first.transcripts == 2 && first.delivered == 2 && first.sessions == 2)
            #expect(first.deadInputs == 1 && first.deadMessages == 1)
            #expect(first.largest == 2)
            let second = try await store.prune(cutoffs, limit: 2)
            #expect(second.inbox == 2 && second.transcripts == 2 && second.delivered == 2 && second.sessions == 2)
            let third = try await store.prune(cutoffs, limit: 2)
            #expect(third.inbox == 1 && third.transcripts == 1 && third.delivered == 1 && third.sessions == 1)
            #expect(try await store.prune(cutoffs, limit: 2) == PruneCounts())

            // What is recent or still to do stays.
            #expect(try await store.session(recent) != nil)
            #expect(try await store.transcript(recent).count == 1)
            #expect(try await store.countInputs(status: .processed) == 1)
            #expect(try await store.pendingInbox(limit: 10).map(\.key) == [waiting])
            #expect(try await store.countMessages(status: .delivered) == 0)
            #expect(try await store.countMessages(status: .dead) == 0)
            #expect(try await store.countInputs(status: .dead) == 0)
            #expect(try await store.session(Fixture.key("old0")) == nil)
            #expect(try await store.transcript(Fixture.key("old0")).isEmpty)
        }
    }

    @Test(arguments: StoreBackends.all)
    func aPruneWithALimitOfZeroRemovesNothing(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            try await store.runTurn(Fixture.key("s1"), at: Fixture.t0, transcriptTurn: 1)
            #expect(try await store.prune(Self.cutoffs(Fixture.time(50)), limit: 0) == PruneCounts())
            #expect(try await store.session(Fixture.key("s1")) != nil)
        }
    }

    @Test(arguments: StoreBackends.all)
    func erasingAUserRemovesEverythingOfTheirsOnEveryEndpointAndCountsIt(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let web = Fixture.key("s1", user: "alice", endpoint: "web")
            let voice = Fixture.key("s2", user: "alice", endpoint: "voice")
            let bob = Fixture.key("s1", user: "bob", endpoint: "web")
            try await store.runTurn(web, transcriptTurn: 1, profile: #"{"name":"Alice"}"#, messages: [Fixture.message(web, "w1")])
            try await store.runTurn(
                voice,
                transcriptTurn: 1,
                messages: [Fixture.message(voice, "v1"), Fixture.message(voice, "v2")],
                workspace: "{}"
            )
            _ = try await store.accept(Fixture.input(web, trace: "still-pending"))
            try await store.runTurn(bob, transcriptTurn: 1, profile: #"{"name":"Bob"}"#, messages: [Fixture.message(bob, "b1")])

            let counts = try await store.eraseUser("alice")
            #expect(counts == ErasureCounts(profiles: 1, sessions: 2, transcripts: 2, inbox: 3, outbox: 3))
            #expect(try await store.session(web) == nil)
            #expect(try await store.session(voice) == nil)
            #expect(try await store.workspace(voice) == nil)
            #expect(try await store.profile(userId: "alice") == nil)
            #expect(try await store.transcript(web).isEmpty)
            #expect(try await store.pendingInbox(limit: 10).isEmpty)
            #expect(try await store.messages(status: .pending, limit: 10).map(\.key) == [bob])

            // Bob is untouched, and erasing again finds nothing.
            #expect(try await store.profile(userId: "bob") == #"{"name":"Bob"}"#)
            #expect(try await store.transcript(bob).count == 1)
            #expect(try await store.eraseUser("alice") == ErasureCounts())
        }
    }
}
