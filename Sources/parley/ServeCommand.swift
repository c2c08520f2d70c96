import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import Metrics
import NIOCore
import ParleyDelivery
import ParleyEngine
import ParleyFlows
import ParleyRuntime
import ParleyServer
import ParleyStore
import Prometheus
import ServiceLifecycle
import UnixSignals

/// `parley serve [--config F] [--watch]`: the server. The composition root of a deployment: configuration,
/// flows, store, runtime, delivery and HTTP in one service group that SIGTERM/SIGINT drain in order.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the server: endpoints, the turn loop and outbox delivery (default config parley.yaml)."
    )

    @Option(help: "The configuration file.")
    var config = "parley.yaml"

    @Flag(help: "Reload flows when a flow file changes (SIGHUP always reloads).")
    var watch = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        let configuration = try StoreSource.configuration(config)
        let loaded = try FlowSource.load([configuration.flows], connections: configuration.connectionKinds)
        for diagnostic in loaded.diagnostics { FileHandleOutput.standardError(diagnostic.description) }
        guard let flows = loaded.flowSet else { throw ExitCode(1) }
        if let problem = configuration.problems(serving: flows).first { throw UsageError("\(config): \(problem)") }
        let store = try await StoreSource.open(configuration)

        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "parley")

        let owner = Self.instanceId(configuration)
        let poll: Duration = configuration.sharedStore ? .milliseconds(configuration.cluster.pollMilliseconds) : .seconds(1)
        let delivery = DeliveryService(
            store: store,
            endpoints: configuration.endpoints,
            settings: DeliveryService.Settings(
                configuration: configuration.delivery,
                owner: owner,
                lease: configuration.cluster.outboxLeaseSeconds.map(TimeInterval.init),
                pollInterval: configuration.sharedStore ? poll : .seconds(5)
            ),
            logger: Logger(label: "parley.delivery")
        )
        let engine = EngineConfiguration(
            codeTimeout: .milliseconds(configuration.engine.codeTimeoutMs),
            codeMemoryLimitBytes: configuration.engine.codeMemoryMB << 20,
            maxStepsPerTurn: configuration.engine.maxStepsPerTurn,
            connections: configuration.connectionProfiles
        )
        let effects = EffectExecutor(connections: configuration.connections, logger: Logger(label: "parley.effects"))
        let server = ParleyServer(
            configuration: configuration,
            flows: flows,
            store: store,
            registry: registry,
            settings: Runtime.Settings(
                engine: engine,
                onCommit: { delivery.wake() },
                effects: effects,
                owner: owner,
                inboxLease: .seconds(configuration.cluster.inboxLeaseSeconds)
            ),
            logger: logger,
            restTimeout: .seconds(configuration.server.restTimeoutSeconds)
        )
        try await server.runtime.saveFlowVersion(files: FlowFiles.texts(loaded.files))

        let host = configuration.server.host
        let port = configuration.server.port
        let app = Application(
            router: server.router(),
            server: .http1(configuration: HTTP1Channel.Configuration(idleTimeout: TimeAmount.seconds(Int64(configuration.server.idleTimeoutSeconds)))),
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "Parley"),
            onServerRunning: { channel in
                // With port 0 the system picks one: report the one bound.
                let bound = channel.localAddress?.port ?? port
                logger.info(
                    "listening",
                    metadata: ["address": "http://\(host):\(bound)", "flowHash": "\(flows.contentHash)", "instance": "\(owner)"]
                )
                FileHandleOutput.standardError("parley: serving \(configuration.endpoints.count) endpoints on http://\(host):\(bound)")
                // Each Endpoint URL (DESIGN §5.6), as clients call it; with port 0 and no baseURL, the bound port.
                var served = configuration
                if port == 0, served.server.baseURL == "http://\(host):0" { served.server.baseURL = "http://\(host):\(bound)" }
                for endpoint in served.endpoints {
                    FileHandleOutput.standardError("parley: endpoint \(endpoint.name) (\(endpoint.kind.rawValue)): \(served.endpointURL(endpoint))")
                    if endpoint.agentAuth == .none, endpoint.auth == .none {
                        // DESIGN §5.4.1: anyone with the URL may then act for the agent.
                        FileHandleOutput.standardError(
                            "parley: warning: endpoint \(endpoint.name) has agentAuth: none: anyone who knows its URL may inject, notify, "
                                + "message as the agent and read its workspaces; use it on a trusted network only"
                        )
                        logger.warning("agentAuth none", metadata: ["endpoint": "\(endpoint.name)"])
                    }
                }
            },
            logger: logger
        )
        // Shut down in reverse order: refuse new requests, drain HTTP, let turns commit, then stop delivering.
        // Only a shared store has other instances whose reloads to adopt.
        let shared: [any Service] =
            configuration.sharedStore ? [SharedFlowsService(server: server, interval: max(poll, .seconds(1)), logger: logger)] : []
        let group = ServiceGroup(
            services: [
                delivery, EffectService(executor: effects), TurnService(runtime: server.runtime, pollInterval: poll),
                FlowReloadService(server: server, folder: configuration.flows, watch: watch, logger: logger),
            ] + shared + [
                RetentionService(
                    store: store,
                    retention: configuration.retention,
                    metrics: server.metrics,
                    logger: Logger(label: "parley.retention")
                ),
                app,
                ShutdownNotice(server: server),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        try await group.run()
    }

    /// The name this instance claims work under: `cluster.instanceId`, else `HOST:PORT` of the machine and the
    /// server's port, which no other live instance on the machine can share; with port 0 a random suffix stands in.
    /// A restarted instance with the same name takes its claims back at once instead of waiting for their leases.
    static func instanceId(_ configuration: Configuration) -> String {
        if let id = configuration.cluster.instanceId { return id }
        let host = ProcessInfo.processInfo.hostName
        let port = configuration.server.port
        return port == 0 ? "\(host):0-\(UUID().uuidString.prefix(8).lowercased())" : "\(host):\(port)"
    }
}
