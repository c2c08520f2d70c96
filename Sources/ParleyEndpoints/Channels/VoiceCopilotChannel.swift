import ParleyEngine
import ParleyFlows
import ParleyRuntime

/// `type: voiceCopilot` (DESIGN §5.5): call transcripts in (``VoiceUtterance``'s two forms), the heard utterances
/// kept in the workspace's transcript, and a copy of every tile update POSTed to `webhook.url` when one is set.
public struct VoiceCopilotChannel: EndpointChannel {
    public init() {}

    public var name: String { "voiceCopilot" }
    public var pushesToUser: Bool { true }

    public func input(_ body: JSONObjectBody, endpoint: Endpoint) throws(APIError) -> InboxRequest {
        let utterance = try VoiceUtterance(object: body.object)
        return InboxRequest(
            endpoint: endpoint.name,
            userId: utterance.userId,
            sessionId: utterance.sessionId,
            kind: utterance.final ? .message : .interim,
            payload: InboxPayload(text: utterance.text, data: utterance.data ?? [:], channel: name, speaker: utterance.speaker),
            traceIdPrefix: "endpoint-voiceCopilot"
        )
    }

    /// The outputs, then every tile update as AIOutput with `data.copilot` (the agent desktop's copy).
    public func replies(to outcome: TurnOutcome) -> [Delivery] {
        guard outcome.endpoint.webhook != nil else { return [] }
        let tiles = outcome.tileUpdates.map { Output(text: $0.fields["text"]?.stringValue, data: ["copilot": $0.json]) }
        return AIOutputs.webhook(AIOutputs.outputs(of: outcome) + tiles, outcome: outcome, source: "bot")
    }

    /// The utterance, for the transcript (an interim one replaces its speaker's interim line).
    public func heard(_ outcome: TurnOutcome) -> Utterance? {
        let input = outcome.input
        let heard: Bool
        switch outcome.action {
        case .interim: heard = true
        case .runFlow, .forwardToAgent: heard = input.handover == nil && input.channel == name
        case .deliver, .unknown: heard = false
        }
        guard heard, !input.text.isEmpty else { return nil }
        return Utterance(text: input.text, speaker: input.speaker ?? "customer", final: outcome.action != .interim)
    }
}
