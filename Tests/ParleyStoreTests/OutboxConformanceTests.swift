import Foundation
import ParleyStore
import Testing

@Suite("Store conformance: outbox")
struct OutboxConformanceTests {
    /// Pending messages by idempotency key, to name messages in assertions.
    private func ids(_ store: any Store) async throws -> [String: Int64] {
        var ids: [String: Int64] = [:]
        for status in OutgoingMessage.Status.allCases {
            for message in try await store.messages(status: status, limit: 1000) {
                let id = try #require(message.id)
                ids[message.idempotencyKey] = id
            }
        }
        return ids
    }

    private func due(_ store: any Store, at now: Date, limit: Int = 100) async throws -> [String] {
        try await store.dueMessages(now: now, limit: limit).map(\.idempotencyKey)
    }

    @Test(arguments: StoreBackends.all)
    func dueMessagesOffersEachSessionsOldestPendingMessageOldestFirst(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let a = Fixture.key("a")
            let b = Fixture.key("b")
            try await store.runTurn(a, messages: [Fixture.message(a, "a1"), Fixture.message(a, "a2")])
            try await store.runTurn(b, messages: [Fixture.message(b, "b1")])
            try await store.runTurn(a, messages: [Fixture.message(a, "a3")])

            let offered = try await store.dueMessages(now: Fixture.t0, limit: 100)
            #expect(offered.map(\.idempotencyKey) == ["idem-a1", "idem-b1"])
            #expect(offered.map(\.normalized.withoutId) == [Fixture.message(a, "a1"), Fixture.message(b, "b1")])

            let id = try await ids(store)
            #expect(id["idem-a1"]! < id["idem-a2"]! && id["idem-a2"]! < id["idem-b1"]! && id["idem-b1"]! < id["idem-a3"]!)

            // Until a1 is delivered, a2 waits; then a2, then a3.
            try await store.markDelivered(id: id["idem-a1"]!, at: Fixture.time(1))
            #expect(try await due(store, at: Fixture.time(1)) == ["idem-a2", "idem-b1"])
            try await store.markDelivered(id: id["idem-a2"]!, at: Fixture.time(2))
            try await store.markDelivered(id: id["idem-b1"]!, at: Fixture.time(2))
            #expect(try await due(store, at: Fixture.time(2)) == ["idem-a3"])
            try await store.markDelivered(id: id["idem-a3"]!, at: Fixture.time(3))
            #expect(try await due(store, at: Fixture.time(3)).isEmpty)
        }
    }

    @Test(arguments: StoreBackends.all)
    func anEarlierMessageNotYetDueHoldsBackALaterDueOne(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let a = Fixture.key("a")
            let b = Fixture.key("b")
            try await store.runTurn(
                a,
                messages: [Fixture.message(a, "a1", due: Fixture.time(60)), Fixture.message(a, "a2", due: Fixture.time(0))]
            )
            try await store.runTurn(b, messages: [Fixture.message(b, "b1", due: Fixture.time(10))])

            #expect(try await due(store, at: Fixture.time(0)).isEmpty)
            #expect(try await due(store, at: Fixture.time(10)) == ["idem-b1"])
            #expect(try await due(store, at: Fixture.time(60)) == ["idem-a1", "idem-b1"])
            // The blocked a2, due at t0, does not count: the loop waits for b1, then for a1.
            #expect(try await store.nextDueDate()?.milliseconds == Fixture.time(10).milliseconds)
            let id = try await ids(store)
            try await store.markDelivered(id: id["idem-b1"]!, at: Fixture.time(10))
            #expect(try await store.nextDueDate()?.milliseconds == Fixture.time(60).milliseconds)
        }
    }

    @Test(arguments: StoreBackends.all)
    func aRetriedMessageKeepsItsPlaceAndHoldsBackItsSession(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let a = Fixture.key("a")
            try await store.runTurn(a, messages: [Fixture.message(a, "a1"), Fixture.message(a, "a2")])
            let id = try await ids(store)

            try await store.scheduleRetry(id: id["idem-a1"]!, attempts: 1, nextAttemptAt: Fixture.time(30), error: "HTTP 503")
            let pending = try await store.messages(status: .pending, limit: 10)
            #expect(pending.first?.attempts == 1)
            #expect(pending.first?.lastError == "HTTP 503")
            #expect(pending.first?.nextAttemptAt.milliseconds == Fixture.time(30).milliseconds)
            #expect(pending.first?.status == .pending)

            #expect(try await due(store, at: Fixture.time(29)).isEmpty)
            #expect(try await store.nextDueDate()?.milliseconds == Fixture.time(30).milliseconds)
            #expect(try await due(store, at: Fixture.time(30)) == ["idem-a1"])

            try await store.scheduleRetry(id: id["idem-a1"]!, attempts: 2, nextAttemptAt: Fixture.time(90), error: "timeout")
            let again = try #require(try await store.dueMessages(now: Fixture.time(90), limit: 10).first)
            #expect(again.idempotencyKey == "idem-a1")
            #expect(again.attempts == 2)
            #expect(again.lastError == "timeout")
        }
    }

    @Test(arguments: StoreBackends.all)
    func deadLettersDoNotHoldBackTheirSession(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let a = Fixture.key("a")
            try await store.runTurn(a, messages: [Fixture.message(a, "a1"), Fixture.message(a, "a2")])
            let id = try await ids(store)

            try await store.markDead(id: id["idem-a1"]!, attempts: 3, error: "HTTP 404", at: Fixture.t0)
            #expect(try await due(store, at: Fixture.t0) == ["idem-a2"])
            let dead = try await store.messages(status: .dead, limit: 10)
            #expect(dead.map(\.idempotencyKey) == ["idem-a1"])
            #expect(dead.first?.attempts == 3)
            #expect(dead.first?.lastError == "HTTP 404")
            #expect(dead.first?.status == .dead)
            #expect(try await store.messages(status: .pending, limit: 10).map(\.idempotencyKey) == ["idem-a2"])
        }
    }

    @Test(arguments: StoreBackends.all)
    func dueMessagesHonoursTheLimit(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            for name in ["a", "b", "c"] {
                let key = Fixture.key(name)
                try await store.runTurn(key, messages: [Fixture.message(key, "\(name)1"), Fixture.message(key, "\(name)2")])
            }
            #expect(try await due(store, at: Fixture.t0, limit: 2) == ["idem-a1", "idem-b1"])
            #expect(try await due(store, at: Fixture.t0, limit: 10) == ["idem-a1", "idem-b1", "idem-c1"])
            #expect(try await due(store, at: Fixture.t0, limit: 0).isEmpty)
            #expect(try await store.messages(status: .pending, limit: 4).map(\.idempotencyKey) == ["idem-a1", "idem-a2", "idem-b1", "idem-b2"])
        }
    }

    @Test(arguments: StoreBackends.all)
    func deliveredMessagesLeaveTheQueueAndSensitiveBodiesAreErased(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let a = Fixture.key("a")
            let b = Fixture.key("b")
            try await store.runTurn(a, messages: [Fixture.message(a, "plain", payload: #"{"text":"Your order shipped"}"#)])
            try await store.runTurn(b, messages: [Fixture.message(b, "secret", sensitive: true, payload: #"{"text":"my card is 4242"}"#)])
            let id = try await ids(store)
            #expect(try await store.messages(status: .pending, limit: 10).map(\.sensitive) == [false, true])

            try await store.markDelivered(id: id["idem-plain"]!, at: Fixture.time(1))
            try await store.markDelivered(id: id["idem-secret"]!, at: Fixture.time(1))

            #expect(try await due(store, at: Fixture.time(100)).isEmpty)
            #expect(try await store.messages(status: .pending, limit: 10).isEmpty)
            #expect(try await store.nextDueDate() == nil)
            let delivered = try await store.messages(status: .delivered, limit: 10)
            #expect(delivered.map(\.idempotencyKey) == ["idem-plain", "idem-secret"])
            #expect(delivered.allSatisfy { $0.status == .delivered })
            #expect(delivered[0].payload == #"{"text":"Your order shipped"}"#)
            #expect(!delivered[1].payload.contains("4242"))
            #expect(delivered[1].sensitive)
        }
    }

    @Test(arguments: StoreBackends.all)
    func retryDeadRequeuesAllDeadLettersWithAttemptsReset(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let a = Fixture.key("a")
            let b = Fixture.key("b")
            try await store.runTurn(a, messages: [Fixture.message(a, "a1"), Fixture.message(a, "a2")])
            try await store.runTurn(b, messages: [Fixture.message(b, "b1")])
            let id = try await ids(store)
            try await store.markDead(id: id["idem-a1"]!, attempts: 5, error: "gone", at: Fixture.t0)
            try await store.markDead(id: id["idem-b1"]!, attempts: 5, error: "gone", at: Fixture.t0)
            try await store.markDelivered(id: id["idem-a2"]!, at: Fixture.time(1))

            #expect(try await store.retryDead(ids: nil, now: Fixture.time(100)) == 2)
            #expect(try await store.messages(status: .dead, limit: 10).isEmpty)
            let pending = try await store.messages(status: .pending, limit: 10)
            #expect(pending.map(\.idempotencyKey) == ["idem-a1", "idem-b1"])
            #expect(pending.allSatisfy { $0.attempts == 0 && $0.nextAttemptAt.milliseconds == Fixture.time(100).milliseconds })
            #expect(try await due(store, at: Fixture.time(100)) == ["idem-a1", "idem-b1"])
            #expect(try await store.messages(status: .delivered, limit: 10).map(\.idempotencyKey) == ["idem-a2"])
            #expect(try await store.retryDead(ids: nil, now: Fixture.time(100)) == 0)
        }
    }

    @Test(arguments: StoreBackends.all)
    func retryDeadByIdsRequeuesOnlyThoseDeadLetters(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let a = Fixture.key("a")
            let b = Fixture.key("b")
            let c = Fixture.key("c")
            try await store.runTurn(a, messages: [Fixture.message(a, "a1")])
            try await store.runTurn(b, messages: [Fixture.message(b, "b1")])
            try await store.runTurn(c, messages: [Fixture.message(c, "c1")])
            let id = try await ids(store)
            try await store.markDead(id: id["idem-a1"]!, attempts: 2, error: "gone", at: Fixture.t0)
            try await store.markDead(id: id["idem-b1"]!, attempts: 2, error: "gone", at: Fixture.t0)

            // c1 is pending, not dead; 999999 does not exist: neither counts.
            #expect(try await store.retryDead(ids: [id["idem-b1"]!, id["idem-c1"]!, 999_999], now: Fixture.time(5)) == 1)
            #expect(try await store.retryDead(ids: [], now: Fixture.time(5)) == 0)
            #expect(try await store.messages(status: .dead, limit: 10).map(\.idempotencyKey) == ["idem-a1"])
            #expect(try await store.messages(status: .pending, limit: 10).map(\.idempotencyKey) == ["idem-b1", "idem-c1"])
            #expect(try await store.countMessages(status: .dead) == 1)
            #expect(try await store.countMessages(status: .pending) == 2)
            #expect(try await store.countMessages(status: .delivered) == 0)
            let revived = try #require(try await store.messages(status: .pending, limit: 10).first)
            #expect(revived.attempts == 0)
            #expect(revived.nextAttemptAt.milliseconds == Fixture.time(5).milliseconds)
        }
    }

    @Test(arguments: StoreBackends.all)
    func nextDueDateIsTheEarliestAttemptOfAPendingMessage(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            #expect(try await store.nextDueDate() == nil)
            let a = Fixture.key("a")
            let b = Fixture.key("b")
            try await store.runTurn(a, messages: [Fixture.message(a, "a1", due: Fixture.time(50))])
            try await store.runTurn(b, messages: [Fixture.message(b, "b1", due: Fixture.time(20))])
            #expect(try await store.nextDueDate()?.milliseconds == Fixture.time(20).milliseconds)

            let id = try await ids(store)
            try await store.markDead(id: id["idem-b1"]!, attempts: 1, error: "HTTP 400", at: Fixture.t0)
            #expect(try await store.nextDueDate()?.milliseconds == Fixture.time(50).milliseconds)
            try await store.markDelivered(id: id["idem-a1"]!, at: Fixture.time(50))
            #expect(try await store.nextDueDate() == nil)
        }
    }
}

extension OutgoingMessage {
    fileprivate var withoutId: OutgoingMessage {
        var copy = self
        copy.id = nil
        return copy
    }
}
