import Foundation
import ParleyStore
import Testing

@Suite("Store conformance: flow versions and API keys")
struct VersionAndKeyConformanceTests {
    @Test(arguments: StoreBackends.all)
    func flowVersionsAreKeptByHashAndSavingAgainChangesNothing(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let version = FlowVersion(
                hash: "sha256:abc",
                files: ["main.yaml": "flow: main\nnodes: []\n", "sub/ask.yaml": "flow: ask # “quotes” and ünïcode\n"],
                createdAt: Fixture.time(1)
            )
            #expect(try await store.flowVersion(hash: version.hash) == nil)

            try await store.saveFlowVersion(version)
            try await store.saveFlowVersion(version)
            #expect(try await store.flowVersion(hash: version.hash)?.normalized == version)

            // A later save of the same hash (a reload of identical flows) keeps the version as first saved.
            var reloaded = version
            reloaded.createdAt = Fixture.time(60)
            try await store.saveFlowVersion(reloaded)
            #expect(try await store.flowVersion(hash: version.hash)?.normalized == version)

            let other = FlowVersion(hash: "sha256:def", files: [:], createdAt: Fixture.time(2))
            try await store.saveFlowVersion(other)
            #expect(try await store.flowVersion(hash: "sha256:def")?.normalized == other)
            #expect(try await store.flowVersion(hash: version.hash)?.files == version.files)
        }
    }

    private func key(_ id: String, endpoint: String = "web", at seconds: Double) -> APIKeyRecord {
        APIKeyRecord(
            id: id,
            endpoint: endpoint,
            name: "key \(id)",
            keyHash: String(repeating: String(id.prefix(1)), count: 64),
            keyPreview: "pk_\(id)",
            createdAt: Fixture.time(seconds)
        )
    }

    @Test(arguments: StoreBackends.all)
    func keysAreListedNewestFirstPerEndpoint(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            let keys = [key("k1", at: 1), key("k2", at: 3), key("k3", at: 2)]
            for record in keys {
                try await store.createKey(record)
            }
            try await store.createKey(key("v1", endpoint: "voice", at: 4))

            #expect(try await store.keys(endpoint: "web").map(\.normalized) == [keys[1], keys[2], keys[0]])
            #expect(try await store.keys(endpoint: "voice").map(\.id) == ["v1"])
            #expect(try await store.keys(endpoint: "none").isEmpty)
        }
    }

    @Test(arguments: StoreBackends.all)
    func revokingAKeyWorksOnceAndOnlyOnItsEndpoint(_ backend: StoreFactory) async throws {
        try await backend.withStore { (store: any Store) in
            try await store.createKey(key("k1", at: 1))
            try await store.createKey(key("k2", at: 2))

            #expect(try await store.revokeKey(endpoint: "voice", id: "k1", at: Fixture.time(5)) == false)
            #expect(try await store.revokeKey(endpoint: "web", id: "unknown", at: Fixture.time(5)) == false)
            #expect(try await store.revokeKey(endpoint: "web", id: "k1", at: Fixture.time(5)) == true)
            #expect(try await store.revokeKey(endpoint: "web", id: "k1", at: Fixture.time(6)) == false)

            let listed = try await store.keys(endpoint: "web")
            #expect(listed.map(\.id) == ["k2", "k1"])
            #expect(listed[0].revokedAt == nil)
            // The first revocation's time stands.
            #expect(listed[1].revokedAt?.milliseconds == Fixture.time(5).milliseconds)
            var expected = key("k1", at: 1)
            expected.revokedAt = Fixture.time(5)
            #expect(listed[1].normalized == expected)
        }
    }
}
