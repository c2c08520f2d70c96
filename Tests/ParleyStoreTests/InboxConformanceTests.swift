import Foundation
import ParleyStore
import Testing

@Suite("Store conformance: inbox")
struct InboxConformanceTests {
    @Test(arguments: StoreBackends.all)
    func acceptAssignsIncreasingIdsAndKeepsTheEntry(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let key = Fixture.key("s1")
            let first = try await store.accept(Fixture.input(key, trace: "a", payload: #"{"text":"one"}"#, at: Fixture.time(1)))
            let second = try await store.accept(Fixture.input(Fixture.key("s2"), trace: "b", at: Fixture.time(2)))
            let third = try await store.accept(Fixture.input(key, trace: "c", at: Fixture.time(3)))

            let ids = try [first, second, third].map { try #require($0.id) }
            #expect(ids[0] < ids[1] && ids[1] < ids[2])
            var expected = Fixture.input(key, trace: "a", payload: #"{"text":"one"}"#, at: Fixture.time(1))
            expected.id = ids[0]
            #expect(first.normalized == expected)
        }
    }

    @Test(arguments: StoreBackends.all)
    func pendingInboxReturnsUnprocessedEntriesOldestFirst(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            var accepted: [InboxEntry] = []
            for index in 0..<5 {
                // Acceptance times deliberately out of order: arrival order is the id, not the clock.
                let entry = Fixture.input(Fixture.key("s\(index % 2)"), trace: "t\(index)", at: Fixture.time(Double(10 - index)))
                accepted.append(try await store.accept(entry))
            }

            let pending = try await store.pendingInbox(limit: 10)
            #expect(pending.map(\.normalized) == accepted.map(\.normalized))
            #expect(try await store.pendingInbox(limit: 2).map(\.id) == accepted.prefix(2).map(\.id))
            #expect(try await store.pendingInbox(limit: 0).isEmpty)

            // Committing the second entry removes it from the pending ones and keeps the order of the others.
            let secondId = try #require(accepted[1].id)
            try await store.commit(TurnCommit(inboxId: secondId, session: Fixture.session(accepted[1].key, state: "{}")))
            #expect(try await store.pendingInbox(limit: 10).map(\.id) == [0, 2, 3, 4].map { accepted[$0].id })
        }
    }

    @Test(arguments: StoreBackends.all)
    func datesRoundTripToTheMillisecond(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            // 0.4 ms past a whole millisecond, then 0.6 ms: the store keeps the nearest millisecond.
            let early = Date(timeIntervalSince1970: 1_750_000_000.1234)
            let late = Date(timeIntervalSince1970: 1_750_000_000.1236)
            _ = try await store.accept(Fixture.input(Fixture.key("s1"), trace: "a", at: early))
            _ = try await store.accept(Fixture.input(Fixture.key("s1"), trace: "b", at: late))

            let pending = try await store.pendingInbox(limit: 10)
            #expect(pending.map(\.acceptedAt.milliseconds) == [1_750_000_000_123, 1_750_000_000_124])
        }
    }

    @Test(arguments: StoreBackends.all)
    func concurrentAcceptsGetUniqueIdsAndNoneIsLost(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let count = 200
            let accepted = try await withThrowingTaskGroup(of: InboxEntry?.self) { group in
                for index in 0..<count {
                    group.addTask {
                        try await store.accept(Fixture.input(Fixture.key("s\(index % 7)"), trace: "trace-\(index)"))
                    }
                    // Readers run alongside the writers and always see a consistent, ordered inbox.
                    if index % 20 == 0 {
                        group.addTask {
                            let snapshot = try await store.pendingInbox(limit: count)
                            let ids = snapshot.compactMap(\.id)
                            #expect(ids == ids.sorted() && Set(ids).count == ids.count)
                            return nil
                        }
                    }
                }
                var entries: [InboxEntry] = []
                for try await case let entry? in group {
                    entries.append(entry)
                }
                return entries
            }

            let ids = try accepted.map { try #require($0.id) }
            #expect(Set(ids).count == count)
            let pending = try await store.pendingInbox(limit: count + 1)
            #expect(pending.count == count)
            #expect(pending.map(\.id) == ids.sorted())
            #expect(Set(pending.map(\.traceId)) == Set((0..<count).map { "trace-\($0)" }))
            // Each returned entry is exactly the stored one with that id.
            let byId = Dictionary(uniqueKeysWithValues: pending.map { ($0.id, $0.traceId) })
            #expect(accepted.allSatisfy { byId[$0.id] == $0.traceId })
        }
    }
}
