import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ParleyRuntime
import ParleyStore

// One HTTP attempt: resolving the target, building the request, classifying the answer.

extension DeliveryService {
    /// The client configuration the service uses for a client it owns: no redirects, the settings' connect and
    /// read timeouts, and enough connections per host for every delivery in flight to have its own, so one slow
    /// session never queues another behind it. Use it when injecting a client of your own.
    public static func httpClientConfiguration(_ settings: Settings) -> HTTPClient.Configuration {
        let timeout = TimeAmount.milliseconds(Int64(settings.timeoutMs))
        var pool = HTTPClient.Configuration.ConnectionPool(
            idleTimeout: .seconds(60),
            concurrentHTTP1ConnectionsPerHostSoftLimit: settings.maxConcurrentDeliveries
        )
        // A refused connection fails the attempt at once (and is retried by the outbox's backoff) instead of
        // holding a delivery slot for the whole timeout while the client retries the connection itself.
        pool.retryConnectionEstablishment = false
        return HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: HTTPClient.Configuration.Timeout(connect: timeout, read: timeout),
            connectionPool: pool
        )
    }

    /// What one attempt came to, before the retry policy looks at it.
    enum AttemptResult: Sendable {
        case delivered(status: Int)
        case failed(DeliveryError, retryAfter: TimeInterval?)
        /// The service is stopping: the message stays as it was.
        case abandoned
    }

    /// The target a message goes to, or why it has none (never retryable: the configuration must change first).
    static func target(of message: OutgoingMessage, endpoint: Endpoint?) -> Result<Endpoint.Target, DeliveryError> {
        let name = message.key.endpoint
        guard let endpoint else { return .failure(.unknownEndpoint(name)) }
        let target: Endpoint.Target?
        switch message.destination {
        case "webhook": target = endpoint.webhook
        case "handover": target = endpoint.handover
        default: return .failure(.unknownDestination(message.destination, endpoint: name))
        }
        guard let target, !target.url.isEmpty else { return .failure(.noTarget(message.destination, endpoint: name)) }
        guard let url = URL(string: target.url), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else { return .failure(.invalidURL(message.destination, endpoint: name)) }
        return .success(target)
    }

    /// The POST of a message: its body unchanged, JSON content type, its idempotency key, Basic auth when the target
    /// has a user, the service's user agent, and with signing secrets the Standard Webhooks headers.
    static func request(
        for message: OutgoingMessage,
        to target: Endpoint.Target,
        userAgent: String,
        signingSecrets: [SigningSecret] = [],
        timestamp: Date = Date()
    ) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: target.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Idempotency-Key", value: message.idempotencyKey)
        request.headers.add(name: "User-Agent", value: userAgent)
        if let user = target.user {
            request.headers.add(name: "Authorization", value: basicAuthorization(user: user, password: target.password ?? ""))
        }
        let body = Data(message.payload.utf8)
        if !signingSecrets.isEmpty {
            let signature = WebhookSignature(id: message.idempotencyKey, timestamp: timestamp, body: body)
            request.headers.add(name: "webhook-id", value: signature.id)
            request.headers.add(name: "webhook-timestamp", value: String(signature.seconds))
            request.headers.add(name: "webhook-signature", value: signature.header(secrets: signingSecrets))
        }
        request.body = .bytes(body)
        return request
    }

    /// `Basic base64(user:password)` (RFC 7617).
    static func basicAuthorization(user: String, password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    /// Sends a request and classifies the outcome. The answer's body is read (up to 64 KiB) and dropped: it is never
    /// logged or stored.
    static func send(_ request: HTTPClientRequest, client: HTTPClient, settings: Settings) async -> AttemptResult {
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(settings.timeoutMs)))
            let status = Int(response.status.code)
            let retryAfterHeader = response.headers.first(name: "Retry-After")
            _ = try? await response.body.collect(upTo: 64 * 1024)
            if (200...299).contains(status) { return .delivered(status: status) }
            var retryAfter: TimeInterval?
            if status == 429 || status == 503, let retryAfterHeader {
                retryAfter = settings.retry.retryAfter(retryAfterHeader, now: settings.now())
            }
            return .failed(.httpStatus(status, retryAfter: retryAfter), retryAfter: retryAfter)
        } catch {
            if Task.isCancelled { return .abandoned }
            return .failed(classify(error, timeoutMs: settings.timeoutMs), retryAfter: nil)
        }
    }

    /// Maps a client error to a retryable failure: a timeout, or a connection problem described without the body.
    static func classify(_ error: any Error, timeoutMs: Int) -> DeliveryError {
        if let error = error as? HTTPClientError,
            [.deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout, .getConnectionFromPoolTimeout].contains(error)
        {
            return .timeout(milliseconds: timeoutMs)
        }
        let detail = ConnectionFailure.describe(error)
        return .connection(detail.count > 300 ? String(detail.prefix(300)) + "…" : detail)
    }
}
