import Foundation

/// When a failed delivery is tried again, and when Parley gives up on it (DESIGN §6).
///
/// Retryable failures (connection errors, timeouts, `408`, `429`, `5xx`) wait an exponentially growing, jittered
/// delay: attempt *n* waits a random time between half and all of `min(maxDelay, baseDelay × 2^(n-1))`, so with the
/// defaults 0.5–1 s, 1–2 s, 2–4 s, … up to 5–10 minutes between attempts. A `Retry-After` header on `429` or `503`
/// replaces that delay (capped at ``maxRetryAfter``). A message whose attempt fails once it is older than the retry
/// window becomes a dead letter.
///
/// ```swift
/// let policy = RetryPolicy(baseDelay: 1, maxDelay: 600)
/// policy.backoff(attempt: 3, random: 0.5)   // 3 s: 4 s halved, plus half of the other half
/// ```
public struct RetryPolicy: Sendable, Hashable {
    /// The longest delay of the first retry, in seconds.
    public var baseDelay: TimeInterval
    /// The cap on the doubling delay, in seconds.
    public var maxDelay: TimeInterval
    /// The longest `Retry-After` honoured, in seconds: a receiver cannot park a session for longer.
    public var maxRetryAfter: TimeInterval
    /// How long after its creation a message may still be retried, in seconds.
    public var retryWindow: TimeInterval

    /// A policy; the defaults are DESIGN §6's (retry window 24 h) with a 1 s base and a 10 minute cap.
    public init(baseDelay: TimeInterval = 1, maxDelay: TimeInterval = 600, maxRetryAfter: TimeInterval = 3600, retryWindow: TimeInterval = 86_400) {
        self.baseDelay = max(0, baseDelay)
        self.maxDelay = max(0, maxDelay)
        self.maxRetryAfter = max(0, maxRetryAfter)
        self.retryWindow = max(0, retryWindow)
    }

    /// The delay before the next try after the `attempt`-th failed attempt (1-based).
    ///
    /// - Parameter random: a number in `0..<1` from the service's random source; 0 gives the shortest delay (half
    ///   the exponential step), values near 1 the longest (all of it).
    public func backoff(attempt: Int, random: Double) -> TimeInterval {
        let exponent = Double(min(max(attempt, 1) - 1, 62))
        let step = min(maxDelay, baseDelay * pow(2, exponent))
        let unit = min(max(random, 0), 1)
        return step / 2 + step / 2 * unit
    }

    /// True when a message created at `createdAt` may not be retried any more at `now`.
    public func isExpired(createdAt: Date, now: Date) -> Bool {
        now.timeIntervalSince(createdAt) >= retryWindow
    }

    /// The delay a `Retry-After` value asks for, relative to `now`, capped at ``maxRetryAfter``; nil when the value
    /// is neither a number of seconds nor an HTTP date. A date in the past asks for no delay.
    public func retryAfter(_ value: String, now: Date) -> TimeInterval? {
        Self.parseRetryAfter(value, now: now).map { min(max($0, 0), maxRetryAfter) }
    }

    /// Parses `Retry-After` (RFC 9110 §10.2.3): delay seconds (`120`) or an HTTP date in IMF-fixdate
    /// (`Wed, 21 Oct 2015 07:28:00 GMT`), RFC 850 or asctime form. Returns seconds from `now`, possibly negative.
    public static func parseRetryAfter(_ value: String, now: Date) -> TimeInterval? {
        let text = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        if !text.isEmpty, text.allSatisfy(\.isASCIIDigitCharacter) {
            return TimeInterval(text.prefix(12))
        }
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date.timeIntervalSince(now) }
        }
        return nil
    }
}

extension Character {
    fileprivate var isASCIIDigitCharacter: Bool { isASCII && isWholeNumber }
}
