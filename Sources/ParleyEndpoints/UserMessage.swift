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

    /// The longest `userId` and `sessionId`, in UTF-8 bytes: a limit in characters let one letter with 400,000
    /// combining accents (800 KB) pass as one character, and travel with every delivery.
    public static let maxIdLength = 256
    /// The longest `text`, in Unicode scalar values (code points), so at most 40,000 bytes whatever they combine into.
    public static let maxTextLength = 10_000

    /// Whether `text` is short enough for a text field (``maxTextLength`` code points).
    public static func textFits(_ text: String) -> Bool {
        text.unicodeScalars.count <= maxTextLength
    }

    /// Whether `text` is short enough for an id (``maxIdLength`` UTF-8 bytes).
    public static func idFits(_ text: String) -> Bool {
        text.utf8.count <= maxIdLength
    }

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
            guard Self.textFits(value) else { throw .invalidField("text", "must be at most \(Self.maxTextLength) characters (code points)") }
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
        guard case .string(let text) = value else { throw .invalidField(field, "must be a non-empty string") }
        return try identifier(text, field)
    }

    /// `text` as an id: non-empty, at most ``maxIdLength`` UTF-8 bytes, no control characters.
    public static func identifier(_ text: String, _ field: String) throws(APIError) -> String {
        guard !text.isEmpty else { throw .invalidField(field, "must be a non-empty string") }
        guard idFits(text) else { throw .invalidField(field, "must be at most \(maxIdLength) bytes (UTF-8)") }
        // Ids become database keys, log fields, CLI columns and the caller's name on the agent's page: a NUL would
        // cut them short in SQLite, a newline would forge a log line, a bidirectional override would spoof a name.
        guard !hasControlCharacters(text) else { throw .invalidField(field, "must not contain control characters") }
        return text
    }

    /// True when `text` holds a control character: C0 (U+0000 to U+001F), DEL, C1 (U+0080 to U+009F, NEL among
    /// them), the line and paragraph separators (U+2028, U+2029) or a bidirectional control (U+061C, U+200E,
    /// U+200F, U+202A to U+202E, U+2066 to U+2069).
    public static func hasControlCharacters(_ text: String) -> Bool {
        text.unicodeScalars.contains { scalar in
            switch scalar.value {
            case 0..<0x20, 0x7F...0x9F, 0x2028, 0x2029, 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
            default: false
            }
        }
    }
}
