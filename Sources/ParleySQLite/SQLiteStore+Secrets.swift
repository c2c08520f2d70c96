import Foundation
import GRDB
import ParleyStore

// Named secrets every user of the database shares.

extension SQLiteStore {
    /// Reads the secret first, so `make` runs only while none is stored; then inserts the candidate unless a value
    /// got there first (`ON CONFLICT DO NOTHING`) and reads back whichever value is stored, in one write transaction.
    public func secret(named name: String, orCreate make: @Sendable () -> String, at: Date) async throws -> String {
        let stored = try await read { db in
            try String.fetchOne(db, sql: "SELECT value FROM secrets WHERE name = ?", arguments: [name])
        }
        if let stored { return stored }
        let candidate = make()
        let kept = try await write { db -> String? in
            try db.execute(
                sql: "INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
                arguments: [name, candidate, at.storeMilliseconds]
            )
            return try String.fetchOne(db, sql: "SELECT value FROM secrets WHERE name = ?", arguments: [name])
        }
        guard let kept else { throw StoreError.unavailable("the secret \(name) was not stored") }
        return kept
    }
}
