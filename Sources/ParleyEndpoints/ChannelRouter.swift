import ParleyEngine
import ParleyFlows
import ParleyRuntime

/// Maps a committed turn to its deliveries and workspace (the runtime's ``OutputRouter``), by asking the
/// channels: the endpoint's channel for a turn that ran the flow, the input's channel for one that only delivers,
/// the handover channel for what goes to the agent side.
///
/// Every endpoint keeps a workspace (DESIGN §5.5): the turn's tile updates apply on any endpoint; on webhook and
/// REST endpoints they are never delivered (the webhook is the customer's channel there).
public struct ChannelRouter: OutputRouter {
    public let directory: ChannelDirectory

    public init(directory: ChannelDirectory) {
        self.directory = directory
    }

    public func deliveries(for outcome: TurnOutcome) -> [Delivery] {
        let channel = directory.channel(of: outcome.endpoint)
        switch outcome.action {
        case .runFlow:
            return channel.replies(to: outcome) + HandoverChannel.requests(outcome)
        case .forwardToAgent:
            return HandoverChannel.forward(outcome, pushesToUser: channel.pushesToUser)
        case .deliver, .interim, .unknown:
            // An input of a channel this version does not know still delivers what it carries.
            return directory.channel(named: outcome.input.channel)?.deliveries(for: outcome) ?? AIOutputs.passThrough(outcome)
        }
    }

    /// The deliveries, each body to the user's webhook passed through the endpoint's `handleOutput` when it has
    /// one: a new body, a dropped output (falsy result) or, when the hook fails, a dead letter with the reason.
    public func route(_ outcome: TurnOutcome) -> RoutedTurn {
        let deliveries = deliveries(for: outcome)
        guard let transformer = directory.transformer(of: outcome.endpoint) else { return RoutedTurn(deliveries: deliveries) }
        var storage = outcome.sessionStorage
        var routed: [Delivery] = []
        for (index, delivery) in deliveries.enumerated() {
            guard delivery.destination == .webhook else {
                routed.append(delivery)
                continue
            }
            switch transformer.output(delivery.body, index: index, outcome: outcome, storage: &storage) {
            case .untransformed: routed.append(delivery)
            case .dropped: continue
            case .body(let body):
                var changed = delivery
                changed.body = body
                routed.append(changed)
            case .failed(let reason):
                var failed = delivery
                failed.failure = reason
                routed.append(failed)
            }
        }
        return RoutedTurn(deliveries: routed, sessionStorage: storage != outcome.sessionStorage ? storage : nil)
    }

    public func needsSessionStorage(_ endpoint: Endpoint) -> Bool { directory.transformer(of: endpoint) != nil }

    public func changesWorkspace(_ outcome: TurnOutcome) -> Bool {
        !outcome.tileUpdates.isEmpty || directory.channel(of: outcome.endpoint).heard(outcome) != nil
    }

    /// The channel's part (what was heard), then the tile updates in order. Under `disableSensitiveLogging` the
    /// stored copy has the transcript masked, as transcripts are; watchers see the turn as it happened.
    public func workspace(after outcome: TurnOutcome, previous: JSONValue?) -> (live: JSONValue, stored: JSONValue)? {
        var workspace = Workspace(json: previous)
        if let line = directory.channel(of: outcome.endpoint).heard(outcome) {
            workspace.hear(line.text, speaker: line.speaker, final: line.final)
        }
        for update in outcome.tileUpdates { workspace.apply(update, at: outcome.input.currentTime) }
        let stored = outcome.endpoint.dataProtection.disableSensitiveLogging ? workspace.maskingTranscript() : workspace
        return (workspace.json, stored.json)
    }
}
