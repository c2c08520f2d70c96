import Foundation
import ParleyStore
import Testing

/// Claims on sessions and messages (DESIGN §6, *Many instances*): what lets several instances share one store.
@Suite("Store conformance: claims and leases")
struct ClaimConformanceTests {
    @Test(arguments: StoreBackends.all)
    func aClaimedSessionIsNobodyElses(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let (s1, s2, s3) = (Fixture.key("s1"), Fixture.key("s2"), Fixture.key("s3"))
            let a1 = try await store.accept(Fixture.input(s1, trace: "a1"))
            let b1 = try await store.accept(Fixture.input(s2, trace: "b1"))
            let a2 = try await store.accept(Fixture.input(s1, trace: "a2"))
            let c1 = try await store.accept(Fixture.input(s3, trace: "c1"))
            let until = Fixture.time(30)

            let first = try await store.claimInbox(owner: "A", now: Fixture.t0, until: until, sessions: 2, inputsPerSession: 10)
            #expect(first.map { $0.map(\.id) } == [[a1.id, a2.id], [b1.id]])
            // Sessions A holds are not offered to B; the one left is.
            let second = try await store.claimInbox(owner: "B", now: Fixture.t0, until: until, sessions: 10, inputsPerSession: 10)
            #expect(second.map { $0.map(\.id) } == [[c1.id]])
            #expect(try await store.claimInbox(owner: "B", now: Fixture.time(1), until: until, sessions: 10, inputsPerSession: 10).isEmpty)
            // Sessions an owner holds are running: claiming again does not offer them, to the owner either.
            #expect(try await store.claimInbox(owner: "A", now: Fixture.time(1), until: until, sessions: 10, inputsPerSession: 10).isEmpty)
            // Given up (as a restarted instance does with its previous claims), they are claimable at once, and at
            // most inputsPerSession of each come back.
            try await store.renewInboxClaims(owner: "A", until: Date(timeIntervalSince1970: 0))
            let again = try await store.claimInbox(owner: "A", now: Fixture.time(1), until: until, sessions: 10, inputsPerSession: 1)
            #expect(again.map { $0.map(\.id) } == [[a1.id], [b1.id]])
        }
    }

    /// Issue 25: under a webhook backlog a REST endpoint's turns waited 13-27 s in arrival order. Endpoints take
    /// turns: each claim offers the oldest due session of every endpoint before the second of any.
    @Test(arguments: StoreBackends.all)
    func endpointsTakeTurnsWhenSessionsAreClaimed(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            for index in 0..<6 { _ = try await store.accept(Fixture.input(Fixture.key("w\(index)"), trace: "w\(index)")) }
            let rest = try await store.accept(Fixture.input(Fixture.key("r0", endpoint: "rest"), trace: "r0"))
            let voice = try await store.accept(Fixture.input(Fixture.key("v0", endpoint: "voice"), trace: "v0"))
            let claimed = try await store.claimInbox(owner: "A", now: Fixture.t0, until: Fixture.time(30), sessions: 3, inputsPerSession: 10)
            let endpoints = Set(claimed.compactMap { $0.first?.key.endpoint })
            #expect(endpoints == ["web", "rest", "voice"], "\(claimed.map { $0.map(\.traceId) })")
            #expect(claimed.flatMap { $0.map(\.id) }.contains(rest.id))
            #expect(claimed.flatMap { $0.map(\.id) }.contains(voice.id))
            // The rest of the web backlog follows, oldest first.
            let next = try await store.claimInbox(owner: "A", now: Fixture.t0, until: Fixture.time(30), sessions: 2, inputsPerSession: 10)
            #expect(next.map { $0.map(\.traceId) } == [["w1"], ["w2"]])
        }
    }

    @Test(arguments: StoreBackends.all)
    func anExpiredClaimIsTakenOverAndTheOldOwnersCommitIsRefused(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let key = Fixture.key("s1")
            let entry = try await store.accept(Fixture.input(key, trace: "t1"))
            let id = try #require(entry.id)
            _ = try await store.claimInbox(owner: "A", now: Fixture.t0, until: Fixture.time(30), sessions: 1, inputsPerSession: 10)
            #expect(try await store.claimInbox(owner: "B", now: Fixture.time(29), until: Fixture.time(60), sessions: 1, inputsPerSession: 10).isEmpty)

            // A stopped renewing: once its lease has passed, B takes the session over.
            let taken = try await store.claimInbox(owner: "B", now: Fixture.time(31), until: Fixture.time(61), sessions: 1, inputsPerSession: 10)
            #expect(taken.map { $0.map(\.id) } == [[id]])
            var late = TurnCommit(inboxId: id, session: Fixture.session(key, state: #"{"by":"A"}"#))
            late.owner = "A"
            await #expect(throws: StoreError.claimLost(key, owner: "A")) { try await store.commit(late) }
            #expect(try await store.session(key) == nil)
            #expect(try await store.pendingInbox(limit: 10).map(\.id) == [id])

            var current = TurnCommit(inboxId: id, session: Fixture.session(key, state: #"{"by":"B"}"#))
            current.owner = "B"
            try await store.commit(current)
            #expect(try await store.session(key)?.state == #"{"by":"B"}"#)
            await #expect(throws: StoreError.alreadyProcessed(id)) { try await store.commit(late) }
        }
    }

    @Test(arguments: StoreBackends.all)
    func renewingKeepsAClaimAndReleasingGivesItBack(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let key = Fixture.key("s1")
            let entry = try await store.accept(Fixture.input(key, trace: "t1"))
            _ = try await store.claimInbox(owner: "A", now: Fixture.t0, until: Fixture.time(30), sessions: 1, inputsPerSession: 10)
            try await store.renewInboxClaims(owner: "A", until: Fixture.time(100))
            #expect(try await store.claimInbox(owner: "B", now: Fixture.time(50), until: Fixture.time(80), sessions: 1, inputsPerSession: 10).isEmpty)

            // Only the owner can release a claim.
            try await store.releaseInboxClaim(owner: "B", session: key)
            #expect(try await store.claimInbox(owner: "B", now: Fixture.time(50), until: Fixture.time(80), sessions: 1, inputsPerSession: 10).isEmpty)
            try await store.releaseInboxClaim(owner: "A", session: key)
            let claimed = try await store.claimInbox(owner: "B", now: Fixture.time(50), until: Fixture.time(80), sessions: 1, inputsPerSession: 10)
            #expect(claimed.map { $0.map(\.id) } == [[entry.id]])
        }
    }

    @Test(arguments: StoreBackends.all)
    func renewingNamedSessionsLetsTheOwnersOtherClaimsLapse(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let a = Fixture.key("a")
            let b = Fixture.key("b")
            _ = try await store.accept(Fixture.input(a, trace: "ta"))
            let lost = try await store.accept(Fixture.input(b, trace: "tb"))
            let claimed = try await store.claimInbox(owner: "A", now: Fixture.t0, until: Fixture.time(30), sessions: 2, inputsPerSession: 10)
            #expect(claimed.count == 2)
            // A runs only a (the answer naming b never reached it): renewing what it runs lets b's claim lapse.
            try await store.renewInboxClaims(owner: "A", sessions: [a], until: Fixture.time(100))
            try await store.renewInboxClaims(owner: "B", sessions: [b], until: Fixture.time(100))
            let taken = try await store.claimInbox(owner: "B", now: Fixture.time(31), until: Fixture.time(61), sessions: 2, inputsPerSession: 10)
            #expect(taken.map { $0.map(\.id) } == [[lost.id]])
        }
    }

    @Test(arguments: StoreBackends.all)
    func concurrentClaimsNeverShareASession(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            for index in 0..<40 {
                _ = try await store.accept(Fixture.input(Fixture.key("s\(index)"), trace: "t\(index)"))
            }
            let owners = (0..<4).map { "owner-\($0)" }
            let claims = try await withThrowingTaskGroup(of: [SessionKey].self) { group in
                for owner in owners {
                    group.addTask {
                        var mine: [SessionKey] = []
                        for _ in 0..<5 {
                            let batch = try await store.claimInbox(
                                owner: owner,
                                now: Fixture.t0,
                                until: Fixture.time(30),
                                sessions: 3,
                                inputsPerSession: 10
                            )
                            mine += batch.compactMap(\.first?.key)
                        }
                        return Array(Set(mine))
                    }
                }
                return try await group.reduce(into: [[SessionKey]]()) { $0.append($1) }
            }
            let all = claims.flatMap { $0 }
            #expect(all.count == Set(all).count)
            #expect(all.count <= 40)
        }
    }

    @Test(arguments: StoreBackends.all)
    func anInputWaitingForItsRetryHoldsItsSessionAndNotOthers(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let (s1, s2) = (Fixture.key("s1"), Fixture.key("s2"))
            let first = try await store.accept(Fixture.input(s1, trace: "a1"))
            let second = try await store.accept(Fixture.input(s1, trace: "a2"))
            let other = try await store.accept(Fixture.input(s2, trace: "b1"))
            let id = try #require(first.id)
            try await store.failInput(id: id, attempts: 1, error: "the stored session no longer decodes", at: Fixture.t0, retryAt: Fixture.time(60))

            let early = try await store.claimInbox(owner: "A", now: Fixture.time(10), until: Fixture.time(40), sessions: 10, inputsPerSession: 10)
            #expect(early.map { $0.map(\.id) } == [[other.id]])
            try await store.releaseInboxClaim(owner: "A", session: s2)

            let due = try await store.claimInbox(owner: "A", now: Fixture.time(60), until: Fixture.time(90), sessions: 10, inputsPerSession: 10)
            #expect(due.map { $0.map(\.id) } == [[first.id, second.id], [other.id]])
            let retried = try #require(due.first?.first)
            #expect(retried.attempts == 1)
            #expect(retried.lastError == "the stored session no longer decodes")
            #expect(retried.status == .pending)
        }
    }

    @Test(arguments: StoreBackends.all)
    func aDeadInputLetsItsSessionGoOnAndCanBeRetried(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let key = Fixture.key("s1")
            let first = try await store.accept(Fixture.input(key, trace: "a1"))
            let second = try await store.accept(Fixture.input(key, trace: "a2"))
            let id = try #require(first.id)
            try await store.failInput(id: id, attempts: 5, error: "payload does not parse", at: Fixture.time(5), retryAt: nil)

            let dead = try await store.inputs(status: .dead, limit: 10)
            #expect(dead.map(\.id) == [id])
            #expect(dead.first?.attempts == 5)
            #expect(dead.first?.lastError == "payload does not parse")
            #expect(dead.first?.status == .dead)
            #expect(try await store.countInputs(status: .dead) == 1)
            #expect(try await store.countInputs(status: .pending) == 1)
            // A dead input fails no more: committing it is refused as already done.
            await #expect(throws: StoreError.alreadyProcessed(id)) {
                try await store.commit(TurnCommit(inboxId: id, session: Fixture.session(key, state: "{}")))
            }

            let claimed = try await store.claimInbox(owner: "A", now: Fixture.time(6), until: Fixture.time(36), sessions: 10, inputsPerSession: 10)
            #expect(claimed.map { $0.map(\.id) } == [[second.id]])
            try await store.commit(TurnCommit(inboxId: try #require(second.id), session: Fixture.session(key, state: "{}"), owner: "A"))
            try await store.releaseInboxClaim(owner: "A", session: key)
            #expect(try await store.countInputs(status: .processed) == 1)

            // Retrying ignores ids that are not dead, and brings the dead one back with no attempts.
            #expect(try await store.retryDeadInputs(ids: [try #require(second.id), 9_999], now: Fixture.time(7)) == 0)
            #expect(try await store.retryDeadInputs(ids: [id], now: Fixture.time(7)) == 1)
            #expect(try await store.retryDeadInputs(ids: [], now: Fixture.time(7)) == 0)
            let revived = try await store.claimInbox(owner: "A", now: Fixture.time(7), until: Fixture.time(37), sessions: 10, inputsPerSession: 10)
            #expect(revived.map { $0.map(\.id) } == [[id]])
            #expect(revived.first?.first?.attempts == 0)
            #expect(try await store.countInputs(status: .dead) == 0)

            try await store.failInput(id: id, attempts: 1, error: "again", at: Fixture.time(8), retryAt: nil)
            #expect(try await store.retryDeadInputs(ids: nil, now: Fixture.time(9)) == 1)
        }
    }

    @Test(arguments: StoreBackends.all)
    func aClaimedMessageIsSentByOneOwnerUntilItsLeaseEnds(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let (s1, s2) = (Fixture.key("s1"), Fixture.key("s2"))
            try await store.runTurn(s1, messages: [Fixture.message(s1, "m1"), Fixture.message(s1, "m2")])
            try await store.runTurn(s2, messages: [Fixture.message(s2, "m3")])

            let mine = try await store.claimMessages(owner: "A", now: Fixture.t0, until: Fixture.time(30), limit: 10)
            #expect(mine.map(\.idempotencyKey) == ["idem-m1", "idem-m3"])
            #expect(try await store.claimMessages(owner: "B", now: Fixture.time(10), until: Fixture.time(40), limit: 10).isEmpty)
            // Inspection still sees every session's head, whoever holds it.
            #expect(try await store.dueMessages(now: Fixture.time(10), limit: 10).map(\.idempotencyKey) == ["idem-m1", "idem-m3"])

            // Recording an outcome releases the claim: s1's next message is anyone's.
            try await store.markDelivered(id: try #require(mine.first?.id), at: Fixture.time(11))
            let next = try await store.claimMessages(owner: "B", now: Fixture.time(12), until: Fixture.time(42), limit: 10)
            #expect(next.map(\.idempotencyKey) == ["idem-m2"])

            // A never recorded m3: after its lease B takes it over.
            let takenOver = try await store.claimMessages(owner: "B", now: Fixture.time(31), until: Fixture.time(61), limit: 10)
            #expect(takenOver.map(\.idempotencyKey) == ["idem-m2", "idem-m3"])
        }
    }

    @Test(arguments: StoreBackends.all)
    func publishedFlowsAreSharedAndTheLatestWins(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            #expect(try await store.publishedFlows() == nil)
            try await store.saveFlowVersion(FlowVersion(hash: "h1", files: ["a.yaml": "x"], createdAt: Fixture.t0))
            try await store.saveFlowVersion(FlowVersion(hash: "h2", files: ["a.yaml": "y"], createdAt: Fixture.time(1)))
            try await store.publishFlows(hash: "h1", at: Fixture.t0)
            #expect(try await store.publishedFlows() == "h1")
            try await store.publishFlows(hash: "h2", at: Fixture.time(2))
            #expect(try await store.publishedFlows() == "h2")
            try await store.publishFlows(hash: "h1", at: Fixture.time(3))
            #expect(try await store.publishedFlows() == "h1")
        }
    }
}
