import Foundation
import ParleyStore
import Testing

@Suite("Store conformance: paused endpoints and claims by endpoint")
struct PauseConformanceTests {
    private func keys(_ messages: [OutgoingMessage]) -> [String] { messages.map(\.idempotencyKey) }

    @Test(arguments: StoreBackends.all)
    func aPausedEndpointsMessagesAreKeptButNotOffered(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let a = Fixture.key("a")
            let other = Fixture.key("b", endpoint: "other")
            try await store.runTurn(a, messages: [Fixture.message(a, "a1"), Fixture.message(a, "a2")])
            try await store.runTurn(other, messages: [Fixture.message(other, "b1", due: Fixture.time(5))])

            #expect(try await store.pauseEndpoint("web", reason: "gone: 410", at: Fixture.time(1)))
            #expect(try await !store.pauseEndpoint("web", reason: "admin", at: Fixture.time(2)), "already paused: the first pause stays")
            #expect(try await store.pausedEndpoints() == [EndpointPause(endpoint: "web", reason: "gone: 410", pausedAt: Fixture.time(1))])

            #expect(keys(try await store.dueMessages(now: Fixture.time(10), limit: 10)) == ["idem-b1"])
            #expect(keys(try await store.claimMessages(owner: "A", now: Fixture.time(10), until: Fixture.time(40), limit: 10)) == ["idem-b1"])
            #expect(try await store.nextDueDate() == Fixture.time(5), "a paused endpoint's due messages do not make the loop spin")
            #expect(try await store.countMessages(status: .pending) == 3, "nothing is dropped")

            // Resumed 100 s later: offered again in order, and the 99 s paused do not count towards their age.
            #expect(try await store.resumeEndpoint("web", at: Fixture.time(100)))
            #expect(try await !store.resumeEndpoint("web", at: Fixture.time(101)))
            #expect(try await store.pausedEndpoints().isEmpty)
            let offered = try await store.dueMessages(now: Fixture.time(100), limit: 10)
            #expect(keys(offered) == ["idem-a1", "idem-b1"])
            #expect(offered.first?.pausedSeconds == 99)
            #expect(offered.first?.age(at: Fixture.time(100)) == 1)
            let later = try await store.messages(status: .pending, limit: 10).first { $0.idempotencyKey == "idem-a2" }
            #expect(later?.pausedSeconds == 99)
        }
    }

    @Test(arguments: StoreBackends.all)
    func aClaimLeavesOutTheEndpointsItExcludes(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let keysA = (0..<5).map { Fixture.key("a\($0)", endpoint: "busy") }
            for key in keysA { try await store.runTurn(key, messages: [Fixture.message(key, key.sessionId)]) }
            let quiet = Fixture.key("q", endpoint: "quiet")
            try await store.runTurn(quiet, messages: [Fixture.message(quiet, "q1")])

            // The busy endpoint's five older messages would fill a claim of two; excluded, they leave room.
            let claimed = try await store.claimMessages(owner: "A", now: Fixture.t0, until: Fixture.time(30), limit: 2, excluding: ["busy"])
            #expect(keys(claimed) == ["idem-q1"])
            let rest = try await store.claimMessages(owner: "A", now: Fixture.t0, until: Fixture.time(30), limit: 2, excluding: ["quiet"])
            #expect(keys(rest) == ["idem-a0", "idem-a1"])
        }
    }

    @Test(arguments: StoreBackends.all)
    func releasedClaimsCanBeTakenByAnotherOwnerAtOnce(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            for session in ["a", "b"] {
                let key = Fixture.key(session)
                try await store.runTurn(key, messages: [Fixture.message(key, session)])
            }
            let mine = try await store.claimMessages(owner: "A", now: Fixture.t0, until: Fixture.time(30), limit: 10)
            #expect(keys(mine) == ["idem-a", "idem-b"])
            let b = try #require(mine.last?.id)
            try await store.releaseMessageClaims(owner: "B", ids: [b])
            #expect(
                try await store.claimMessages(owner: "B", now: Fixture.time(1), until: Fixture.time(31), limit: 10).isEmpty,
                "B held nothing to release"
            )
            try await store.releaseMessageClaims(owner: "A", ids: [b])
            #expect(keys(try await store.claimMessages(owner: "B", now: Fixture.time(1), until: Fixture.time(31), limit: 10)) == ["idem-b"])
        }
    }

    @Test(arguments: StoreBackends.all)
    func aRetriedDeadLetterStartsItsAgeAgain(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let a = Fixture.key("a")
            try await store.runTurn(a, messages: [Fixture.message(a, "a1")])
            let id = try #require(try await store.messages(status: .pending, limit: 1).first?.id)
            try await store.markDead(id: id, attempts: 3, error: "expired: not delivered within 1 min", at: Fixture.time(70))
            #expect(try await store.retryDead(ids: [id], now: Fixture.time(500)) == 1)
            let revived = try #require(try await store.messages(status: .pending, limit: 1).first)
            #expect(revived.age(at: Fixture.time(500)) == 0, "an operator's retry gets a whole expiry window")
            #expect(revived.createdAt == Fixture.t0)
        }
    }
}
