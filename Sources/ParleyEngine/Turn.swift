import ParleyFlows

/// The result of one input: the new session and profile, and what the turn emitted, in order.
public struct Turn: Sendable, Hashable {
    public var session: Session
    /// The user's profile after the turn.
    public var profile: [String: JSONValue]
    public var outputs: [Output]
    public var events: [Event]
    public var trace: [TraceEntry]
    /// How the input was classified, when the entry flow declares intents or an NLU connection.
    public var classification: Classification?

    public init(
        session: Session,
        profile: [String: JSONValue],
        outputs: [Output],
        events: [Event],
        trace: [TraceEntry],
        classification: Classification? = nil
    ) {
        self.session = session
        self.profile = profile
        self.outputs = outputs
        self.events = events
        self.trace = trace
        self.classification = classification
    }
}

/// The intent and slots of an input (DESIGN §2, *Intents*): what scripts see as `input.intent`, `input.intentScore`,
/// `input.intents` and `input.slots`.
public struct Classification: Sendable, Hashable {
    /// The best intent, or nil when its score is under the threshold.
    public var intent: String?
    /// The best intent's score, from 0 to 1.
    public var score: Double
    /// The best three intents, best first.
    public var intents: [IntentClassifier.Score]
    /// `{number: [...], email: [...], date: [...]}`.
    public var slots: JSONValue

    public init(intent: String?, score: Double, intents: [IntentClassifier.Score], slots: JSONValue) {
        self.intent = intent
        self.score = score
        self.intents = intents
        self.slots = slots
    }

    /// The fields the classification adds to `input`.
    var inputFields: [String: JSONValue] {
        [
            "intent": intent.map(JSONValue.string) ?? .null, "intentScore": .number(score),
            "intents": .array(intents.map { ["id": .string($0.intent), "score": .number($0.score)] }), "slots": slots,
        ]
    }
}
