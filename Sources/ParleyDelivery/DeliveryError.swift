import Foundation
import ParleyFlows

/// Why an attempt to deliver a message failed: a stable code, a message for people and the outbox's `lastError`,
/// and whether trying again can help.
///
/// Messages never quote the body (it may hold user text) nor a target's credentials.
public struct DeliveryError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: String, Sendable, Hashable {
        case unknownEndpoint = "unknown_endpoint"
        case unknownDestination = "unknown_destination"
        case noTarget = "no_target"
        case invalidURL = "invalid_url"
        case httpStatus = "http_status"
        case timeout
        case connection
        case expired
    }

    private let code: Code
    /// What went wrong, as stored in the outbox's `lastError`.
    public let message: String
    /// The receiver's status code, when it answered.
    public let status: Int?
    /// True when the same request may succeed later (connection errors, timeouts, `408`, `429`, `5xx`).
    public let isRetryable: Bool

    private init(_ code: Code, _ message: String, status: Int? = nil, retryable: Bool) {
        self.code = code
        self.message = message
        self.status = status
        self.isRetryable = retryable
    }

    /// The message's endpoint is not (or no longer) configured.
    public static func unknownEndpoint(_ name: String) -> DeliveryError {
        DeliveryError(.unknownEndpoint, "no endpoint named '\(name)' is configured", retryable: false)
    }

    /// The message names a destination other than `webhook` or `handover`.
    public static func unknownDestination(_ destination: String, endpoint: String) -> DeliveryError {
        DeliveryError(
            .unknownDestination,
            "endpoint '\(endpoint)' has no destination '\(destination)' (expected webhook or handover)",
            retryable: false
        )
    }

    /// The endpoint has no URL for the message's destination.
    public static func noTarget(_ destination: String, endpoint: String) -> DeliveryError {
        DeliveryError(.noTarget, "endpoint '\(endpoint)' has no \(destination) URL configured", retryable: false)
    }

    /// The configured URL is not an absolute `http` or `https` URL.
    public static func invalidURL(_ destination: String, endpoint: String) -> DeliveryError {
        DeliveryError(.invalidURL, "endpoint '\(endpoint)' has an invalid \(destination) URL (expected http:// or https://)", retryable: false)
    }

    /// The receiver answered with a status other than `2xx`; `408`, `429` and `5xx` are retryable.
    public static func httpStatus(_ status: Int, retryAfter: TimeInterval? = nil) -> DeliveryError {
        let retryable = status == 408 || status == 429 || (500...599).contains(status)
        var message = "HTTP \(status)"
        if (300...399).contains(status) { message += " (redirects are not followed)" }
        if let retryAfter { message += " (Retry-After \(CheckedNumber.wholeSeconds(retryAfter)) s)" }
        return DeliveryError(.httpStatus, message, status: status, retryable: retryable)
    }

    /// No answer within the delivery timeout.
    public static func timeout(milliseconds: Int) -> DeliveryError {
        DeliveryError(.timeout, "no answer within \(milliseconds) ms", retryable: true)
    }

    /// The connection could not be made or broke.
    public static func connection(_ detail: String) -> DeliveryError {
        DeliveryError(.connection, "connection failed: \(detail)", retryable: true)
    }

    /// A retryable failure once the message is older than its endpoint's `expireSeconds` (by default the retry
    /// window): the message becomes a dead letter with reason `expired`.
    public static func expired(after failure: DeliveryError, attempts: Int, window: TimeInterval) -> DeliveryError {
        DeliveryError(
            .expired,
            "expired: gave up after \(attempts) \(attempts == 1 ? "attempt" : "attempts") within \(Self.duration(window)); last: \(failure.message)",
            status: failure.status,
            retryable: false
        )
    }

    /// A message found older than its endpoint's `expireSeconds` before an attempt: it is not sent (a stale reply)
    /// but becomes a dead letter with reason `expired`.
    public static func stale(age: TimeInterval, limit: TimeInterval, attempts: Int, last: String?) -> DeliveryError {
        var message = "expired: not delivered within \(Self.duration(limit)) (waited \(CheckedNumber.wholeSeconds(age)) s"
        message += attempts == 0 ? ", never attempted)" : ", \(attempts) \(attempts == 1 ? "attempt" : "attempts"))"
        if let last { message += "; last: \(last)" }
        return DeliveryError(.expired, message, retryable: false)
    }

    /// The stable code, for logs and tests.
    public var codeName: String { code.rawValue }
    public var description: String { "\(code.rawValue): \(message)" }

    private static func duration(_ seconds: TimeInterval) -> String {
        if seconds >= 3600, seconds.truncatingRemainder(dividingBy: 3600) == 0 { return "\(CheckedNumber.wholeSeconds(seconds / 3600)) h" }
        if seconds >= 60, seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(CheckedNumber.wholeSeconds(seconds / 60)) min" }
        return "\(CheckedNumber.wholeSeconds(seconds)) s"
    }
}
