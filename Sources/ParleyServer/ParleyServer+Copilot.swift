import Foundation
import Hummingbird
import ParleyEndpoints
import ParleyFlows
import ParleyRuntime
import ParleyStore

extension ParleyServer {
    /// The agent workspace: the page and its assets, the state as JSON and the live stream (DESIGN §5.5).
    func addCopilotRoutes(to router: Router<BasicRequestContext>) {
        router.get("/copilot") { request, _ in
            // The page loads app.js and style.css by relative path: it must be served from /copilot/.
            guard request.uri.path.hasSuffix("/") else {
                let query = request.uri.query.map { "?\($0)" } ?? ""
                return Response(status: .movedPermanently, headers: [.location: "/copilot/\(query)"])
            }
            return try self.copilotAsset("index.html", type: "text/html; charset=utf-8")
        }
        router.get("/copilot/app.js") { _, _ in try self.copilotAsset("app.js", type: "text/javascript; charset=utf-8") }
        router.get("/copilot/style.css") { _, _ in try self.copilotAsset("style.css", type: "text/css; charset=utf-8") }
        router.get("/copilot/state") { request, _ in
            let key = try self.copilotSession(request)
            return JSONResponse.make(try await self.workspaceState(key))
        }
        router.get("/copilot/events") { request, _ in
            let key = try self.copilotSession(request)
            if self.isShuttingDown { throw APIError.shuttingDown }
            // Subscribe before reading the stored state, so no change can fall between the two.
            let updates = self.workspaces.watch(key)
            let initial = try await self.workspaceState(key)
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody { writer in
                    // One stream of everything to write, fed by the updates and a keep-alive every 15 s; the
                    // writer is used from this task only. A closed connection fails the write and ends both feeds.
                    let (events, feed) = AsyncStream.makeStream(of: String.self)
                    let pump = Task {
                        for await state in updates { feed.yield(Self.event(state)) }
                        feed.finish()
                    }
                    let beat = Task {
                        while !Task.isCancelled {
                            try? await Task.sleep(for: .seconds(15))
                            feed.yield(": keep-alive\n\n")
                        }
                    }
                    defer {
                        pump.cancel()
                        beat.cancel()
                    }
                    try await writer.write(ByteBuffer(string: Self.event(initial)))
                    for await text in events { try await writer.write(ByteBuffer(string: text)) }
                    try await writer.finish(nil)
                }
            )
        }
    }

    private static func event(_ state: JSONValue) -> String {
        "event: state\ndata: \(state.canonicalJSON)\n\n"
    }

    /// The session of a workspace request: `userId`, `sessionId` and the `URLToken` of a voice copilot endpoint.
    private func copilotSession(_ request: Request) throws -> SessionKey {
        let query = request.uri.queryParameters
        guard let token = query.get("URLToken")?.lowercased(), let endpoint = configuration.endpoint(token: token),
            endpoint.kind == .voiceCopilot
        else { throw APIError.unknownEndpoint }
        guard let userId = query.get("userId"), !userId.isEmpty else { throw APIError.invalidField("userId", "is required") }
        guard let sessionId = query.get("sessionId"), !sessionId.isEmpty else { throw APIError.invalidField("sessionId", "is required") }
        return SessionKey(endpoint: endpoint.name, userId: userId, sessionId: sessionId)
    }

    private func workspaceState(_ key: SessionKey) async throws -> JSONValue {
        Workspace(json: try await store.workspace(key).flatMap { try? JSONValue.parse($0) }).json
    }

    private func copilotAsset(_ name: String, type: String) throws -> Response {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Resources/copilot"),
            let data = FileManager.default.contents(atPath: url.path)
        else { throw APIError.notFound }
        return Response(status: .ok, headers: [.contentType: type], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
