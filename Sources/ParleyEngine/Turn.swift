import ParleyFlows

/// The result of one input: the new session and profile, and what the turn emitted, in order.
public struct Turn: Sendable, Hashable {
    public var session: Session
    /// The user's profile after the turn.
    public var profile: [String: JSONValue]
    public var outputs: [Output]
    public var events: [Event]
    public var trace: [TraceEntry]

    public init(session: Session, profile: [String: JSONValue], outputs: [Output], events: [Event], trace: [TraceEntry]) {
        self.session = session
        self.profile = profile
        self.outputs = outputs
        self.events = events
        self.trace = trace
    }
}
