import ParleyFlows
import ParleyStore
import Synchronization

/// Fans workspace changes out to the pages watching them (`GET /copilot/events`), by session.
///
/// The runtime calls ``publish(_:_:)`` after each commit that changed a workspace; every watcher of that session
/// gets the whole new state. A watcher that falls behind keeps only the newest state (it is complete), so a slow
/// page never holds back a turn.
public final class WorkspaceHub: Sendable {
    private let watchers = Mutex<[SessionKey: [Int: AsyncStream<JSONValue>.Continuation]]>([:])
    private let counter = Atomic<Int>(0)

    public init() {}

    /// Sends the new state to the session's watchers.
    public func publish(_ key: SessionKey, _ state: JSONValue) {
        let continuations = watchers.withLock { Array(($0[key] ?? [:]).values) }
        for continuation in continuations { continuation.yield(state) }
    }

    /// A stream of the session's states from now on; it ends when the caller stops iterating.
    public func watch(_ key: SessionKey) -> AsyncStream<JSONValue> {
        let id = counter.add(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream.makeStream(of: JSONValue.self, bufferingPolicy: .bufferingNewest(1))
        watchers.withLock { $0[key, default: [:]][id] = continuation }
        continuation.onTermination = { [weak self] _ in
            self?.watchers.withLock {
                $0[key]?[id] = nil
                if $0[key]?.isEmpty == true { $0[key] = nil }
            }
        }
        return stream
    }

    /// Ends every stream: the server is shutting down, and open pages must not hold the HTTP server's drain.
    /// Pages reconnect (to another instance, or after the restart) and catch up from the stored state.
    public func finishAll() {
        let all = watchers.withLock { $0.values.flatMap { Array($0.values) } }
        for continuation in all { continuation.finish() }
    }

    /// How many pages watch a session (for tests and metrics).
    public func watcherCount(_ key: SessionKey) -> Int {
        watchers.withLock { $0[key]?.count ?? 0 }
    }
}
