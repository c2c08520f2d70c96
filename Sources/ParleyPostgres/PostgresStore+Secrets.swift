import Foundation
import ParleyStore
import PostgresNIO

// Named secrets every instance shares.

extension PostgresStore {
    /// Reads the secret first, so `make` runs only while none is stored. Otherwise the candidate is inserted unless a
    /// value got there first (`ON CONFLICT DO NOTHING`, which waits for a racing instance's insert to commit or roll
    /// back), and a second statement, with a snapshot taken after the insert, reads whichever value is stored. Each
    /// statement is bounded like every other operation of the store.
    public func secret(named name: String, orCreate make: @Sendable () -> String, at: Date) async throws -> String {
        if let stored = try await rows("SELECT value FROM secrets WHERE name = \(name)").first {
            return try stored.value("value", as: String.self)
        }
        let candidate = make()
        try await execute(
            "INSERT INTO secrets (name, value, created_at) VALUES (\(name), \(candidate), \(at.storeMilliseconds)) ON CONFLICT (name) DO NOTHING"
        )
        guard let kept = try await rows("SELECT value FROM secrets WHERE name = \(name)").first else {
            throw StoreError.unavailable("the secret \(name) was not stored")
        }
        return try kept.value("value", as: String.self)
    }
}
