import Foundation
import ParleyFlows
import ParleyRuntime
import ParleyStore

/// A request body as the endpoint URL, inject and notify take it: `{userId, sessionId, text?, data?}`.
///
/// Validation follows DESIGN §5.1 and stops at the first problem, in field order: `userId`, `sessionId`, `text`,
/// `data`, then "at least one of text and data".
public struct UserMessage: Sendable, Hashable {
    public var userId: String
    public var sessionId: String
    public var text: String?
    public var data: [String: JSONValue]?

    public static let maxIdLength = 256
    public static let maxTextLength = 10_000

    public init(userId: String, sessionId: String, text: String? = nil, data: [String: JSONValue]? = nil) {
        self.userId = userId
        self.sessionId = sessionId
        self.text = text
        self.data = data
    }

    init(object: [String: JSONValue]) throws(APIError) {
        (userId, sessionId) = try Self.session(object)
        switch object["text"] {
        case nil, .null?: text = nil
        case .string(let value)?:
            guard value.count <= Self.maxTextLength else { throw .invalidField("text", "must be at most \(Self.maxTextLength) characters") }
            text = value
        default: throw .invalidField("text", "must be a string")
        }
        switch object["data"] {
        case nil, .null?: data = nil
        case .object(let value)?: data = value
        default: throw .invalidField("data", "must be a JSON object")
        }
        if (text ?? "").isEmpty, data == nil { throw .missingTextOrData }
    }

    /// The input this message stands for on `endpoint`.
    func inbox(
        endpoint: Endpoint,
        channel: String,
        kind: InboxEntry.Kind = .message,
        prefix: String = "endpoint-httpIncomingMessage"
    ) -> InboxRequest {
        InboxRequest(
            endpoint: endpoint.name,
            userId: userId,
            sessionId: sessionId,
            kind: kind,
            payload: InboxPayload(text: text ?? "", data: data ?? [:], channel: channel),
            traceIdPrefix: prefix
        )
    }

    /// The body as a JSON object, or `invalid_json`.
    static func object(_ body: [UInt8]) throws(APIError) -> [String: JSONValue] {
        guard let value = JSONValue.parse(bytes: body) else {
            throw .invalidJSON("the body is not valid JSON")
        }
        guard let object = value.objectValue else { throw .invalidJSON() }
        return object
    }

    /// The body's `userId` and `sessionId`, checked: what every route of a session starts with.
    static func session(_ object: [String: JSONValue]) throws(APIError) -> (userId: String, sessionId: String) {
        (try identifier(object, "userId"), try identifier(object, "sessionId"))
    }

    static func identifier(_ object: [String: JSONValue], _ field: String) throws(APIError) -> String {
        guard let value = object[field] else { throw .invalidField(field, "is required") }
        guard case .string(let text) = value, !text.isEmpty else { throw .invalidField(field, "must be a non-empty string") }
        guard text.count <= maxIdLength else { throw .invalidField(field, "must be at most \(maxIdLength) characters") }
        // Ids become database keys, log fields and CLI columns: a NUL would cut them short in SQLite, a newline
        // would forge a log line.
        guard !hasControlCharacters(text) else { throw .invalidField(field, "must not contain control characters") }
        return text
    }

    /// True when `text` holds a C0 control character (U+0000 to U+001F) or DEL.
    static func hasControlCharacters(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }
}
