import Foundation
import ParleyFlows
import ParleyStore

/// The parameters and bodies of the admin API (DESIGN §5.6), checked before anything touches the store: a value
/// out of range or of the wrong type is a `400 invalid_field` naming it, never a trap or a silent default.
public enum AdminRequest {
    /// The most rows a list route returns, and the most ids one retry takes.
    public static let maxLimit = 1000
    /// The longest key name.
    public static let maxKeyNameLength = 100

    /// `?limit=N`: a whole number from 1 to ``maxLimit``; `fallback` when absent.
    public static func limit(_ text: String?, fallback: Int = 100) throws(APIError) -> Int {
        guard let text else { return fallback }
        guard let limit = CheckedNumber.integer(text, in: 1...maxLimit) else {
            throw .invalidField("limit", "must be a whole number from 1 to \(maxLimit)")
        }
        return limit
    }

    /// `?status=pending|delivered|dead` of the outbox list; dead letters when absent.
    public static func outboxStatus(_ text: String?) throws(APIError) -> OutgoingMessage.Status {
        guard let text else { return .dead }
        guard let status = OutgoingMessage.Status(rawValue: text) else {
            throw .invalidField("status", "must be pending, delivered or dead")
        }
        return status
    }

    /// `?status=pending|processed|dead` of the inbox list; dead inputs when absent.
    public static func inboxStatus(_ text: String?) throws(APIError) -> InboxEntry.Status {
        guard let text else { return .dead }
        guard let status = InboxEntry.Status(rawValue: text) else {
            throw .invalidField("status", "must be pending, processed or dead")
        }
        return status
    }

    /// `DELETE /api/v1/users/{userId}`: a user id as clients send it (1 to 256 characters, no control characters).
    public static func userId(_ text: String) throws(APIError) -> String {
        guard !text.isEmpty, UserMessage.idFits(text), !UserMessage.hasControlCharacters(text) else {
            throw .invalidField("userId", "must be 1 to 256 characters without control characters")
        }
        return text
    }

    /// `POST /api/v1/outbox/retry` and `POST /api/v1/inbox/retry`: no body (or `{}`) retries every dead letter; `{"ids": [...]}` the listed ones.
    public static func retryIds(body: [UInt8]) throws(APIError) -> [Int64]? {
        guard !body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) else { return nil }
        let object = try UserMessage.object(body)
        for key in object.keys where key != "ids" { throw .invalidField(key, "is not a field of this request (expected ids)") }
        guard let value = object["ids"], value != .null else { return nil }
        guard let items = value.arrayValue else { throw .invalidField("ids", "must be a list of ids") }
        guard items.count <= maxLimit else { throw .invalidField("ids", "must hold at most \(maxLimit) ids") }
        var ids: [Int64] = []
        for item in items {
            guard let id = item.integer(in: 1...Int.max) else { throw .invalidField("ids", "must hold whole numbers from 1") }
            ids.append(Int64(id))
        }
        return ids
    }

    /// `POST /api/v1/endpoints/{name}/keys`: an optional body `{"name": "..."}`; `key` when absent.
    public static func keyName(body: [UInt8]) throws(APIError) -> String {
        guard !body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) else { return "key" }
        let object = try UserMessage.object(body)
        for key in object.keys where key != "name" { throw .invalidField(key, "is not a field of this request (expected name)") }
        switch object["name"] {
        case nil, .null?: return "key"
        case .string(let name)?:
            guard !name.isEmpty, name.count <= maxKeyNameLength, !UserMessage.hasControlCharacters(name) else {
                throw .invalidField("name", "must be 1 to \(maxKeyNameLength) characters without control characters")
            }
            return name
        default: throw .invalidField("name", "must be a string")
        }
    }
}
