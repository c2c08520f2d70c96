import Foundation
import Logging
import ParleyFlows
import ParleyRuntime
import ParleyScript
import ParleyStore
import ServiceLifecycle
import UnixSignals

/// Runs the runtime's turn loop until graceful shutdown, then lets the turns in progress commit.
public struct TurnService: Service {
    let runtime: Runtime
    let pollInterval: Duration

    /// - Parameter pollInterval: how often the loop looks for inputs it was not woken for (retries, inputs other
    ///   instances accepted or left behind).
    public init(runtime: Runtime, pollInterval: Duration = .seconds(1)) {
        self.runtime = runtime
        self.pollInterval = pollInterval
    }

    public func run() async throws {
        let runtime = self.runtime
        let pollInterval = self.pollInterval
        await withGracefulShutdownHandler {
            await runtime.run(retryInterval: pollInterval)
        } onGracefulShutdown: {
            Task { await runtime.stop() }
        }
    }
}

/// Keeps the effect executor's HTTP clients until graceful shutdown, then shuts them down. Put it before the
/// turn service in the group: services stop in reverse order, so turns waiting on effects finish first.
public struct EffectService: Service {
    let executor: EffectExecutor

    public init(executor: EffectExecutor) {
        self.executor = executor
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await executor.shutdown()
    }
}

/// Put last in the service group (so it is the first to hear of a shutdown): from then on requests are answered
/// `503 shutting_down` while the HTTP server drains, turns finish and deliveries stop.
public struct ShutdownNotice: Service {
    let server: ParleyServer

    public init(server: ParleyServer) {
        self.server = server
    }

    public func run() async throws {
        try? await gracefulShutdown()
        server.beginShutdown()
    }
}

/// Reloads flows on `SIGHUP` and, with `watch`, whenever a flow file changes (polled every second). A flow set
/// that fails validation is rejected with its diagnostics logged, and the old one keeps serving (DESIGN §6).
public struct FlowReloadService: Service {
    let server: ParleyServer
    let folder: String
    let watch: Bool
    let logger: Logger

    public init(server: ParleyServer, folder: String, watch: Bool, logger: Logger) {
        self.server = server
        self.folder = folder
        self.watch = watch
        self.logger = logger
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in signals.cancelOnGracefulShutdown() {
                    await reload(reason: "SIGHUP")
                }
            }
            if watch {
                group.addTask {
                    var last = FlowFiles.fingerprint(folder)
                    while !Task.isShuttingDownGracefully, !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(1))
                        let now = FlowFiles.fingerprint(folder)
                        if now != last {
                            last = now
                            await reload(reason: "a flow file changed")
                        }
                    }
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }

    private func reload(reason: String) async {
        let result = FlowLoader(scriptChecker: JavaScriptSyntaxChecker(), connections: server.configuration.connectionKinds).load(paths: [folder])
        guard let flows = result.flowSet else {
            server.metrics.reload(.rejected)
            logger.error("flows rejected; the previous flows keep serving", metadata: ["reason": "\(reason)", "errors": "\(result.errorCount)"])
            for diagnostic in result.diagnostics where diagnostic.severity == .error { logger.error("\(diagnostic)") }
            return
        }
        // The set must serve the deployment, not only validate: an endpoint whose flow disappeared would fail
        // every new input (DESIGN §6, hot reload).
        let problems = server.configuration.problems(serving: flows)
        guard problems.isEmpty else {
            server.metrics.reload(.rejected)
            logger.error("flows rejected; the previous flows keep serving", metadata: ["reason": "\(reason)", "errors": "\(problems.count)"])
            for problem in problems { logger.error("\(problem)") }
            return
        }
        if flows.contentHash == (await server.runtime.flowHash) { return }
        do {
            try await server.runtime.reload(flows: flows, files: FlowFiles.texts(result.files))
            server.metrics.reload(.applied)
            logger.info("flows reloaded", metadata: ["reason": "\(reason)", "flowHash": "\(flows.contentHash)"])
        } catch {
            server.metrics.reload(.rejected)
            logger.error("flows could not be stored; the previous flows keep serving", metadata: ["error": "\(error)"])
        }
    }
}

/// Flow files on disk.
public enum FlowFiles {
    /// Each file's text by file name, as flow versions are stored.
    public static func texts(_ files: [String]) throws -> [String: String] {
        var texts: [String: String] = [:]
        for file in files { texts[(file as NSString).lastPathComponent] = try String(contentsOfFile: file, encoding: .utf8) }
        return texts
    }

    /// Names, sizes and modification times of the flow files: changes when any file is edited, added or removed.
    static func fingerprint(_ folder: String) -> String {
        FlowLoader.flowFiles(in: [folder]).map { file -> String in
            let attributes = try? FileManager.default.attributesOfItem(atPath: file)
            let size = (attributes?[.size] as? NSNumber)?.intValue ?? -1
            let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            return "\(file)|\(size)|\(modified)"
        }.joined(separator: "\n")
    }
}

/// Follows the flow version other instances publish (DESIGN §6: reloads through one instance are seen by all):
/// polls the store and starts new sessions on a newly published version that serves this deployment.
public struct SharedFlowsService: Service {
    let server: ParleyServer
    let interval: Duration
    let logger: Logger

    public init(server: ParleyServer, interval: Duration, logger: Logger) {
        self.server = server
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        let configuration = server.configuration
        var lastProblem: String?
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            // The sleep ends early on graceful shutdown, which then ends the loop.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            do {
                if let hash = try await server.runtime.adoptPublishedFlows(serves: { configuration.problems(serving: $0).isEmpty }) {
                    server.metrics.reload(.applied)
                    logger.info("flows published by another instance adopted", metadata: ["flowHash": "\(hash)"])
                }
                lastProblem = nil
            } catch {
                let problem = "\(error)"
                if problem != lastProblem {
                    logger.error("published flows not adopted; the current flows keep serving", metadata: ["error": "\(problem)"])
                }
                lastProblem = problem
            }
        }
    }
}

/// Prunes what the retention settings no longer keep (DESIGN §6, *Retention*): every interval, in batches, with a
/// pause between batches so turns and deliveries waiting for the store go first.
public struct RetentionService: Service {
    let store: any Store
    let retention: Configuration.Retention
    let now: @Sendable () -> Date
    let logger: Logger
    let metrics: ServerMetrics

    public init(
        store: any Store,
        retention: Configuration.Retention,
        metrics: ServerMetrics,
        logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.retention = retention
        self.metrics = metrics
        self.logger = logger
        self.now = now
    }

    /// The cutoffs at `date`: each kind's age in days before it.
    public static func cutoffs(_ retention: Configuration.Retention, at date: Date) -> RetentionCutoffs {
        func before(_ days: Int) -> Date { date.addingTimeInterval(-Double(days) * 86_400) }
        return RetentionCutoffs(
            transcripts: before(retention.transcriptsDays),
            delivered: before(retention.deliveredDays),
            inbox: before(retention.inboxDays),
            dead: before(retention.deadDays),
            sessions: before(retention.sessionsDays)
        )
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            await pruneOnce()
            let interval = Duration.seconds(retention.intervalSeconds)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// Prunes until a batch comes back short; returns what went.
    @discardableResult
    public func pruneOnce() async -> PruneCounts {
        var total = PruneCounts()
        let cutoffs = Self.cutoffs(retention, at: now())
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let counts = try await store.prune(cutoffs, limit: retention.batchSize)
                total = total + counts
                metrics.pruned(counts)
                if counts.largest < retention.batchSize { break }
                try? await Task.sleep(for: .milliseconds(10))
            } catch {
                logger.error("retention could not prune; it tries again later", metadata: ["error": "\(error)"])
                break
            }
        }
        if total.largest > 0 {
            logger.info(
                "retention pruned",
                metadata: [
                    "inbox": "\(total.inbox)", "deadInputs": "\(total.deadInputs)", "delivered": "\(total.delivered)",
                    "deadLetters": "\(total.deadMessages)", "transcripts": "\(total.transcripts)", "sessions": "\(total.sessions)",
                ]
            )
        }
        return total
    }
}
