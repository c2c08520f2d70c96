import Foundation
import Hummingbird
import Logging
import ParleyEndpoints
import ParleyFlows
import ParleyRuntime
import ParleyStore

extension ParleyServer {
    /// `/api/v1`: API keys, sessions and transcripts, the outbox (DESIGN §5.6), behind `Authorization: Bearer`.
    func addAdminRoutes(to router: Router<ParleyRequestContext>) {
        let api = router.group("/api/v1")
        api.post("/endpoints/{name}/keys") { request, context in
            try self.authorize(request)
            let endpoint = try self.endpoint(context)
            let body = try await Self.collect(request, limit: 65_536)
            let (record, key) = try await APIKeys.create(
                endpoint: endpoint.name,
                name: try AdminRequest.keyName(body: body),
                in: self.store,
                now: Date()
            )
            return JSONResponse.make(
                [
                    "id": .string(record.id), "name": .string(record.name), "key": .string(key), "keyPreview": .string(record.keyPreview),
                    "createdAt": .string(Runtime.timestamp(record.createdAt)),
                ],
                status: .created
            )
        }
        api.get("/endpoints/{name}/keys") { request, context in
            try self.authorize(request)
            let endpoint = try self.endpoint(context)
            let keys = try await self.store.keys(endpoint: endpoint.name).map { key -> JSONValue in
                [
                    "id": .string(key.id), "name": .string(key.name), "keyPreview": .string(key.keyPreview),
                    "createdAt": .string(Runtime.timestamp(key.createdAt)),
                    "revokedAt": key.revokedAt.map { .string(Runtime.timestamp($0)) } ?? .null,
                ]
            }
            return JSONResponse.make(["keys": .array(keys)])
        }
        api.delete("/endpoints/{name}/keys/{id}") { request, context in
            try self.authorize(request)
            let endpoint = try self.endpoint(context)
            guard try await self.store.revokeKey(endpoint: endpoint.name, id: Self.parameter("id", of: context), at: Date()) else {
                throw APIError.unknownKey
            }
            return Response(status: .noContent)
        }
        api.get("/endpoints") { request, _ in
            try self.authorize(request)
            let paused = Dictionary(try await self.store.pausedEndpoints().map { ($0.endpoint, $0) }, uniquingKeysWith: { first, _ in first })
            let endpoints = self.configuration.endpoints.map { endpoint -> JSONValue in
                [
                    "name": .string(endpoint.name), "type": .string(endpoint.kind.rawValue), "flow": .string(endpoint.flow),
                    "url": .string(self.configuration.endpointURL(endpoint)), "enabled": .bool(endpoint.enabled),
                    "paused": .bool(paused[endpoint.name] != nil),
                    "pause": paused[endpoint.name].map(Self.describe) ?? .null,
                ]
            }
            return JSONResponse.make(["endpoints": .array(endpoints)])
        }
        api.post("/endpoints/{name}/pause") { request, context in
            try self.authorize(request)
            let endpoint = try self.endpoint(context)
            let paused = try await self.store.pauseEndpoint(endpoint.name, reason: "admin: paused through the admin API", at: Date())
            if paused {
                self.logger.warning("endpoint paused: its messages are kept until it is resumed", metadata: ["parley.endpoint": "\(endpoint.name)"])
            }
            return JSONResponse.make(["endpoint": .string(endpoint.name), "paused": true, "changed": .bool(paused)])
        }
        api.post("/endpoints/{name}/resume") { request, context in
            try self.authorize(request)
            let endpoint = try self.endpoint(context)
            let resumed = try await self.store.resumeEndpoint(endpoint.name, at: Date())
            if resumed {
                self.logger.notice("endpoint resumed: its kept messages are delivered in order", metadata: ["parley.endpoint": "\(endpoint.name)"])
                self.wakeDelivery()
            }
            return JSONResponse.make(["endpoint": .string(endpoint.name), "paused": false, "changed": .bool(resumed)])
        }
        api.get("/sessions") { request, context in
            try self.authorize(request)
            let limit = try AdminRequest.limit(request.uri.queryParameters.get("limit"))
            let sessions = try await self.store.sessions(endpoint: request.uri.queryParameters.get("endpoint"), limit: limit)
            return JSONResponse.make(["sessions": .array(sessions.map(Self.summary))])
        }
        api.get("/sessions/{endpoint}/{user}/{session}") { request, context in
            try self.authorize(request)
            guard let stored = try await self.store.session(try Self.sessionKey(context)) else { throw APIError.unknownSession }
            var object = Self.summary(stored).objectValue ?? [:]
            object["state"] = (try? JSONValue.parse(stored.state)) ?? .null
            return JSONResponse.make(.object(object))
        }
        api.get("/sessions/{endpoint}/{user}/{session}/transcript") { request, context in
            try self.authorize(request)
            let key = try Self.sessionKey(context)
            let records = try await self.store.transcript(key)
            guard !records.isEmpty else { throw APIError.unknownSession }
            let transcript = try Transcript(key: key, records: records)
            return Response(
                status: .ok,
                headers: [.contentType: "application/x-ndjson"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: transcript.jsonLines))
            )
        }
        api.get("/outbox") { request, context in
            try self.authorize(request)
            let status = try AdminRequest.outboxStatus(request.uri.queryParameters.get("status"))
            let limit = try AdminRequest.limit(request.uri.queryParameters.get("limit"))
            let messages = try await self.store.messages(status: status, limit: limit).map(Self.describe)
            return JSONResponse.make(["messages": .array(messages)])
        }
        api.post("/outbox/retry") { request, context in
            try self.authorize(request)
            let body = try await Self.collect(request, limit: 1_048_576)
            let ids = try AdminRequest.retryIds(body: body)
            let retried = try await self.store.retryDead(ids: ids, now: Date())
            if retried > 0 { self.wakeDelivery() }
            return JSONResponse.make(["retried": .number(Double(retried))])
        }
        api.get("/inbox") { request, context in
            try self.authorize(request)
            let status = try AdminRequest.inboxStatus(request.uri.queryParameters.get("status"))
            let limit = try AdminRequest.limit(request.uri.queryParameters.get("limit"))
            let inputs = try await self.store.inputs(status: status, limit: limit).map(Self.describe)
            return JSONResponse.make(["inputs": .array(inputs)])
        }
        api.post("/inbox/retry") { request, context in
            try self.authorize(request)
            let body = try await Self.collect(request, limit: 1_048_576)
            let ids = try AdminRequest.retryIds(body: body)
            let retried = try await self.store.retryDeadInputs(ids: ids, now: Date())
            if retried > 0 { await self.runtime.wake() }
            return JSONResponse.make(["retried": .number(Double(retried))])
        }
        api.delete("/users/{userId}") { request, context in
            try self.authorize(request)
            let userId = try AdminRequest.userId(Self.parameter("userId", of: context))
            let counts = try await self.store.eraseUser(userId)
            self.logger.notice(
                "user erased",
                metadata: ["parley.erased": "\(counts.profiles + counts.sessions + counts.transcripts + counts.inbox + counts.outbox) rows"]
            )
            return JSONResponse.make([
                "profiles": .number(Double(counts.profiles)), "sessions": .number(Double(counts.sessions)),
                "transcripts": .number(Double(counts.transcripts)), "inbox": .number(Double(counts.inbox)),
                "outbox": .number(Double(counts.outbox)),
            ])
        }
    }

    /// Constant-time comparison with the configured admin token; no token configured turns the API off.
    private func authorize(_ request: Request) throws {
        guard !configuration.server.adminToken.isEmpty else { throw APIError.adminDisabled }
        guard adminTokenMatches(request) == true else { throw APIError.unauthorized }
    }

    /// Whether the request's `Authorization: Bearer` is the admin token (compared in constant time); nil when it sends
    /// no bearer token or no admin token is configured.
    func adminTokenMatches(_ request: Request) -> Bool? {
        let token = configuration.server.adminToken
        // The scheme name is case-insensitive (RFC 9110 §11.1).
        guard !token.isEmpty, let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer "
        else { return nil }
        let presented = Array(header.dropFirst("Bearer ".count).utf8)
        let expected = Array(token.utf8)
        var difference = UInt8(presented.count == expected.count ? 0 : 1)
        for index in expected.indices { difference |= expected[index] ^ (index < presented.count ? presented[index] : 0) }
        return difference == 0
    }

    private func endpoint(_ context: ParleyRequestContext) throws -> Endpoint {
        guard let endpoint = directory.endpoint(named: Self.parameter("name", of: context)) else { throw APIError.unknownEndpointName }
        return endpoint
    }

    private static func sessionKey(_ context: ParleyRequestContext) throws -> SessionKey {
        SessionKey(endpoint: parameter("endpoint", of: context), userId: parameter("user", of: context), sessionId: parameter("session", of: context))
    }

    /// A path parameter, percent-decoded: ids may hold any character but control characters, and a client sends
    /// `é` as `%C3%A9` and `a b` as `a%20b`. A malformed escape is kept as it is (and then names nothing).
    static func parameter(_ name: String, of context: ParleyRequestContext) -> String {
        let raw = context.parameters.get(name) ?? ""
        return raw.removingPercentEncoding ?? raw
    }

    static func describe(_ pause: EndpointPause) -> JSONValue {
        ["reason": .string(pause.reason), "pausedAt": .string(Runtime.timestamp(pause.pausedAt))]
    }

    private static func summary(_ session: StoredSession) -> JSONValue {
        let turns = (try? JSONValue.parse(session.state))?["executionCount"] ?? 0
        return [
            "endpoint": .string(session.key.endpoint), "userId": .string(session.key.userId), "sessionId": .string(session.key.sessionId),
            "flowHash": .string(session.flowHash), "updatedAt": .string(Runtime.timestamp(session.updatedAt)), "turns": turns,
        ]
    }

    /// An input as the inbox list shows it: where it belongs and why it failed, never its payload (which may be
    /// sensitive).
    private static func describe(_ input: InboxEntry) -> JSONValue {
        [
            "id": .number(Double(input.id ?? 0)), "status": .string(input.status.rawValue), "attempts": .number(Double(input.attempts)),
            "endpoint": .string(input.key.endpoint), "userId": .string(input.key.userId), "sessionId": .string(input.key.sessionId),
            "kind": .string(input.kind), "traceId": .string(input.traceId), "acceptedAt": .string(Runtime.timestamp(input.acceptedAt)),
            "lastError": input.lastError.map(JSONValue.string) ?? .null,
        ]
    }

    private static func describe(_ message: OutgoingMessage) -> JSONValue {
        [
            "id": .number(Double(message.id ?? 0)), "status": .string(message.status.rawValue), "attempts": .number(Double(message.attempts)),
            "endpoint": .string(message.key.endpoint), "userId": .string(message.key.userId), "sessionId": .string(message.key.sessionId),
            "destination": .string(message.destination), "idempotencyKey": .string(message.idempotencyKey),
            "createdAt": .string(Runtime.timestamp(message.createdAt)), "nextAttemptAt": .string(Runtime.timestamp(message.nextAttemptAt)),
            "lastError": message.lastError.map(JSONValue.string) ?? .null,
        ]
    }
}
