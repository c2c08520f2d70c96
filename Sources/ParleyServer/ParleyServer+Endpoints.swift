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
    /// The routes that carry a conversation, all under an endpoint's URL token.
    enum EndpointRoute: String {
        case message, inject, notify, handoverMessage, handoverEnd
    }

    /// Checks a request in DESIGN §5.1's order — endpoint, shutdown, enabled, API key, media type, size, body —
    /// stores it, and answers `202 {"traceId"}` (REST endpoints: `200` with the turn's outputs).
    func endpointRequest(_ request: Request, context: BasicRequestContext, route: EndpointRoute) async throws -> Response {
        let token = (context.parameters.get("token") ?? "").lowercased()
        guard let endpoint = configuration.endpoint(token: token) else {
            metrics.request(endpoint: "unknown", status: 404)
            throw APIError.unknownEndpoint
        }
        do {
            let response = try await handle(request, endpoint: endpoint, route: route)
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

    private func handle(_ request: Request, endpoint: Endpoint, route: EndpointRoute) async throws -> Response {
        if isShuttingDown { throw APIError.shuttingDown }
        guard endpoint.enabled else { throw APIError.endpointDisabled }
        if endpoint.auth == .apiKey {
            guard let presented = request.headers[HTTPField.Name("X-Webhook-Key")!], !presented.isEmpty else { throw APIError.missingAPIKey }
            guard APIKeys.matches(presented, among: try await store.keys(endpoint: endpoint.name)) else { throw APIError.invalidAPIKey }
        }
        let mediaType = request.headers[.contentType]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard mediaType == "application/json" else { throw APIError.unsupportedMediaType }
        let body = try await Self.collect(request, limit: configuration.server.maxBodyBytes)

        let inbox: InboxRequest
        switch route {
        case .handoverEnd:
            let end = try HandoverEndRequest(body: body)
            inbox = InboxRequest(
                endpoint: endpoint.name,
                userId: end.userId,
                sessionId: end.sessionId,
                kind: .handoverEnd,
                payload: InboxPayload(channel: "handover", handover: .init(rawValue: end.status)),
                traceIdPrefix: "endpoint-handoverEnd"
            )
        case .message where endpoint.kind == .voiceCopilot:
            let utterance = try VoiceUtterance(body: body)
            inbox = InboxRequest(
                endpoint: endpoint.name,
                userId: utterance.userId,
                sessionId: utterance.sessionId,
                kind: utterance.final ? .message : .interim,
                payload: InboxPayload(text: utterance.text, data: utterance.data ?? [:], channel: "voiceCopilot", speaker: utterance.speaker),
                traceIdPrefix: "endpoint-voiceCopilot"
            )
        case .handoverMessage:
            // An agent's message is a message: DESIGN §5.4 requires its text.
            let message = try UserMessage(body: body)
            guard let text = message.text, !text.isEmpty else { throw APIError.invalidField("text", "is required for an agent's message") }
            inbox = InboxRequest(
                endpoint: endpoint.name,
                userId: message.userId,
                sessionId: message.sessionId,
                kind: .agentMessage,
                payload: InboxPayload(text: text, data: message.data ?? [:], channel: "agent"),
                traceIdPrefix: "endpoint-agentMessage"
            )
        default:
            let message = try UserMessage(body: body)
            let (kind, channel, prefix) = Self.describe(route, endpoint: endpoint)
            inbox = InboxRequest(
                endpoint: endpoint.name,
                userId: message.userId,
                sessionId: message.sessionId,
                kind: kind,
                payload: InboxPayload(text: message.text ?? "", data: message.data ?? [:], channel: channel),
                traceIdPrefix: prefix
            )
        }

        if endpoint.kind == .rest, route == .message {
            do {
                let outcome = try await runtime.acceptAndWait(inbox, timeout: restTimeout)
                return JSONResponse.make(RESTAnswer.body(for: outcome))
            } catch let error as RuntimeError where error == .turnTimeout {
                throw APIError.turnTimeout
            }
        }
        let accepted = try await runtime.accept(inbox)
        logger.info(
            "accepted",
            metadata: ["endpoint": "\(endpoint.name)", "traceId": "\(accepted.traceId)", "route": "\(route.rawValue)"]
        )
        return JSONResponse.make(["traceId": .string(accepted.traceId)], status: .accepted)
    }

    private static func describe(_ route: EndpointRoute, endpoint: Endpoint) -> (InboxEntry.Kind, String, String) {
        switch route {
        case .inject: (.message, "inject", "endpoint-inject")
        case .notify: (.notify, "notify", "endpoint-notify")
        case .handoverMessage: (.agentMessage, "agent", "endpoint-agentMessage")
        case .message, .handoverEnd: (.message, endpoint.kind.rawValue, "endpoint-httpIncomingMessage")
        }
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
