import Foundation

/// How often an input whose turn fails is tried again before it is dead (DESIGN §6, *Poison inputs*).
///
/// The defaults try an input five times in about 15 seconds (waiting 1, 2, 4 and 8 seconds between the tries),
/// then keep it as a dead input with its reason, which `parley inbox retry` re-drives. While an input waits for a
/// retry its session's later inputs wait behind it, in order; once it is dead they go on.
public struct PoisonPolicy: Sendable, Hashable {
    /// Tries in all, the first included.
    public var maxAttempts: Int
    /// The wait after the first failure; it doubles after each further one.
    public var initialBackoff: TimeInterval
    /// The longest wait between two tries.
    public var maxBackoff: TimeInterval

    public init(maxAttempts: Int = 5, initialBackoff: TimeInterval = 1, maxBackoff: TimeInterval = 60) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = max(0, initialBackoff)
        self.maxBackoff = max(self.initialBackoff, maxBackoff)
    }

    /// When to try again after `attempt` failed tries (1 after the first), or nil when the input is now dead.
    public func retryDate(afterAttempt attempt: Int, now: Date) -> Date? {
        guard attempt < maxAttempts else { return nil }
        let exponent = Double(min(max(attempt - 1, 0), 30))
        return now.addingTimeInterval(min(maxBackoff, initialBackoff * pow(2, exponent)))
    }
}

/// Why an input's turn cannot run: not a store outage, so trying forever would not help (DESIGN §6).
public struct PoisonInput: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
