import Foundation
import ParleyStore

/// The SQLite store's claims on sessions and messages, kept in memory.
///
/// A SQLite database is served by one process (DESIGN §6: PostgreSQL is the store for many instances), so claims
/// only have to be shared by the owners within that process, and they must not outlive it: a restarted server
/// takes its work up at once instead of waiting for the leases of its previous life to expire. Keeping them out of
/// the database also keeps the claim and release of every turn off the disk, where each write would cost a sync.
final class ClaimBook: @unchecked Sendable {
    private struct Claim {
        var owner: String
        var until: Date
    }

    private let lock = NSLock()
    private var sessions: [SessionKey: Claim] = [:]
    private var messages: [Int64: Claim] = [:]

    /// Claims, among `candidates`, those nobody holds at `now` (an expired claim is anyone's), in the order given;
    /// at most `limit`. A session the owner already holds is not claimed again: it is running.
    func claimSessions(_ candidates: [SessionKey], owner: String, now: Date, until: Date, limit: Int) -> [SessionKey] {
        lock.withLock {
            var claimed: [SessionKey] = []
            for key in candidates where claimed.count < limit {
                if let claim = sessions[key], claim.until > now { continue }
                sessions[key] = Claim(owner: owner, until: until)
                claimed.append(key)
            }
            return claimed
        }
    }

    func renewSessions(owner: String, until: Date) {
        lock.withLock {
            for (key, claim) in sessions where claim.owner == owner {
                sessions[key]?.until = until
            }
        }
    }

    func renewSessions(_ keys: Set<SessionKey>, owner: String, until: Date) {
        lock.withLock {
            for key in keys where sessions[key]?.owner == owner {
                sessions[key]?.until = until
            }
        }
    }

    func releaseSession(_ key: SessionKey, owner: String) {
        lock.withLock {
            if sessions[key]?.owner == owner { sessions[key] = nil }
        }
    }

    /// Whether a commit by `owner` may go ahead: nobody else has claimed the session since (an expired claim of its
    /// own that nobody took over still counts as its own).
    func holds(_ key: SessionKey, owner: String) -> Bool {
        lock.withLock {
            guard let claim = sessions[key] else { return true }
            return claim.owner == owner
        }
    }

    /// Claims, among `candidates`, the messages no other owner holds at `now`; at most `limit`.
    func claimMessages(_ candidates: [OutgoingMessage], owner: String, now: Date, until: Date, limit: Int) -> [OutgoingMessage] {
        lock.withLock {
            var claimed: [OutgoingMessage] = []
            for message in candidates where claimed.count < limit {
                guard let id = message.id else { continue }
                if let claim = messages[id], claim.owner != owner, claim.until > now { continue }
                messages[id] = Claim(owner: owner, until: until)
                claimed.append(message)
            }
            return claimed
        }
    }

    /// How many messages other owners hold at `now`: a claim reads that many more candidates.
    func messagesHeldByOthers(owner: String, now: Date) -> Int {
        lock.withLock { messages.values.count { $0.owner != owner && $0.until > now } }
    }

    /// How many sessions anybody holds at `now`: a claim reads that many more candidates.
    func sessionsHeld(now: Date) -> Int {
        lock.withLock { sessions.values.count { $0.until > now } }
    }

    func releaseMessage(_ id: Int64) {
        lock.withLock { messages[id] = nil }
    }

    /// Releases the messages of `ids` that `owner` holds.
    func releaseMessages(_ ids: [Int64], owner: String) {
        lock.withLock {
            for id in ids where messages[id]?.owner == owner { messages[id] = nil }
        }
    }
}
