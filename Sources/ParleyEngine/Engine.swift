import ParleyFlows

/// The deterministic interpreter (issue 3): `(flows, session, input) -> (session', outputs, events, trace)`.
public struct Engine: Sendable {
    public let flows: FlowSet

    public init(flows: FlowSet) {
        self.flows = flows
    }
}
