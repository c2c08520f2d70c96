import Foundation
import Hummingbird
import Logging

/// A real webhook receiver on 127.0.0.1 (Hummingbird 2 on an ephemeral port): every test programs its answers and
/// reads back what arrived.
public final class WebhookReceiver: Sendable {
    /// One request as it arrived.
    public struct Received: Sendable {
        public var path: String
        public var method: String
        /// Header values by lowercased name (repeated headers joined with ", ").
        public var headers: [String: String]
        public var body: [UInt8]
        /// The status the receiver answered with.
        public var status: Int
        /// How many requests with this idempotency key arrived before and including this one.
        public var attempt: Int

        public var bodyText: String { String(decoding: body, as: UTF8.self) }
        /// The `session` field of hand-made test bodies, else the `sessionId` of Parley's bodies.
        public var session: String? { (json?["session"] ?? json?["sessionId"]) as? String }
        /// The `n` field of hand-made test bodies, when present.
        public var number: Int? { json?["n"] as? Int }
        /// `AIOutput.text`, when present.
        public var text: String? { (json?["AIOutput"] as? [String: Any])?["text"] as? String }
        /// `AIOutput.source`, when present.
        public var source: String? { (json?["AIOutput"] as? [String: Any])?["source"] as? String }
        public var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] }
    }

    /// What to answer.
    public struct Reply: Sendable {
        public var status: Int
        /// A `Retry-After` header to send.
        var retryAfter: String?
        /// Wait until ``WebhookReceiver/releaseHeld()`` before answering.
        public var hold: Bool
        /// Take this long to answer, so deliveries overlap.
        public var delayMs: Int

        public init(status: Int = 200, retryAfter: String? = nil, hold: Bool = false, delayMs: Int = 0) {
            self.status = status
            self.retryAfter = retryAfter
            self.hold = hold
            self.delayMs = delayMs
        }

        public static let ok = Reply()
    }

    /// Decides the answer from the request and the number of its idempotency key's attempts so far (1-based).
    public typealias Script = @Sendable (Received) -> Reply

    public let port: Int
    private let state: State
    private let task: Task<Void, any Error>

    public var url: String { "http://127.0.0.1:\(port)/hook" }
    public func url(_ path: String) -> String { "http://127.0.0.1:\(port)/\(path)" }

    private init(port: Int, state: State, task: Task<Void, any Error>) {
        self.port = port
        self.state = state
        self.task = task
    }

    /// Starts a receiver on `port` (0: any free port) answering every POST by `script`.
    public static func start(port: Int = 0, script: @escaping Script = { _ in .ok }) async throws -> WebhookReceiver {
        let state = State(script: script)
        let router = Router()
        router.post("{path}") { request, _ -> Response in
            var request = request
            let buffer = try await request.collectBody(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers {
                let name = field.name.canonicalName
                headers[name] = headers[name].map { "\($0), \(field.value)" } ?? field.value
            }
            let arrived = Received(
                path: request.uri.path,
                method: request.method.rawValue,
                headers: headers,
                body: Array(buffer.readableBytesView),
                status: 0,
                attempt: 0
            )
            let reply = await state.arrive(arrived)
            if reply.hold { await state.waitForRelease() }
            if reply.delayMs > 0 { try? await Task.sleep(for: .milliseconds(reply.delayMs)) }
            var fields = HTTPFields()
            if let retryAfter = reply.retryAfter { fields[.retryAfter] = retryAfter }
            await state.leave(arrived)
            return Response(status: .init(code: reply.status), headers: fields)
        }
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "test.receiver")
        logger.logLevel = .critical
        let app = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        let task = Task {
            defer { portContinuation.finish() }
            try await app.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let bound = await iterator.next(), bound > 0 else {
            task.cancel()
            _ = await task.result
            throw ReceiverError(message: "the receiver did not start on port \(port)")
        }
        return WebhookReceiver(port: bound, state: state, task: task)
    }

    /// Stops the server (after answering held requests).
    public func stop() async {
        await state.release()
        task.cancel()
        _ = await task.result
    }

    /// Every request so far, in arrival order.
    public var requests: [Received] { get async { await state.requests } }

    /// Requests answered with a `2xx`, in arrival order.
    public var accepted: [Received] { get async { await state.requests.filter { (200...299).contains($0.status) } } }

    /// The largest number of requests of one session that were being answered at the same time.
    public var maxConcurrentPerSession: Int { get async { await state.maxConcurrentPerSession } }

    /// Replaces the script.
    public func answer(_ script: @escaping Script) async { await state.setScript(script) }

    /// Answers held requests (and, from now on, does not hold any).
    public func releaseHeld() async { await state.release() }

    /// Waits (at most about `seconds`, polling) until `condition` holds for the requests; returns whether it did.
    public func waitUntil(seconds: Int = 10, _ condition: @Sendable ([Received]) -> Bool) async -> Bool {
        for _ in 0..<(seconds * 100) {
            if condition(await state.requests) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    public struct ReceiverError: Error { public var message: String }

    private actor State {
        public var requests: [Received] = []
        var script: Script
        var released = false
        var held: [CheckedContinuation<Void, Never>] = []
        var active: [String: Int] = [:]
        var maxConcurrentPerSession = 0
        var attempts: [String: Int] = [:]

        init(script: @escaping Script) { self.script = script }

        func setScript(_ script: @escaping Script) { self.script = script }

        func arrive(_ request: Received) -> Reply {
            var request = request
            let key = request.headers["idempotency-key"] ?? ""
            attempts[key, default: 0] += 1
            request.attempt = attempts[key, default: 1]
            let reply = script(request)
            request.status = reply.status
            requests.append(request)
            let session = request.session ?? ""
            active[session, default: 0] += 1
            maxConcurrentPerSession = max(maxConcurrentPerSession, active[session, default: 0])
            return reply
        }

        func leave(_ request: Received) {
            active[request.session ?? "", default: 1] -= 1
        }

        func waitForRelease() async {
            if released { return }
            await withCheckedContinuation { held.append($0) }
        }

        func release() {
            released = true
            for continuation in held { continuation.resume() }
            held.removeAll()
        }
    }
}
