import Foundation
import Hummingbird
import ParleyEndpoints
import ParleyFlows
import ParleyRuntime
import ParleyStore
import Synchronization

extension ParleyServer {
    /// The agent workspace: the page and its assets, the state as JSON and the live stream (DESIGN §5.5).
    func addCopilotRoutes(to router: Router<ParleyRequestContext>) {
        router.get("/copilot") { request, _ in
            // The page loads app.js and style.css by relative path: it must be served from /copilot/.
            guard request.uri.path.hasSuffix("/") else {
                let query = request.uri.query.map { "?\($0)" } ?? ""
                return Response(status: .movedPermanently, headers: [.location: "/copilot/\(query)"])
            }
            // The page itself needs the same access as its data, so a link without it shows no session at all.
            if let endpoint = request.uri.queryParameters.get("URLToken").flatMap(self.directory.endpoint(token:)),
                endpoint.auth == .apiKey || endpoint.agentAuth == .required
            {
                _ = try await self.copilotSession(request)
            }
            return try self.copilotPage()
        }
        router.get("/copilot/app.js") { _, _ in try self.copilotAsset("app.js", type: "text/javascript; charset=utf-8") }
        router.get("/copilot/style.css") { _, _ in try self.copilotAsset("style.css", type: "text/css; charset=utf-8") }
        router.post("/copilot/action") { request, context in try await self.copilotAction(request, context: context) }
        router.get("/copilot/state") { request, _ in
            let key = try await self.copilotSession(request).key
            return JSONResponse.make(try await self.workspaceState(key))
        }
        router.get("/copilot/events") { request, _ in
            let (key, endpoint, credential) = try await self.copilotSession(request)
            if self.isShuttingDown { throw APIError.shuttingDown }
            try self.openEventStream(endpoint.name)
            // Subscribe before reading the stored state, so no change can fall between the two.
            let updates = self.workspaces.watch(key)
            let initial: JSONValue
            do {
                initial = try await self.workspaceState(key)
            } catch {
                // The stream never opens: its place is given back.
                self.closeEventStream(endpoint.name)
                throw error
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
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
                            try? await Task.sleep(for: self.eventKeepAlive)
                            // A stream opened with a signed link ends when the link expires, one opened with a key when
                            // the key is revoked; the page then needs a new link (its reconnect gets 401).
                            guard await self.stillAuthorized(credential, endpoint: endpoint) else {
                                feed.finish()
                                return
                            }
                            feed.yield(": keep-alive\n\n")
                        }
                    }
                    defer {
                        pump.cancel()
                        beat.cancel()
                        self.closeEventStream(endpoint.name)
                    }
                    try await writer.write(ByteBuffer(string: Self.event(initial)))
                    for await text in events { try await writer.write(ByteBuffer(string: text)) }
                    try await writer.finish(nil)
                }
            )
        }
    }

    /// Counts a new event stream of `endpoint`, or refuses it (`429 too_many_streams`) past the caps.
    private func openEventStream(_ endpoint: String) throws {
        let server = configuration.server
        let opened = eventStreams.withLock { open -> Bool in
            guard open.values.reduce(0, +) < server.maxEventStreams, open[endpoint, default: 0] < server.maxEventStreamsPerEndpoint else {
                return false
            }
            open[endpoint, default: 0] += 1
            return true
        }
        guard opened else { throw APIError.tooManyStreams }
    }

    private func closeEventStream(_ endpoint: String) {
        eventStreams.withLock { open in
            open[endpoint, default: 1] -= 1
            if open[endpoint] == 0 { open[endpoint] = nil }
        }
    }

    private static func event(_ state: JSONValue) -> String {
        "event: state\ndata: \(state.canonicalJSON)\n\n"
    }

    /// The session of a workspace request: `userId`, `sessionId` and the `URLToken` of any endpoint (every
    /// endpoint keeps a workspace), and how the request may act for the agent (``authorizeAgent(_:endpoint:session:)``:
    /// the admin token, an endpoint key or the session's signed `access` link).
    func copilotSession(_ request: Request) async throws -> (key: SessionKey, endpoint: Endpoint, credential: AgentCredential) {
        let query = request.uri.queryParameters
        guard let endpoint = query.get("URLToken").flatMap(directory.endpoint(token:)) else { throw APIError.unknownEndpoint }
        guard let userId = query.get("userId") else { throw APIError.invalidField("userId", "is required") }
        guard let sessionId = query.get("sessionId") else { throw APIError.invalidField("sessionId", "is required") }
        _ = try UserMessage.identifier(userId, "userId")
        _ = try UserMessage.identifier(sessionId, "sessionId")
        let credential = try await authorizeAgent(request, endpoint: endpoint, session: (userId, sessionId))
        return (SessionKey(endpoint: endpoint.name, userId: userId, sessionId: sessionId), endpoint, credential)
    }

    /// Whether a workspace stream may go on: a link until it expires, a key until it is revoked.
    func stillAuthorized(_ credential: AgentCredential, endpoint: Endpoint) async -> Bool {
        switch credential {
        case .admin, .url: true
        case .link(let expiry): Date() < expiry
        case .key(let key): (try? await keyMatches(key, endpoint: endpoint)) == true
        }
    }

    /// `POST /copilot/action?...`: `{tile, data}` from the workspace runs the endpoint's flow (channel `copilot`).
    private func copilotAction(_ request: Request, context: ParleyRequestContext) async throws -> Response {
        guard let endpoint = request.uri.queryParameters.get("URLToken").flatMap(directory.endpoint(token:)) else {
            metrics.request(endpoint: "unknown", status: 404)
            throw APIError.unknownEndpoint
        }
        return try await counted(endpoint) {
            try await self.checkOpen(endpoint)
            let (key, _, _) = try await self.copilotSession(request)
            let body = CopilotActionChannel.withSession(try await self.jsonBody(request), userId: key.userId, sessionId: key.sessionId)
            let inbox = try self.directory.channel(for: .copilotAction, on: endpoint).input(body, endpoint: endpoint)
            return try await self.accept(inbox, route: .copilotAction, context: context, endpoint: endpoint)
        }
    }

    /// The key workspace links are signed with: made on first use and kept in the store, so every instance shares it.
    func workspaceLinkSecret() async throws -> String {
        if let secret = linkSecret.withLock({ $0 }) { return secret }
        let secret = try await store.secret(named: WorkspaceLink.secretName, orCreate: { WorkspaceLink.newSecret() }, at: Date())
        linkSecret.withLock { $0 = secret }
        return secret
    }

    private func workspaceState(_ key: SessionKey) async throws -> JSONValue {
        Workspace(json: try await store.workspace(key).flatMap { try? JSONValue.parse($0) }).json
    }

    /// The page, told which agent desktops may embed it (`server.frameAncestors`): it posts its actions to its parent
    /// window only at one of those origins, never to `"*"`.
    private func copilotPage() throws -> Response {
        guard let url = Bundle.module.url(forResource: "index.html", withExtension: nil, subdirectory: "Resources/copilot"),
            let data = FileManager.default.contents(atPath: url.path)
        else { throw APIError.notFound }
        let origins = configuration.server.frameAncestors.joined(separator: " ")
            .replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        let html = String(decoding: data, as: UTF8.self)
            .replacingOccurrences(of: #"<meta name="parley-frame-ancestors" content="">"#, with: #"<meta name="parley-frame-ancestors" content="\#(origins)">"#)
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    private func copilotAsset(_ name: String, type: String) throws -> Response {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Resources/copilot"),
            let data = FileManager.default.contents(atPath: url.path)
        else { throw APIError.notFound }
        return Response(status: .ok, headers: [.contentType: type], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
