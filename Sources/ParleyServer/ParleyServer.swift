import Foundation
import Hummingbird
import Logging
import ParleyEndpoints
import ParleyEngine
import ParleyFlows
import ParleyRuntime
import ParleyScript
import ParleyStore
import Prometheus
import Synchronization

/// The HTTP face of a deployment: routes requests to the adapters, the runtime and the store (DESIGN §5).
///
/// It owns the runtime; the composition root (`parley serve`) adds the runtime's turn loop, the delivery loop and
/// the HTTP server to one `ServiceGroup`, and calls ``beginShutdown()`` when a shutdown signal arrives so new
/// requests get `503 shutting_down` while running turns finish.
///
/// ```swift
/// let server = ParleyServer(configuration: configuration, flows: flows, flowFiles: files, store: store)
/// let app = Application(router: server.router(), configuration: .init(address: .hostname("127.0.0.1", port: 8080)))
/// ```
public final class ParleyServer: Sendable {
    public let configuration: Configuration
    public let store: any Store
    public let runtime: Runtime
    public let metrics: ServerMetrics
    /// Live workspace updates for `/copilot/events`.
    public let workspaces: WorkspaceHub
    /// The endpoints and the channels that serve them.
    public let directory: ChannelDirectory
    /// The key of workspace links (DESIGN §5.5), read from the store once.
    let linkSecret = Mutex<String?>(nil)
    let logger: Logger
    private let shuttingDown = Atomic<Bool>(false)
    /// How long a REST request waits for its turn.
    let restTimeout: Duration
    /// How often a workspace event stream sends a keep-alive and checks that its credential still holds.
    let eventKeepAlive: Duration
    /// Open workspace event streams, by endpoint (capped by `server.maxEventStreams` and
    /// `maxEventStreamsPerEndpoint`).
    let eventStreams = Mutex<[String: Int]>([:])
    /// Wakes the delivery loop (the runtime's `onCommit`): also called when dead letters are re-driven.
    let wakeDelivery: @Sendable () -> Void

    /// - Parameters:
    ///   - flows: the validated flows; `flowFiles` their YAML texts by file name, kept in the store for pinning.
    ///   - settings: runtime settings; `onCommit` should wake the delivery loop.
    public init(
        configuration: Configuration,
        flows: FlowSet,
        store: any Store,
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        settings: Runtime.Settings = Runtime.Settings(),
        logger: Logger = Logger(label: "parley"),
        restTimeout: Duration = .seconds(30),
        eventKeepAlive: Duration = .seconds(15)
    ) {
        self.configuration = configuration
        self.store = store
        self.logger = logger
        self.restTimeout = restTimeout
        self.eventKeepAlive = eventKeepAlive
        self.metrics = ServerMetrics(registry: registry)
        self.wakeDelivery = settings.onCommit
        let workspaces = WorkspaceHub()
        self.workspaces = workspaces
        var settings = settings
        let metrics = self.metrics
        let notify = settings.onWorkspace
        settings.onWorkspace = { key, state in
            workspaces.publish(key, state)
            notify(key, state)
        }
        let failure = settings.onInputFailure
        settings.onInputFailure = { dead in
            metrics.inputFailed(dead: dead)
            failure(dead)
        }
        let observe = settings.observeTurn
        settings.observeTurn = { duration in
            metrics.turnDuration.recordNanoseconds(duration.nanoseconds)
            observe(duration)
        }
        let directory = ChannelDirectory(
            endpoints: configuration.endpoints,
            scriptLimits: ScriptLimits(
                timeLimit: settings.engine.codeTimeout,
                maxAPICalls: settings.engine.maxAPICallsPerNode,
                memoryLimitBytes: settings.engine.codeMemoryLimitBytes
            )
        )
        self.directory = directory
        self.runtime = Runtime(
            store: store,
            flows: flows,
            endpoints: configuration.endpoints,
            router: ChannelRouter(directory: directory),
            settings: settings
        )
    }

    /// New requests get `503 shutting_down` from now on.
    public func beginShutdown() {
        shuttingDown.store(true, ordering: .relaxed)
        workspaces.finishAll()
    }

    var isShuttingDown: Bool { shuttingDown.load(ordering: .relaxed) }

    /// Every route of DESIGN §5.
    public func router() -> Router<ParleyRequestContext> {
        let router = Router(context: ParleyRequestContext.self)
        router.add(middleware: SecurityHeadersMiddleware(frameAncestors: configuration.server.frameAncestors))
        router.add(middleware: NotFoundMiddleware())
        router.get("/health") { _, _ in JSONResponse.make(["status": "ok"]) }
        router.get("/ready") { _, _ in try await self.ready() }
        router.get("/metrics") { _, _ in try await self.metricsText() }
        addAdminRoutes(to: router)
        addCopilotRoutes(to: router)
        // Every conversation route is one channel's; the copilot action's token is in its query (addCopilotRoutes).
        for route in ChannelRoute.allCases {
            guard let path = route.path else { continue }
            router.post(RouterPath(path)) { request, context in try await self.endpointRequest(request, context: context, route: route) }
            // Routes under an endpoint token take POST only: other methods get 405 with `Allow: POST` (404 for a token
            // no endpoint has).
            for method in [HTTPRequest.Method.get, .put, .delete, .patch] {
                router.on(RouterPath(path), method: method) { _, context -> Response in
                    guard self.directory.endpoint(token: context.parameters.get("token") ?? "") != nil else { throw APIError.unknownEndpoint }
                    throw APIError.methodNotAllowed
                }
            }
        }
        return router
    }

    // MARK: Operations

    private func ready() async throws -> Response {
        do {
            _ = try await store.sessions(endpoint: nil, limit: 1)
        } catch {
            throw APIError.notReady
        }
        // A paused endpoint is an operator's matter, not the server's: still ready, but listed.
        let paused = (try? await store.pausedEndpoints()) ?? []
        return JSONResponse.make([
            "status": "ready", "flowHash": .string(await runtime.flowHash),
            "pausedEndpoints": .array(paused.map { .string($0.endpoint) }),
        ])
    }

    private func metricsText() async throws -> Response {
        if let pending = try? await store.countMessages(status: .pending) { metrics.outboxDepth.set(to: Double(pending)) }
        if let dead = try? await store.countMessages(status: .dead) { metrics.deadLetters.set(to: Double(dead)) }
        if let dead = try? await store.countInputs(status: .dead) { metrics.deadInputs.set(to: Double(dead)) }
        if let paused = try? await store.pausedEndpoints() {
            let names = Set(paused.map(\.endpoint))
            for endpoint in configuration.endpoints { metrics.paused(endpoint: endpoint.name, names.contains(endpoint.name)) }
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer()))
        )
    }
}

extension Duration {
    var nanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
