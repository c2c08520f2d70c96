import Foundation

/// Runs the engine's and the transformers' work (JavaScript above all: up to `engine.codeTimeoutMs` a call) on
/// threads of its own, never on Swift's cooperative threads (issue 25).
///
/// The cooperative pool has one thread per core, and everything else the server does (reading and writing the
/// store, delivering, other sessions' turns) needs one of them; a script holding one for a second, on two cores,
/// halved the server. Here a turn's synchronous work runs on a pool thread instead, and the calling task is
/// suspended, not blocked. The cost is two thread switches per call.
///
/// The pool grows to ``ScriptThreads/maximum`` threads as work arrives and keeps them: scripts that run at the same
/// time share the cores, each within its own CPU-time limit, and a plain turn waits for a thread only when that many
/// scripts run at once. (Dispatch's overcommitting queues gave every job a thread of its own and kept them all:
/// 107 threads after one burst of the soak.)
public enum ScriptWork {
    private static let pool = ScriptThreads(maximum: max(16, ProcessInfo.processInfo.activeProcessorCount * 4))

    /// `work()`, run on a script thread; the caller's task waits suspended.
    public static func run<T>(_ work: @escaping () -> T) async -> T {
        let job = Handoff(work)
        return await withCheckedContinuation { (continuation: CheckedContinuation<Handoff<T>, Never>) in
            pool.submit { continuation.resume(returning: job.perform()) }
        }.result
    }

    /// `work()`, run on a script thread; its error is rethrown to the caller.
    public static func run<T>(_ work: @escaping () throws -> T) async throws -> T {
        try await run { Result { try work() } }.get()
    }
}

/// A pool of threads that runs submitted jobs in order of arrival, growing to `maximum` threads while every thread
/// is busy, its idle threads waiting on a condition.
final class ScriptThreads: @unchecked Sendable {
    let maximum: Int
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var next = 0
    private var threads = 0
    private var idle = 0

    init(maximum: Int) {
        self.maximum = max(1, maximum)
    }

    func submit(_ job: @escaping () -> Void) {
        condition.lock()
        jobs.append(job)
        // A new thread when the jobs waiting outnumber the idle threads that will take them.
        let grow = jobs.count - next > idle && threads < maximum
        if grow { threads += 1 }
        condition.signal()
        condition.unlock()
        if grow {
            let thread = Thread { [self] in work() }
            thread.name = "parley.script"
            // JavaScriptCore measures its recursion limit against the thread's stack.
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    private func work() {
        while true {
            condition.lock()
            while next == jobs.count {
                idle += 1
                condition.wait()
                idle -= 1
            }
            let job = jobs[next]
            next += 1
            if next == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                next = 0
            }
            condition.unlock()
            job()
        }
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
