import ParleyFlows
import ParleyRuntime
import ParleyScript

/// The routes that carry a conversation (DESIGN §5.1–§5.5), each served by one channel.
public enum ChannelRoute: String, Sendable, Hashable, CaseIterable {
    /// `POST /<urlToken>`: the endpoint type's own channel.
    case endpoint
    case inject, notify
    case handoverMessage, handoverEnd
    /// `POST /copilot/action?...&URLToken=..`.
    case copilotAction

    /// Whether the route acts for the agent or the back office, never the end user (DESIGN §5.4.1).
    public var isAgentSide: Bool { self != .endpoint }

    /// The route's path under the server, `{token}` standing for the URL token; nil for the copilot action, whose
    /// token is in the query.
    public var path: String? {
        switch self {
        case .endpoint: "/{token}"
        case .inject: "/inject/{token}"
        case .notify: "/notify/{token}"
        case .handoverMessage: "/handover/{token}/message"
        case .handoverEnd: "/handover/{token}/end"
        case .copilotAction: nil
        }
    }
}

/// The one place that knows the deployment's endpoints and the channels that serve them: endpoints by URL token
/// and by name, the channel of each route and of each endpoint type, and the channel of a stored input.
public struct ChannelDirectory: Sendable {
    public let endpoints: [Endpoint]
    private let byToken: [String: Endpoint]
    private let byName: [String: Endpoint]
    private let endpointChannels: [Endpoint.Kind: any EndpointChannel]
    private let routeChannels: [ChannelRoute: any Channel]
    private let byChannelName: [String: any Channel]
    private let transformers: [String: EndpointTransformer]

    /// - Parameter scriptLimits: the sandbox limits of transformer hooks (the engine's `codeTimeoutMs`).
    public init(endpoints: [Endpoint], scriptLimits: ScriptLimits = ScriptLimits()) {
        self.endpoints = endpoints
        byToken = Dictionary(endpoints.map { ($0.urlToken, $0) }, uniquingKeysWith: { first, _ in first })
        byName = Dictionary(endpoints.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let kinds: [Endpoint.Kind: any EndpointChannel] = [.webhook: WebhookChannel(), .rest: RESTChannel(), .voiceCopilot: VoiceCopilotChannel()]
        endpointChannels = kinds
        let routes: [ChannelRoute: any Channel] = [
            .inject: InjectChannel(), .notify: NotifyChannel(), .handoverMessage: HandoverChannel(), .handoverEnd: HandoverEndChannel(),
            .copilotAction: CopilotActionChannel(),
        ]
        routeChannels = routes
        let all: [any Channel] = Array(kinds.values) + Array(routes.values)
        byChannelName = Dictionary(all.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var transformers: [String: EndpointTransformer] = [:]
        for endpoint in endpoints {
            guard let transformer = endpoint.transformer, !transformer.source.isEmpty else { continue }
            transformers[endpoint.name] = EndpointTransformer(endpoint: endpoint, source: transformer.source, limits: scriptLimits)
        }
        self.transformers = transformers
    }

    /// The endpoint's transformer, when it has one (DESIGN §5.7).
    public func transformer(of endpoint: Endpoint) -> EndpointTransformer? { transformers[endpoint.name] }

    /// The endpoint with this URL token (any case).
    public func endpoint(token: String) -> Endpoint? { byToken[token.lowercased()] }

    /// The endpoint with this name.
    public func endpoint(named name: String) -> Endpoint? { byName[name] }

    /// The channel of an endpoint's type.
    public func channel(of endpoint: Endpoint) -> any EndpointChannel {
        endpointChannels[endpoint.kind] ?? WebhookChannel()
    }

    /// The channel that serves a route on an endpoint.
    public func channel(for route: ChannelRoute, on endpoint: Endpoint) -> any Channel {
        route == .endpoint ? channel(of: endpoint) : routeChannels[route] ?? channel(of: endpoint)
    }

    /// The channel that made an input (`input.channel`), if it is one of these.
    public func channel(named name: String) -> (any Channel)? { byChannelName[name] }
}
