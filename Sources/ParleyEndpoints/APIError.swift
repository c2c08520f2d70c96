import ParleyFlows

/// An HTTP error with a stable code, rendered as `{"error": {"code": "...", "message": "..."}}` (DESIGN §5.1).
///
/// Every error the HTTP API can answer is built here, so codes and statuses live in one place.
public struct APIError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The HTTP status code.
    public let statusCode: Int
    /// The stable code clients switch on.
    public let code: String
    /// A human message.
    public let message: String
    /// Extra response headers (`Allow` on 405).
    public let headers: [String: String]

    public init(status: Int, code: String, message: String, headers: [String: String] = [:]) {
        self.statusCode = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    /// The JSON body.
    public var body: JSONValue { ["error": ["code": .string(code), "message": .string(message)]] }

    public var description: String { "\(statusCode) \(code): \(message)" }

    public static func invalidJSON(_ message: String = "the body is not a JSON object") -> APIError {
        APIError(status: 400, code: "invalid_json", message: message)
    }

    /// A field is missing or has the wrong type or size; the message names it.
    public static func invalidField(_ field: String, _ problem: String) -> APIError {
        APIError(status: 400, code: "invalid_field", message: "\(field): \(problem)")
    }

    public static let missingTextOrData = APIError(status: 400, code: "missing_text_or_data", message: "send 'text', 'data' or both")
    public static let missingAPIKey = APIError(status: 401, code: "missing_api_key", message: "this endpoint needs an X-Webhook-Key header")
    public static let invalidAPIKey = APIError(
        status: 401,
        code: "invalid_api_key",
        message: "the X-Webhook-Key is not an active key of this endpoint"
    )
    public static let endpointDisabled = APIError(status: 403, code: "endpoint_disabled", message: "this endpoint is disabled")
    public static let unknownEndpoint = APIError(status: 404, code: "unknown_endpoint", message: "no endpoint has this URL token")
    public static let methodNotAllowed = APIError(
        status: 405,
        code: "method_not_allowed",
        message: "use POST",
        headers: ["Allow": "POST"]
    )
    public static func bodyTooLarge(limit: Int) -> APIError {
        APIError(status: 413, code: "body_too_large", message: "the body is larger than \(limit) bytes")
    }
    public static let unsupportedMediaType = APIError(
        status: 415,
        code: "unsupported_media_type",
        message: "send Content-Type: application/json"
    )
    public static let shuttingDown = APIError(status: 503, code: "shutting_down", message: "the server is shutting down; retry on another instance")
    public static let notReady = APIError(status: 503, code: "not_ready", message: "the store is not reachable or no flows are loaded")
    public static let turnTimeout = APIError(
        status: 504,
        code: "turn_timeout",
        message: "the turn did not finish in time; the input is stored and will run"
    )
    public static let unauthorized = APIError(status: 401, code: "unauthorized", message: "send Authorization: Bearer <adminToken>")
    public static let adminDisabled = APIError(status: 404, code: "admin_disabled", message: "the admin API is off: set server.adminToken")
    public static let unknownEndpointName = APIError(status: 404, code: "unknown_endpoint", message: "no endpoint has this name")
    public static let unknownKey = APIError(status: 404, code: "unknown_key", message: "the endpoint has no active key with this id")
    public static let unknownSession = APIError(status: 404, code: "unknown_session", message: "no such session")
    public static let notFound = APIError(status: 404, code: "not_found", message: "no such route")
    public static let internalError = APIError(status: 500, code: "internal_error", message: "something went wrong; the request was not stored")
}

extension APIError {
    public static let missingAccess = APIError(
        status: 401,
        code: "missing_access",
        message:
            "this route acts for the agent: send Authorization: Bearer <adminToken>, the endpoint's X-Webhook-Key or, on the workspace, a signed access link (parley copilot link)"
    )
    public static let invalidAccess = APIError(
        status: 401,
        code: "invalid_access",
        message: "the admin token, key or access link is wrong or has expired"
    )
    public static let tooManyStreams = APIError(
        status: 429,
        code: "too_many_streams",
        message: "too many workspace event streams are open (server.maxEventStreams, maxEventStreamsPerEndpoint); retry later"
    )
    public static let duplicateKeyName = APIError(
        status: 409,
        code: "duplicate_key_name",
        message: "the endpoint already has an active key with this name"
    )
}
