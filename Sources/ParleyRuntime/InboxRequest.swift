import ParleyEngine
import ParleyFlows
import ParleyStore

/// What an adapter hands the runtime: an input for a session, before it is stored.
public struct InboxRequest: Sendable, Hashable {
    /// The endpoint's name.
    public var endpoint: String
    public var userId: String
    public var sessionId: String
    public var kind: InboxEntry.Kind
    public var payload: InboxPayload
    /// The prefix of the generated trace id (DESIGN §5.1 shows `endpoint-httpIncomingMessage-...`).
    public var traceIdPrefix: String
    /// A trace id chosen by the caller instead of a generated one.
    public var traceId: String?

    public init(
        endpoint: String,
        userId: String,
        sessionId: String,
        kind: InboxEntry.Kind = .message,
        payload: InboxPayload,
        traceIdPrefix: String = "endpoint-httpIncomingMessage",
        traceId: String? = nil
    ) {
        self.endpoint = endpoint
        self.userId = userId
        self.sessionId = sessionId
        self.kind = kind
        self.payload = payload
        self.traceIdPrefix = traceIdPrefix
        self.traceId = traceId
    }
}

/// The stored part of an input: what the turn needs besides the session key and the accept time.
public struct InboxPayload: Sendable, Hashable {
    public var text: String
    public var data: [String: JSONValue]
    /// `webhook`, `rest`, `voiceCopilot`, `inject`, `cli`...
    public var channel: String
    public var speaker: String?
    /// Set on `handoverEnd` inputs.
    public var handover: HandoverEnd.Status?

    public init(
        text: String = "",
        data: [String: JSONValue] = [:],
        channel: String,
        speaker: String? = nil,
        handover: HandoverEnd.Status? = nil
    ) {
        self.text = text
        self.data = data
        self.channel = channel
        self.speaker = speaker
        self.handover = handover
    }

    var canonicalJSON: String {
        var object: [String: JSONValue] = ["text": .string(text), "data": .object(data), "channel": .string(channel)]
        if let speaker { object["speaker"] = .string(speaker) }
        if let handover { object["handover"] = .string(handover.rawValue) }
        return JSONValue.object(object).canonicalJSON
    }

    init(json: JSONValue) {
        self.init(
            text: json["text"]?.stringValue ?? "",
            data: json["data"]?.objectValue ?? [:],
            channel: json["channel"]?.stringValue ?? "rest",
            speaker: json["speaker"]?.stringValue,
            handover: json["handover"]?.stringValue.flatMap(HandoverEnd.Status.init(rawValue:))
        )
    }
}

extension InboxEntry {
    /// What the runtime does with an inbox entry.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// A user input: runs the flow (or, while handed over, is forwarded by the router).
        case message
        /// The agent side ended a handover: resumes the flow after the handover node.
        case handoverEnd
        /// Sends text/data to the user without running the flow (DESIGN §5.3 notify).
        case notify
        /// A message from the human agent to the user (DESIGN §5.4): delivered, the flow does not run.
        case agentMessage
        /// An interim voice transcript (DESIGN §5.5): updates the workspace's transcript only.
        case interim
        /// An agent's action in the copilot workspace (DESIGN §5.5, *Actions*): runs the flow, also during a
        /// handover (where the engine records it and runs nothing), and is never forwarded to the agent side.
        case action
    }
}
