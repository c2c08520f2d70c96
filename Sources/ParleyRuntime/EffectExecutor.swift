import AsyncHTTPClient
import Foundation
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import ParleyEngine
import ParleyFlows

/// Performs the effects turns ask for (DESIGN §3.1): the one place where flows reach the outside world.
public protocol EffectPerformer: Sendable {
    /// Performs `effect` for the turn of the input `traceId`, and returns its result and what the transcript
    /// records of it (masked).
    func perform(_ effect: Effect, traceId: String) async -> PerformedEffect
}

/// An effect's result and its record.
public struct PerformedEffect: Sendable {
    public var result: EffectResult
    public var record: EffectRecord

    public init(result: EffectResult, record: EffectRecord) {
        self.result = result
        self.record = record
    }
}

/// For runtimes without connections (`parley chat --store` without `--config`): every effect fails, so flows take
/// their `onError` paths.
public struct NoConnections: EffectPerformer {
    public init() {}

    public func perform(_ effect: Effect, traceId: String) async -> PerformedEffect {
        let result = EffectResult.failure("connection '\(effect.connection)' is unknown: no deployment connections are configured")
        return PerformedEffect(result: result, record: EffectRecord(effect: effect, url: "", headers: [], result: result, ms: 0))
    }
}

/// Performs effects with AsyncHTTPClient through the deployment's connections.
///
/// - Each connection has a client of its own with a pool of `maxConnections` connections (64), no redirects, and
///   the connection's timeout (the node's `timeoutMs` when it sets one).
/// - A request carries the connection's headers with the flow's merged over them, `Content-Type:
///   application/json` when it has a body, `Idempotency-Key: <traceId>-effect-<n>` (stable when a turn is retried),
///   and for a model connection `Authorization: Bearer <apiKey>`.
/// - A JSON answer is parsed; any other body is kept as text (up to 16 MiB; more is an error).
/// - Recorded and logged: the method, the URL without credentials, the status and the time; connection headers,
///   keys and credential headers are masked in records and never logged; bodies are never logged.
/// - Metrics per connection: `parley_effect_calls_total{connection,kind}`, `parley_effect_errors_total{connection,kind}`
///   (no answer, or a status of 400 and above) and `parley_effect_duration_seconds{connection}`.
///
/// Call ``shutdown()`` when done (``ParleyServer`` runs it as a service that shuts down after the turns).
public final class EffectExecutor: EffectPerformer {
    private let connections: [String: Connection]
    private let clients: [String: HTTPClient]
    private let logger: Logger

    /// The largest answer body read.
    public static let maxResponseBytes = 16 * 1024 * 1024

    public init(connections: [Connection], logger: Logger = Logger(label: "parley.effects")) {
        var byName: [String: Connection] = [:]
        var clients: [String: HTTPClient] = [:]
        for connection in connections where byName[connection.name] == nil {
            byName[connection.name] = connection
            var pool = HTTPClient.Configuration.ConnectionPool(
                idleTimeout: .seconds(60),
                concurrentHTTP1ConnectionsPerHostSoftLimit: connection.maxConnections
            )
            // A refused connection is an answer at once (the flow's onError), not a wait for the whole timeout.
            pool.retryConnectionEstablishment = false
            let timeout = TimeAmount.milliseconds(Int64(connection.effectiveTimeoutMs))
            clients[connection.name] = HTTPClient(
                eventLoopGroupProvider: .singleton,
                configuration: HTTPClient.Configuration(
                    redirectConfiguration: .disallow,
                    timeout: HTTPClient.Configuration.Timeout(connect: timeout, read: timeout),
                    connectionPool: pool
                )
            )
        }
        self.connections = byName
        self.clients = clients
        self.logger = logger
    }

    /// Shuts every connection's client down; performing afterwards fails.
    public func shutdown() async {
        for client in clients.values { try? await client.shutdown() }
    }

    public func perform(_ effect: Effect, traceId: String) async -> PerformedEffect {
        guard let connection = connections[effect.connection], let client = clients[effect.connection] else {
            return Self.failed(effect, "connection '\(effect.connection)' is not declared in the deployment")
        }
        guard connection.kind == effect.kind.connectionKind else {
            return Self.failed(
                effect,
                "connection '\(effect.connection)' has type \(connection.kind.rawValue), but a \(effect.kind.rawValue) call needs type \(effect.kind.connectionKind.rawValue)"
            )
        }
        let url = connection.url + effect.path
        let headers = Self.headers(of: effect, connection: connection, traceId: traceId)
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: effect.method)
        for header in headers { request.headers.add(name: header.name, value: header.value) }
        if let body = effect.body { request.body = .bytes(ByteBuffer(string: body.canonicalJSON)) }
        let timeout = effect.timeoutMs ?? connection.effectiveTimeoutMs
        let started = ContinuousClock.now
        let result: EffectResult
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout)))
            var answerHeaders: [String: String] = [:]
            for header in response.headers { answerHeaders[header.name.lowercased()] = header.value }
            let bytes = try await response.body.collect(upTo: Self.maxResponseBytes)
            result = .response(
                status: Int(response.status.code),
                headers: answerHeaders,
                body: Self.body(bytes, contentType: answerHeaders["content-type"])
            )
        } catch {
            result = .failure(Self.describe(error, timeoutMs: timeout))
        }
        let elapsed = ContinuousClock.now - started
        let milliseconds = Int(elapsed.components.seconds) * 1000 + Int(elapsed.components.attoseconds / 1_000_000_000_000_000)
        record(result, connection: connection.name, kind: effect.kind, elapsed: elapsed)
        let masked = Self.masked(headers, connection: connection)
        return PerformedEffect(
            result: result,
            record: EffectRecord(effect: effect, url: EffectMasking.strippingCredentials(url), headers: masked, result: result, ms: milliseconds)
        )
    }

    // MARK: Requests

    /// The connection's headers, the flow's merged over them (by name, ignoring case), then the ones Parley sets.
    static func headers(of effect: Effect, connection: Connection, traceId: String) -> [NamedValue] {
        var merged: [NamedValue] = connection.headers
        for header in effect.headers {
            merged.removeAll { $0.name.lowercased() == header.name.lowercased() }
            merged.append(header)
        }
        func set(_ name: String, _ value: String) {
            merged.removeAll { $0.name.lowercased() == name.lowercased() }
            merged.append(NamedValue(name: name, value: value))
        }
        if effect.body != nil, !merged.contains(where: { $0.name.lowercased() == "content-type" }) { set("Content-Type", "application/json") }
        if !merged.contains(where: { $0.name.lowercased() == "accept" }) { merged.append(NamedValue(name: "Accept", value: "application/json")) }
        set("Idempotency-Key", "\(traceId)-effect-\(effect.index)")
        if effect.kind == .llm, let key = connection.apiKey { set("Authorization", "Bearer \(key)") }
        return merged
    }

    /// What a record keeps of the headers: every connection header and every credential header masked.
    static func masked(_ headers: [NamedValue], connection: Connection) -> [NamedValue] {
        let fromConnection = Set(connection.headers.map { $0.name.lowercased() })
        return headers.map { header in
            let secret = fromConnection.contains(header.name.lowercased()) || EffectMasking.isCredential(header.name)
            return secret ? NamedValue(name: header.name, value: EffectRecord.mask) : header
        }
    }

    // MARK: Answers

    /// JSON when the answer says so and parses; else the text; `null` when empty.
    static func body(_ buffer: ByteBuffer, contentType: String?) -> JSONValue {
        guard buffer.readableBytes > 0 else { return .null }
        let text = String(buffer: buffer)
        if contentType?.lowercased().contains("json") == true, let json = try? JSONValue.parse(text) { return json }
        return .string(text)
    }

    static func describe(_ error: any Error, timeoutMs: Int) -> String {
        if let error = error as? HTTPClientError {
            if [.deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout, .getConnectionFromPoolTimeout].contains(error) {
                return "no answer within \(timeoutMs) ms"
            }
        }
        if error is NIOTooManyBytesError { return "the answer is larger than \(maxResponseBytes) bytes" }
        let detail = ConnectionFailure.describe(error)
        return "connection failed: " + (detail.count > 200 ? String(detail.prefix(200)) + "…" : detail)
    }

    private static func failed(_ effect: Effect, _ message: String) -> PerformedEffect {
        let result = EffectResult.failure(message)
        return PerformedEffect(result: result, record: EffectRecord(effect: effect, url: "", headers: [], result: result, ms: 0))
    }

    private func record(_ result: EffectResult, connection: String, kind: Effect.Kind, elapsed: Duration) {
        let dimensions = [("connection", connection), ("kind", kind.rawValue)]
        Counter(label: "parley_effect_calls_total", dimensions: dimensions).increment()
        Metrics.Timer(label: "parley_effect_duration_seconds", dimensions: [("connection", connection)]).record(duration: elapsed)
        switch result {
        case .failure(let message):
            Counter(label: "parley_effect_errors_total", dimensions: dimensions).increment()
            logger.warning(
                "effect failed",
                metadata: ["parley.connection": "\(connection)", "parley.effect": "\(kind.rawValue)", "error": "\(message)"]
            )
        case .response(let status, _, _):
            if status >= 400 { Counter(label: "parley_effect_errors_total", dimensions: dimensions).increment() }
            logger.debug(
                "effect answered",
                metadata: ["parley.connection": "\(connection)", "parley.effect": "\(kind.rawValue)", "http.status": "\(status)"]
            )
        }
    }
}
