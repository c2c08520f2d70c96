import Foundation
import GRDB
import ParleyStore
import Synchronization

/// Group commit (issue 14): writes that arrive while another transaction commits share the next transaction and
/// its one fsync, each in a savepoint of its own.
///
/// There is no waiting window, and no extra hop for a write that finds the writer idle: its caller commits it at
/// once, alone, without a savepoint, as a plain write would. Writes that arrive meanwhile queue; the caller that
/// finds no commit running leads: it commits everything queued in one transaction, twice at most, then hands the
/// rest to a task, so no request is held long for others. Each write still sees its own outcome:
/// - one that throws rolls back its savepoint only, and gets its error; the others commit;
/// - every caller resumes only after the shared transaction committed (DESIGN §6: a `2xx` only once durable);
/// - when the commit itself fails (a full disk), every write of the batch gets that error and none is kept.
final class WriteBatcher: Sendable {
    /// One queued write: runs in the shared transaction (alone, or in a savepoint), then learns whether that
    /// transaction committed.
    private struct Item: Sendable {
        /// Runs the write; returns its error, if it threw (already recorded as its outcome).
        var run: @Sendable (Database, _ alone: Bool) -> (any Error)?
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

    /// Runs `work` in the next transaction (shared with the writes queued with it) and returns its result once that
    /// transaction has committed.
    func write<T: Sendable>(on writer: any DatabaseWriter, _ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let outcome = Outcome<T>()
        let item = Item(
            run: { db, alone in
                do {
                    if alone {
                        outcome.ran(.success(try work(db)))
                    } else {
                        var value: T?
                        try db.inSavepoint {
                            value = try work(db)
                            return .commit
                        }
                        outcome.ran(value.map { .success($0) } ?? .failure(Self.lost))
                    }
                    return nil
                } catch {
                    outcome.ran(.failure(error))
                    return error
                }
            },
            finish: { failure in outcome.finish(failure) }
        )
        let lead = state.withLock { state -> Bool in
            state.pending.append(item)
            guard !state.flushing else { return false }
            state.flushing = true
            return true
        }
        if lead { await flush(on: writer, rounds: 2) }
        return try await outcome.value()
    }

    private static let lost = DatabaseError(resultCode: .SQLITE_INTERNAL, message: "a batched write lost its value")

    /// Commits up to `rounds` batches, then leaves what is still queued to a task.
    private func flush(on writer: any DatabaseWriter, rounds: Int) async {
        for _ in 0..<rounds {
            let batch = state.withLock { state -> [Item] in
                let taken = Array(state.pending.prefix(maxBatch))
                state.pending.removeFirst(taken.count)
                if taken.isEmpty { state.flushing = false }
                return taken
            }
            guard !batch.isEmpty else { return }
            if batch.count == 1 {
                await commit(batch, on: writer)
            } else {
                // Shared: committed outside the leader's task, so the leader's cancellation fails none of the others.
                await Task { await self.commit(batch, on: writer) }.value
            }
        }
        // Still leading: hand the queue over instead of holding this caller's answer for the others.
        Task { await self.flush(on: writer, rounds: .max) }
    }

    private func commit(_ batch: [Item], on writer: any DatabaseWriter) async {
        do {
            try await writer.write { db in
                if batch.count == 1 {
                    // Alone: a write that throws rolls the transaction back, exactly as a plain write does.
                    if let failure = batch[0].run(db, true) { throw LoneFailure(error: failure) }
                    return
                }
                for item in batch {
                    _ = item.run(db, false)
                    // SQLite rolls the whole transaction back on some errors (a full disk, an I/O error): then the
                    // savepoints released before are gone too, so the whole batch fails, none reported kept.
                    guard db.isInsideTransaction else {
                        throw DatabaseError(resultCode: .SQLITE_ABORT, message: "the shared transaction was rolled back")
                    }
                }
            }
            for item in batch { item.finish(nil) }
        } catch is LoneFailure {
            // The write's own error, already recorded as its outcome.
            batch[0].finish(nil)
        } catch {
            // The shared transaction failed: nothing of the batch is kept, and for every caller it is the store's
            // trouble, not its input's (DESIGN §6), so a turn is retried without counting against the input.
            let failure: any Error =
                batch.count == 1 ? error : (error as? StoreError) ?? StoreError.unavailable("the store could not commit: \(error)")
            for item in batch { item.finish(failure) }
        }
    }

    /// A lone write threw: its transaction is rolled back and the caller gets the write's own error.
    private struct LoneFailure: Error {
        var error: any Error
    }
}

/// The result of one queued write, waited for by its caller.
private final class Outcome<T: Sendable>: Sendable {
    private struct State {
        var result: Result<T, any Error>?
        var done = false
        var waiter: CheckedContinuation<T, any Error>?
    }

    private let state = Mutex(State())

    /// The write ran in the transaction (not yet committed).
    func ran(_ result: Result<T, any Error>) {
        state.withLock { $0.result = result }
    }

    /// The transaction committed (nil) or failed: the caller may have its answer.
    func finish(_ failure: (any Error)?) {
        let (waiter, result) = state.withLock { state -> (CheckedContinuation<T, any Error>?, Result<T, any Error>) in
            let result: Result<T, any Error> = failure.map { .failure($0) } ?? state.result ?? .failure(Outcome.missing)
            state.result = result
            state.done = true
            let waiter = state.waiter
            state.waiter = nil
            return (waiter, result)
        }
        waiter?.resume(with: result)
    }

    func value() async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let ready = state.withLock { state -> Result<T, any Error>? in
                guard state.done, let result = state.result else {
                    state.waiter = continuation
                    return nil
                }
                return result
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    private static var missing: DatabaseError { DatabaseError(resultCode: .SQLITE_INTERNAL, message: "a batched write did not run") }
}
