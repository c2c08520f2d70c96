import Foundation
import GRDB
import Synchronization

/// Group commit (issue 14): writes that arrive while another transaction commits share the next transaction and
/// its one fsync, each in a savepoint of its own.
///
/// There is no waiting window: a write that finds the writer idle commits at once, alone, as before; only writes
/// that would have queued behind a commit anyway are gathered. Each write still sees its own outcome:
/// - one that throws rolls back its savepoint only, and gets its error; the others commit;
/// - every caller resumes only after the shared transaction committed (DESIGN §6: a `2xx` only once durable);
/// - when the commit itself fails (a full disk), every write of the batch gets that error and none is kept.
final class WriteBatcher: Sendable {
    /// One write of a batch: runs in the shared transaction, then learns whether that transaction committed.
    private struct Item: Sendable {
        var run: @Sendable (Database) -> Void
        var finish: @Sendable ((any Error)?) -> Void
    }

    private struct State {
        var pending: [Item] = []
        var flushing = false
    }

    private let state = Mutex(State())
    /// The most writes one transaction takes; the rest wait for the next.
    let maxBatch: Int

    init(maxBatch: Int = 256) {
        self.maxBatch = max(1, maxBatch)
    }

    /// Runs `work` in a savepoint of the next shared transaction and returns its result once that transaction has
    /// committed.
    func write<T: Sendable>(on writer: any DatabaseWriter, _ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let outcome = Mutex<Result<T, any Error>?>(nil)
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let item = Item(
                run: { db in
                    do {
                        var value: T?
                        try db.inSavepoint {
                            value = try work(db)
                            return .commit
                        }
                        guard let value else { throw DatabaseError(resultCode: .SQLITE_INTERNAL, message: "a batched write lost its value") }
                        outcome.withLock { $0 = .success(value) }
                    } catch {
                        outcome.withLock { $0 = .failure(error) }
                    }
                },
                finish: { failure in
                    if let failure {
                        continuation.resume(throwing: failure)
                    } else {
                        let result =
                            outcome.withLock { $0 } ?? .failure(DatabaseError(resultCode: .SQLITE_INTERNAL, message: "a batched write did not run"))
                        continuation.resume(with: result)
                    }
                }
            )
            let lead = state.withLock { state -> Bool in
                state.pending.append(item)
                guard !state.flushing else { return false }
                state.flushing = true
                return true
            }
            if lead { Task { await self.flush(on: writer) } }
        }
    }

    /// Commits batches until none is pending.
    private func flush(on writer: any DatabaseWriter) async {
        while true {
            let batch = state.withLock { state -> [Item] in
                let taken = Array(state.pending.prefix(maxBatch))
                state.pending.removeFirst(taken.count)
                if taken.isEmpty { state.flushing = false }
                return taken
            }
            guard !batch.isEmpty else { return }
            do {
                try await writer.write { db in
                    for item in batch {
                        item.run(db)
                        // SQLite rolls the whole transaction back on some errors (a full disk, an I/O error): then
                        // the savepoints released before are gone too, so the whole batch fails, none reported kept.
                        guard db.isInsideTransaction else {
                            throw DatabaseError(resultCode: .SQLITE_ABORT, message: "the shared transaction was rolled back")
                        }
                    }
                }
                for item in batch { item.finish(nil) }
            } catch {
                for item in batch { item.finish(error) }
            }
        }
    }
}
