import Foundation
import ParleyEngine
import ParleyFlows
import ParleyStore

/// What a turn does with its input, decided once from the inbox entry's kind and the stored session; the runtime
/// and every router switch on this, never on the kind again.
public enum TurnAction: Sendable, Hashable {
    /// Runs the flow (a message, or the end of a handover).
    case runFlow
    /// A user message while a human has the conversation: recorded, handed to the agent side; the flow does not run.
    case forwardToAgent
    /// Text and data for the user as they are (notify: `source` bot; an agent's message: `source` agent).
    case deliver(source: String)
    /// An interim voice transcript: only the workspace's transcript line changes.
    case interim
    /// An inbox entry of a kind this version does not know: committed with an error, never run.
    case unknown(String)

    public init(kind: String, handedOver: Bool) {
        switch InboxEntry.Kind(rawValue: kind) {
        case .message?: self = handedOver ? .forwardToAgent : .runFlow
        case .handoverEnd?, .action?: self = .runFlow
        case .notify?: self = .deliver(source: "bot")
        case .agentMessage?: self = .deliver(source: "agent")
        case .interim?: self = .interim
        case nil: self = .unknown(kind)
        }
    }

    /// Whether the engine runs: the transcript records only such turns.
    public var runsEngine: Bool {
        switch self {
        case .runFlow, .forwardToAgent: true
        default: false
        }
    }
}

/// The pure part of a turn (STYLE: *a turn as a plan, then I/O*): from the inbox entry, the stored state and the
/// engine's turn, what the runtime commits. ``Runtime`` is the shell around it: it loads, performs effects,
/// commits and wakes delivery.
enum TurnPlan {
    /// The engine's input for an inbox entry.
    static func input(entry: InboxEntry, payload: InboxPayload, endpoint: Endpoint, session: Session) -> Input {
        Input(
            text: payload.text,
            data: payload.data,
            userId: entry.key.userId,
            sessionId: entry.key.sessionId,
            channel: payload.channel,
            endpoint: endpoint.name,
            urlToken: endpoint.urlToken,
            traceId: entry.traceId,
            execution: session.executionCount + 1,
            currentTime: Runtime.timestamp(entry.acceptedAt),
            speaker: payload.speaker,
            handover: payload.handover.map(HandoverEnd.init(status:))
        )
    }

    /// The turn of an action that does not run the engine.
    static func turn(for action: TurnAction, input: Input, session: Session, profile: [String: JSONValue]) -> Turn {
        switch action {
        case .deliver:
            return Turn(session: session, profile: profile, outputs: [Output(text: input.text, data: .object(input.data))], events: [], trace: [])
        case .unknown(let kind):
            let failure = TurnError(message: "unknown inbox entry kind '\(kind)': it is recorded as failed and not run", address: nil)
            return Turn(session: session, profile: profile, outputs: [], events: [.error(failure)], trace: [])
        case .interim, .runFlow, .forwardToAgent:
            return Turn(session: session, profile: profile, outputs: [], events: [], trace: [])
        }
    }

    /// Everything the turn commits in one transaction.
    static func commit(
        inboxId: Int64,
        entry: InboxEntry,
        outcome: TurnOutcome,
        profileBefore: [String: JSONValue],
        effects: [EffectRecord],
        deliveries: [Delivery],
        workspace: JSONValue?,
        sessionStorage: JSONValue? = nil,
        now: Date
    ) -> TurnCommit {
        let endpoint = outcome.endpoint
        let sensitive = endpoint.dataProtection.disableSensitiveLogging
        let messages = deliveries.enumerated().map { index, delivery in
            OutgoingMessage(
                idempotencyKey: "\(entry.traceId)-\(index + 1)",
                key: entry.key,
                destination: delivery.destination.rawValue,
                payload: delivery.body.canonicalJSON,
                createdAt: now,
                status: delivery.failure == nil ? .pending : .dead,
                lastError: delivery.failure,
                sensitive: sensitive || delivery.sensitive
            )
        }
        var transcript: TranscriptRecord?
        if endpoint.dataProtection.collectConversations, outcome.action.runsEngine {
            var record = TranscriptEntry(
                turn: outcome.turn.session.executionCount,
                traceId: entry.traceId,
                flowHash: outcome.turn.session.flowHash,
                flow: outcome.before.flow,
                input: outcome.input,
                profileBefore: profileBefore,
                outputs: outcome.turn.outputs,
                events: outcome.turn.events,
                trace: outcome.turn.trace,
                sessionDigest: TranscriptEntry.digest(of: outcome.turn.session),
                effects: effects
            )
            if sensitive { record = record.redactedCopy }
            transcript = TranscriptRecord(
                key: entry.key,
                turn: record.turn,
                traceId: entry.traceId,
                entry: record.json.canonicalJSON,
                redacted: sensitive,
                createdAt: now
            )
        }
        let session = StoredSession(
            key: entry.key,
            state: outcome.turn.session.json.canonicalJSON,
            flowHash: outcome.turn.session.flowHash,
            updatedAt: entry.acceptedAt
        )
        return TurnCommit(
            inboxId: inboxId,
            session: session,
            profile: outcome.turn.profile != profileBefore ? JSONValue.object(outcome.turn.profile).canonicalJSON : nil,
            transcript: transcript,
            messages: messages,
            eraseInput: sensitive,
            workspace: workspace?.canonicalJSON,
            sessionStorage: sessionStorage?.canonicalJSON
        )
    }
}
