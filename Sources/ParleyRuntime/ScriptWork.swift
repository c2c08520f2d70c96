import Dispatch

/// Runs the engine's and the transformers' work (JavaScript above all: up to `engine.codeTimeoutMs` a call) on
/// threads of its own, never on Swift's cooperative threads (issue 25).
///
/// The cooperative pool has one thread per core, and everything else the server does (answering `/health`, reading
/// and writing the store, delivering) needs one of them; a script holding one for a second, on two cores, halved
/// the server. Here a turn's synchronous work runs on a dispatch thread instead, and the calling task is suspended,
/// not blocked. The cost is two thread switches per call.
///
/// Each job gets a serial queue of its own: serial queues run on dispatch's overcommitting threads, so a job never
/// waits for a slot behind running scripts (a concurrent queue would give two at a time on two cores, and a plain
/// turn would wait behind two spinning ones). The runtime bounds how many turns run at once
/// (`maxConcurrentSessions`); scripts that run at the same time share the cores, each within its own CPU-time limit.
public enum ScriptWork {

    /// `work()`, run on the script threads; the caller's task waits suspended.
    public static func run<T>(_ work: @escaping () -> T) async -> T {
        let job = Handoff(work)
        return await withCheckedContinuation { (continuation: CheckedContinuation<Handoff<T>, Never>) in
            DispatchQueue(label: "parley.script-work", qos: .userInitiated).async { continuation.resume(returning: job.perform()) }
        }.result
    }

    /// `work()`, run on the script threads; its error is rethrown to the caller.
    public static func run<T>(_ work: @escaping () throws -> T) async throws -> T {
        try await run { Result { try work() } }.get()
    }
}

/// A job handed to another thread and its result handed back. The job runs exactly once, on one thread at a time,
/// and the caller reads the result only after the continuation resumed, so nothing is shared concurrently.
private final class Handoff<T>: @unchecked Sendable {
    private let work: () -> T
    private var value: T?

    init(_ work: @escaping () -> T) {
        self.work = work
    }

    func perform() -> Handoff<T> {
        value = work()
        return self
    }

    var result: T {
        guard let value else { preconditionFailure("a script job was read before it ran") }
        return value
    }
}
