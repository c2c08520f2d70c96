import ParleyFlows

/// One input to a session: what the user (or an adapter) sent, plus the ids and the time of the request.
///
/// Everything the engine must not invent comes in here: the time (`currentTime`), the ids and the execution
/// count, so a turn is a pure function of its arguments. Scripts see it as `input` (DESIGN §3), together with
/// the fields the engine adds during the turn: `result`, `activeQuestion`, `codeNodeError`.
public struct Input: Sendable, Hashable, Codable {
    /// The user's text; `""` when only data was sent.
    public var text: String
    /// The user's data (a JSON object); empty when none was sent.
    public var data: [String: JSONValue]
    public var userId: String
    public var sessionId: String
    /// `webhook`, `rest`, `voiceCopilot`, `inject`, `cli` or `test`.
    public var channel: String
    /// The endpoint's name.
    public var endpoint: String
    /// The endpoint's URL token (`input.URLToken` in scripts).
    public var urlToken: String
    /// `TextOnly` or `TextData`.
    public var mode: String
    public var traceId: String
    /// The 1-based number of this input in the session; `0` lets the engine count (session count + 1).
    public var execution: Int
    /// ISO 8601 time the request was accepted; scripts' `Date.now()` returns it.
    public var currentTime: String
    /// For voice: `customer` or `agent`.
    public var speaker: String?
    /// Set when this input tells the engine that the session's handover ended.
    public var handover: HandoverEnd?

    public init(
        text: String = "",
        data: [String: JSONValue] = [:],
        userId: String,
        sessionId: String,
        channel: String = "rest",
        endpoint: String = "",
        urlToken: String = "",
        mode: String? = nil,
        traceId: String = "",
        execution: Int = 0,
        currentTime: String,
        speaker: String? = nil,
        handover: HandoverEnd? = nil
    ) {
        self.text = text
        self.data = data
        self.userId = userId
        self.sessionId = sessionId
        self.channel = channel
        self.endpoint = endpoint
        self.urlToken = urlToken
        self.mode = mode ?? (data.isEmpty ? "TextOnly" : "TextData")
        self.traceId = traceId
        self.execution = execution
        self.currentTime = currentTime
        self.speaker = speaker
        self.handover = handover
    }

    private enum CodingKeys: String, CodingKey {
        case text, data, userId, sessionId, channel, endpoint
        case urlToken = "URLToken"
        case mode, traceId, execution, currentTime, speaker,
            handover
    }

    /// The input as scripts see it, before the engine adds `result`, `activeQuestion` or `codeNodeError`.
    public var json: [String: JSONValue] {
        var object: [String: JSONValue] = [
            "text": .string(text), "data": .object(data), "userId": .string(userId), "sessionId": .string(sessionId),
            "channel": .string(channel), "endpoint": .string(endpoint), "URLToken": .string(urlToken), "mode": .string(mode),
            "traceId": .string(traceId), "execution": .number(Double(execution)), "currentTime": .string(currentTime),
        ]
        if let speaker { object["speaker"] = .string(speaker) }
        if let handover { object["handover"] = ["status": .string(handover.status.rawValue)] }
        return object
    }
}

/// The agent side ended a handover (DESIGN §5.4); the flow resumes after the handover node.
public struct HandoverEnd: Sendable, Hashable, Codable {
    /// How the handover ended.
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        case completed, cancelled, error
    }

    public var status: Status

    public init(status: Status) {
        self.status = status
    }
}
