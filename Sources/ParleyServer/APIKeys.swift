import Crypto
import Foundation
import ParleyEndpoints
import ParleyFlows
import ParleyStore

/// Endpoint API keys: created here, stored only as SHA-256 hashes, checked in constant time (DESIGN §5.6).
public enum APIKeys {
    /// A new key for an endpoint: the record to store, and the plain key to show once.
    public static func make(endpoint: String, name: String, now: Date) -> (record: APIKeyRecord, key: String) {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<24).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let key = "pk_" + hex(bytes)
        let id = "key_" + hex((0..<6).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let record = APIKeyRecord(
            id: id,
            endpoint: endpoint,
            name: name,
            keyHash: hash(key),
            keyPreview: String(key.prefix(9)) + "…",
            createdAt: now
        )
        return (record, key)
    }

    /// Makes and stores a key named `name`; key names are unique among an endpoint's active keys (DESIGN §5.6).
    ///
    /// - Throws: ``APIError/duplicateKeyName`` when an active key has the name; store errors.
    public static func create(endpoint: String, name: String, in store: any Store, now: Date) async throws -> (record: APIKeyRecord, key: String) {
        let active = try await store.keys(endpoint: endpoint).filter { $0.revokedAt == nil }
        guard !active.contains(where: { $0.name == name }) else { throw APIError.duplicateKeyName }
        let made = make(endpoint: endpoint, name: name, now: now)
        try await store.createKey(made.record)
        return made
    }

    /// Hex SHA-256 of a key.
    public static func hash(_ key: String) -> String {
        hex(Array(SHA256.hash(data: Data(key.utf8))))
    }

    /// Whether `presented` is one of the active keys. Every active hash is compared, each in constant time, so
    /// the answer's timing tells nothing about which key or how much of it matched.
    public static func matches(_ presented: String, among keys: [APIKeyRecord]) -> Bool {
        let candidate = Array(hash(presented).utf8)
        var found = false
        for key in keys where key.revokedAt == nil {
            let stored = Array(key.keyHash.utf8)
            guard stored.count == candidate.count else { continue }
            var difference: UInt8 = 0
            for index in stored.indices { difference |= stored[index] ^ candidate[index] }
            found = found || difference == 0
        }
        return found
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        lowercaseHex(bytes)
    }
}
