import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ParleyEndpoints
import ParleyEngine
import ParleyFlows
import ParleyRuntime
import ParleyStore

extension ParleyServer {
    /// Checks a request in DESIGN §5.1's order — endpoint, shutdown, enabled, API key, media type, size, body —
    /// stores it, and answers `202 {"traceId"}` (REST endpoints: `200` with the turn's outputs).
    func endpointRequest(_ request: Request, context: ParleyRequestContext, route: ChannelRoute) async throws -> Response {
        guard let endpoint = directory.endpoint(token: context.parameters.get("token") ?? "") else {
            metrics.request(endpoint: "unknown", status: 404)
            throw APIError.unknownEndpoint
        }
        return try await counted(endpoint) {
            try await self.checkOpen(endpoint)
            if route.isAgentSide {
                _ = try await self.authorizeAgent(request, endpoint: endpoint, session: nil)
            } else if endpoint.auth == .apiKey {
                guard let presented = Self.webhookKey(request) else { throw APIError.missingAPIKey }
                guard try await self.keyMatches(presented, endpoint: endpoint) else { throw APIError.invalidAPIKey }
            }
            let channel = self.directory.channel(for: route, on: endpoint)
            let inbox: InboxRequest
            var changed: [SessionKey: JSONValue] = [:]
            switch try await self.transformedBody(request, route: route, endpoint: endpoint) {
            case .ignored(let storages):
                try await EndpointTransformer.save(storages, to: .store(self.store))
                return JSONResponse.make(["traceId": .null, "ignored": true], status: .accepted)
            case .untransformed(let body):
                inbox = try channel.input(body, endpoint: endpoint)
            case .transformed(let body, let storages):
                // What a transformer returns is checked as the endpoint's own input is, under its own code; its
                // storage changes are saved only once the input is stored.
                do {
                    inbox = try channel.input(body, endpoint: endpoint)
                } catch let error as APIError {
                    throw APIError.invalidTransformerResult(error.message)
                }
                changed = storages
            }
            // Saved once the result is valid and before the input is stored, so the input's own turn (and its
            // handleOutput) reads what the hook left.
            try await EndpointTransformer.save(changed, to: .store(self.store))
            if route == .endpoint, let answering = self.directory.channel(of: endpoint) as? any AnsweringChannel {
                let outcome: TurnOutcome
                do {
                    outcome = try await self.runtime.acceptAndWait(inbox, timeout: self.restTimeout)
                } catch let error as RuntimeError where error == .turnTimeout {
                    throw APIError.turnTimeout
                }
                let answer = answering.answer(to: outcome)
                guard let transformer = self.directory.transformer(of: endpoint) else { return JSONResponse.make(answer) }
                return JSONResponse.make(try await transformer.executionFinished(answer, outcome: outcome, storage: .store(self.store)))
            }
            return try await self.accept(inbox, route: route, context: context, endpoint: endpoint)
        }
    }

    /// A request body after the endpoint's transformer hook for the route.
    enum TransformedBody {
        /// No hook: the body as sent.
        case untransformed(JSONObjectBody)
        /// The hook's result, and the session storages it changed (saved once the input is stored).
        case transformed(JSONObjectBody, [SessionKey: JSONValue])
        /// The hook ignored the request.
        case ignored([SessionKey: JSONValue])
    }

    /// The request's JSON body, passed through the endpoint's transformer hook for the route when there is one.
    func transformedBody(_ request: Request, route: ChannelRoute, endpoint: Endpoint) async throws -> TransformedBody {
        let body = try await jsonBody(request)
        guard let hook = EndpointTransformer.InputHook(route: route), let transformer = directory.transformer(of: endpoint) else {
            return .untransformed(body)
        }
        var headers: [String: String] = [:]
        for field in request.headers where !Self.secretHeaders.contains(field.name.canonicalName) {
            headers[field.name.canonicalName] = headers[field.name.canonicalName].map { "\($0), \(field.value)" } ?? field.value
        }
        var query: [String: String] = [:]
        for (name, value) in request.uri.queryParameters { query[String(name)] = String(value) }
        switch try await transformer.input(hook, body: .object(body.object), headers: headers, query: query, now: Date(), storage: .store(store)) {
        case .ignored(let changed): return .ignored(changed)
        case .untransformed: return .untransformed(body)
        case .body(let mapped, let changed): return .transformed(mapped, changed)
        }
    }

    /// Headers a transformer never sees: they carry the endpoint's key or other credentials.
    static let secretHeaders: Set<String> = ["x-webhook-key", "authorization", "cookie", "proxy-authorization"]

    /// Runs a request of an endpoint, counting its answer's status and turning unexpected errors into `500`.
    func counted(_ endpoint: Endpoint, _ body: () async throws -> Response) async throws -> Response {
        do {
            let response = try await body()
            metrics.request(endpoint: endpoint.name, status: Int(response.status.code))
            return response
        } catch let error as APIError {
            metrics.request(endpoint: endpoint.name, status: error.statusCode)
            throw error
        } catch {
            logger.error("request failed", metadata: ["endpoint": "\(endpoint.name)", "error": "\(error)"])
            metrics.request(endpoint: endpoint.name, status: 500)
            throw APIError.internalError
        }
    }

    /// `503` while shutting down, `403` for a disabled endpoint.
    func checkOpen(_ endpoint: Endpoint) async throws {
        if isShuttingDown { throw APIError.shuttingDown }
        guard endpoint.enabled else { throw APIError.endpointDisabled }
    }

    /// How an agent-side request proved who it acts for (DESIGN §5.4.1).
    enum AgentCredential: Sendable, Equatable {
        /// The admin token.
        case admin
        /// An active API key of the endpoint; a workspace stream re-checks it on every keep-alive.
        case key(String)
        /// A signed workspace link for the session, valid until its expiry.
        case link(expiry: Date)
        /// The endpoint URL alone (`agentAuth: none`).
        case url
    }

    /// DESIGN §5.4.1: inject, notify, the handover's message and end, and the workspace act for the agent, so the
    /// endpoint URL alone never authorises them. They take the admin token (`Authorization: Bearer`), an active
    /// `X-Webhook-Key` of the endpoint, or, on the workspace routes (`session` given), the session's signed `access`
    /// link; the URL alone only with `agentAuth: none` (and, on `auth: apiKey` endpoints, the key as before).
    ///
    /// - Throws: `401 invalid_access` for a wrong token or link (`invalid_api_key` for a wrong key outside the
    ///   workspace); without any credential `401 missing_api_key` on `auth: apiKey` endpoints outside the workspace,
    ///   else `401 missing_access`.
    func authorizeAgent(_ request: Request, endpoint: Endpoint, session: (userId: String, sessionId: String)?) async throws -> AgentCredential {
        if let admin = adminTokenMatches(request) {
            guard admin else { throw APIError.invalidAccess }
            return .admin
        }
        if let presented = Self.webhookKey(request) {
            guard try await keyMatches(presented, endpoint: endpoint) else {
                throw session == nil ? APIError.invalidAPIKey : APIError.invalidAccess
            }
            return .key(presented)
        }
        if let session, let access = request.uri.queryParameters.get("access"), !access.isEmpty {
            let secret = try await workspaceLinkSecret()
            guard WorkspaceLink.accepts(access, secret: secret, endpoint: endpoint.name, userId: session.userId, sessionId: session.sessionId, now: Date()),
                let expiry = WorkspaceLink.expiry(of: access)
            else { throw APIError.invalidAccess }
            return .link(expiry: expiry)
        }
        if endpoint.agentAuth == .none, endpoint.auth == .none { return .url }
        throw endpoint.auth == .apiKey && session == nil ? APIError.missingAPIKey : APIError.missingAccess
    }

    /// The `X-Webhook-Key` header, when one is sent.
    static func webhookKey(_ request: Request) -> String? {
        guard let value = request.headers[HTTPField.Name("X-Webhook-Key")!], !value.isEmpty else { return nil }
        return value
    }

    /// Whether a presented key is an active key of the endpoint (compared in constant time).
    func keyMatches(_ presented: String, endpoint: Endpoint) async throws -> Bool {
        APIKeys.matches(presented, among: try await store.keys(endpoint: endpoint.name))
    }

    /// The body as a JSON object: `415` unless it is JSON, `413` beyond the size limit, `400 invalid_json`.
    func jsonBody(_ request: Request) async throws -> JSONObjectBody {
        let mediaType = request.headers[.contentType]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard mediaType == "application/json" else { throw APIError.unsupportedMediaType }
        return try JSONObjectBody(bytes: try await Self.collect(request, limit: configuration.server.maxBodyBytes))
    }

    /// Stores an input and answers `202 {"traceId"}`.
    func accept(_ inbox: InboxRequest, route: ChannelRoute, context: ParleyRequestContext, endpoint: Endpoint) async throws -> Response {
        let accepted = try await runtime.accept(inbox)
        logger.info(
            "accepted",
            metadata: [
                "endpoint": "\(endpoint.name)", "traceId": "\(accepted.traceId)", "route": "\(route.rawValue)",
                "client": "\(ClientAddress.describe(context.clientIP, masked: endpoint.dataProtection.maskIPAddress))",
            ]
        )
        return JSONResponse.make(["traceId": .string(accepted.traceId)], status: .accepted)
    }

    /// The request body, at most `limit` bytes (`413 body_too_large` beyond).
    static func collect(_ request: Request, limit: Int) async throws -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit { throw APIError.bodyTooLarge(limit: limit) }
        var request = request
        do {
            let buffer = try await request.collectBody(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError.bodyTooLarge(limit: limit)
        }
    }
}
