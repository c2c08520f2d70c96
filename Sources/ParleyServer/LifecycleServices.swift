import Foundation
import Logging
import ParleyFlows
import ParleyRuntime
import ParleyScript
import ServiceLifecycle
import UnixSignals

/// Runs the runtime's turn loop until graceful shutdown, then lets the turns in progress commit.
public struct TurnService: Service {
    let runtime: Runtime

    public init(runtime: Runtime) {
        self.runtime = runtime
    }

    public func run() async throws {
        let runtime = self.runtime
        await withGracefulShutdownHandler {
            await runtime.run()
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
