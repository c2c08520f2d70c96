import Foundation
import Hummingbird
import Logging

/// A loopback stand-in for a system Parley calls (an orders API, an OpenAI-compatible model server, an NLU service):
/// Hummingbird 2 on an ephemeral port of 127.0.0.1, answering every request by a script and keeping what arrived.
public final class StubServer: Sendable {
    /// One request as it arrived.
    public struct Request: Sendable {
        public var method: String
        /// The path with its query string.
        public var path: String
        /// Header values by lowercased name.
        public var headers: [String: String]
        public var body: [UInt8]

        public var bodyText: String { String(decoding: body, as: UTF8.self) }
        /// The body parsed as JSON (Foundation objects), when it is JSON.
        public var json: Any? { try? JSONSerialization.jsonObject(with: Data(body)) }
    }

    /// An answer: a status, a body (JSON text by default) and how long to take.
    public struct Reply: Sendable {
        public var status: Int
        public var body: String
        public var contentType: String
        public var delayMs: Int

        public init(status: Int = 200, body: String = "{}", contentType: String = "application/json", delayMs: Int = 0) {
            self.status = status
            self.body = body
            self.contentType = contentType
            self.delayMs = delayMs
        }

        /// A JSON answer built from Foundation objects.
        public static func json(_ object: Any, status: Int = 200, delayMs: Int = 0) -> Reply {
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
            return Reply(status: status, body: String(decoding: data, as: UTF8.self), delayMs: delayMs)
        }
    }

    /// Decides the answer from the request and how many requests came before it (0-based).
    public typealias Script = @Sendable (Request, Int) -> Reply

    public let port: Int
    private let state: State
    private let task: Task<Void, any Error>

    public var base: String { "http://127.0.0.1:\(port)" }

    private init(port: Int, state: State, task: Task<Void, any Error>) {
        self.port = port
        self.state = state
        self.task = task
    }

    public static func start(script: @escaping Script) async throws -> StubServer {
        let state = State(script: script)
        let router = Router()
        let handler: @Sendable (Hummingbird.Request, BasicRequestContext) async throws -> Response = { request, _ in
            var request = request
            let buffer = try await request.collectBody(upTo: 1 << 22)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let query = request.uri.query.map { "?\($0)" } ?? ""
            let arrived = Request(
                method: request.method.rawValue,
                path: request.uri.path + query,
                headers: headers,
                body: Array(buffer.readableBytesView)
            )
            let reply = await state.arrive(arrived)
            if reply.delayMs > 0 { try? await Task.sleep(for: .milliseconds(reply.delayMs)) }
            await state.leave()
            var fields = HTTPFields()
            fields[.contentType] = reply.contentType
            return Response(status: .init(code: reply.status), headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: reply.body)))
        }
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            router.on("**", method: method, use: handler)
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "test.stub")
        logger.logLevel = .critical
        let app = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
            logger: logger
        )
        let task = Task {
            defer { continuation.finish() }
            try await app.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let bound = await iterator.next(), bound > 0 else {
            task.cancel()
            _ = await task.result
            throw WebhookReceiver.ReceiverError(message: "the stub server did not start")
        }
        return StubServer(port: bound, state: state, task: task)
    }

    public func stop() async {
        task.cancel()
        _ = await task.result
    }

    /// Every request so far, in arrival order.
    public var requests: [Request] { get async { await state.requests } }

    /// Replaces the script.
    public func answer(_ script: @escaping Script) async { await state.setScript(script) }

    /// The most requests that were being answered at the same time.
    public var maxConcurrent: Int { get async { await state.maxActive } }

    private actor State {
        var requests: [Request] = []
        var script: Script
        var active = 0
        var maxActive = 0

        init(script: @escaping Script) { self.script = script }

        func setScript(_ script: @escaping Script) { self.script = script }

        func arrive(_ request: Request) -> Reply {
            let reply = script(request, requests.count)
            requests.append(request)
            active += 1
            maxActive = max(maxActive, active)
            return reply
        }

        func leave() { active -= 1 }
    }
}

/// Chat Completions answers, as an OpenAI-compatible server gives them.
public enum ModelReply {
    public static func content(_ text: String, delayMs: Int = 0) -> StubServer.Reply {
        .json(
            [
                "id": "chatcmpl-1", "object": "chat.completion",
                "choices": [["index": 0, "message": ["role": "assistant", "content": text], "finish_reason": "stop"]],
            ],
            delayMs: delayMs
        )
    }

    public static func toolCall(_ name: String, arguments: [String: Any], id: String = "call_1") -> StubServer.Reply {
        let argumentText = String(
            decoding: (try? JSONSerialization.data(withJSONObject: arguments, options: [.sortedKeys])) ?? Data("{}".utf8),
            as: UTF8.self
        )
        return .json([
            "id": "chatcmpl-2", "object": "chat.completion",
            "choices": [
                [
                    "index": 0,
                    "message": [
                        "role": "assistant", "content": NSNull(),
                        "tool_calls": [["id": id, "type": "function", "function": ["name": name, "arguments": argumentText]]],
                    ],
                    "finish_reason": "tool_calls",
                ]
            ],
        ])
    }
}
