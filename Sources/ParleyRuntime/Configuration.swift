import Foundation
import ParleyEngine
import ParleyFlows

/// A deployment: the server, the store, the flows and the endpoints (DESIGN §7, `parley.yaml`).
///
/// Built in one place, ``ConfigurationLoader``, from the file and the environment; nothing deeper reads either.
public struct Configuration: Sendable, Hashable {
    /// The HTTP server.
    public struct Server: Sendable, Hashable {
        public var host: String
        public var port: Int
        /// The public base URL; an endpoint's URL is this plus its `urlToken`.
        public var baseURL: String
        public var maxBodyBytes: Int
        /// Bearer token of the admin API; the admin API is off when it is empty.
        public var adminToken: String
        /// How long a REST request waits for its turn before `504 turn_timeout` (60 s: above the model timeout).
        public var restTimeoutSeconds: Int
        /// Origins (`https://desk.example.com`) of agent desktops that may embed the workspace page in a frame, and
        /// to which the page posts its actions; none by default (the page may then be framed by Parley itself only).
        public var frameAncestors: [String] = []
        /// How long a connection may send nothing while its request is read (or between requests) before it is
        /// closed: slow clients cannot hold connections open forever.
        public var idleTimeoutSeconds = 30
        /// How many workspace event streams (`/copilot/events`) may be open at once, in all and per endpoint.
        public var maxEventStreams = 1000
        public var maxEventStreamsPerEndpoint = 200

        public init(
            host: String = "127.0.0.1",
            port: Int = 8080,
            baseURL: String? = nil,
            maxBodyBytes: Int = 1_048_576,
            adminToken: String = "",
            restTimeoutSeconds: Int = 60
        ) {
            self.host = host
            self.port = port
            self.baseURL = baseURL ?? "http://\(host):\(port)"
            self.maxBodyBytes = maxBodyBytes
            self.adminToken = adminToken
            self.restTimeoutSeconds = restTimeoutSeconds
        }
    }

    /// Engine limits.
    public struct EngineSettings: Sendable, Hashable {
        public var codeTimeoutMs: Int
        /// How much the process may grow while one script call runs, in MiB.
        public var codeMemoryMB: Int
        public var maxStepsPerTurn: Int

        public init(codeTimeoutMs: Int = 1000, codeMemoryMB: Int = 256, maxStepsPerTurn: Int = 1000) {
            self.codeTimeoutMs = codeTimeoutMs
            self.codeMemoryMB = codeMemoryMB
            self.maxStepsPerTurn = maxStepsPerTurn
        }
    }

    /// Outbox delivery.
    public struct DeliverySettings: Sendable, Hashable {
        public var timeoutMs: Int
        /// Messages older than this become dead letters instead of being retried again.
        public var retryWindowSeconds: Int

        public init(timeoutMs: Int = 10_000, retryWindowSeconds: Int = 86_400) {
            self.timeoutMs = timeoutMs
            self.retryWindowSeconds = retryWindowSeconds
        }
    }

    /// How long the store keeps what is done (DESIGN §6, *Retention*); 0 days removes rows as soon as they are done.
    public struct Retention: Sendable, Hashable {
        /// Transcript entries, by the time their turn committed.
        public var transcriptsDays: Int
        /// Delivered messages, by delivery time.
        public var deliveredDays: Int
        /// Processed inbox rows, by processing time.
        public var inboxDays: Int
        /// Dead letters and dead inputs, by the time they died.
        public var deadDays: Int
        /// Sessions and their workspaces, by their last turn (profiles are kept).
        public var sessionsDays: Int
        /// How often the pruner runs.
        public var intervalSeconds: Int
        /// The most rows of one kind one pruning statement removes.
        public var batchSize: Int

        public init(
            transcriptsDays: Int = 30,
            deliveredDays: Int = 7,
            inboxDays: Int = 7,
            deadDays: Int = 30,
            sessionsDays: Int = 30,
            intervalSeconds: Int = 60,
            batchSize: Int = 500
        ) {
            self.transcriptsDays = transcriptsDays
            self.deliveredDays = deliveredDays
            self.inboxDays = inboxDays
            self.deadDays = deadDays
            self.sessionsDays = sessionsDays
            self.intervalSeconds = intervalSeconds
            self.batchSize = batchSize
        }
    }

    /// How instances sharing a PostgreSQL store divide the work (DESIGN §6, *Many instances*; `docs/deploy.md`).
    public struct Cluster: Sendable, Hashable {
        /// How long an instance's claim on a session lasts without renewal (renewed every third of it).
        public var inboxLeaseSeconds: Int
        /// How long a claimed outbox message stays an instance's; nil: twice the delivery timeout plus 10 s.
        public var outboxLeaseSeconds: Int?
        /// How often an instance looks for work it was not woken for (inputs accepted by other instances, expired
        /// claims, retries), and for a newly published flow version.
        public var pollMilliseconds: Int
        /// The instance's name in claims; nil: `HOST:PORT` (with a random suffix when the port is 0).
        public var instanceId: String?

        public init(inboxLeaseSeconds: Int = 30, outboxLeaseSeconds: Int? = nil, pollMilliseconds: Int = 250, instanceId: String? = nil) {
            self.inboxLeaseSeconds = inboxLeaseSeconds
            self.outboxLeaseSeconds = outboxLeaseSeconds
            self.pollMilliseconds = pollMilliseconds
            self.instanceId = instanceId
        }
    }

    public var server: Server
    /// `sqlite:PATH` or `postgres://...`; relative SQLite paths are relative to the configuration file's folder.
    public var store: String
    /// The flows folder, relative to the configuration file's folder.
    public var flows: String
    public var engine: EngineSettings
    public var delivery: DeliverySettings
    public var endpoints: [Endpoint]
    /// The systems flows call (DESIGN §3.1, §7): by name, in file order.
    public var connections: [Connection]
    public var retention: Retention
    public var cluster: Cluster

    public init(
        server: Server = Server(),
        store: String = "sqlite:.parley/parley.sqlite",
        flows: String = "Flows",
        engine: EngineSettings = EngineSettings(),
        delivery: DeliverySettings = DeliverySettings(),
        endpoints: [Endpoint] = [],
        connections: [Connection] = [],
        retention: Retention = Retention(),
        cluster: Cluster = Cluster()
    ) {
        self.server = server
        self.store = store
        self.flows = flows
        self.engine = engine
        self.delivery = delivery
        self.endpoints = endpoints
        self.connections = connections
        self.retention = retention
        self.cluster = cluster
    }

    /// True when the store is PostgreSQL, which many instances may share.
    public var sharedStore: Bool { store.hasPrefix("postgres://") || store.hasPrefix("postgresql://") }

    /// The connection with this name.
    public func connection(named name: String) -> Connection? { connections.first { $0.name == name } }

    /// The connections' kinds by name, for validating flows against the deployment.
    public var connectionKinds: [String: ConnectionKind] {
        Dictionary(connections.map { ($0.name, $0.kind) }, uniquingKeysWith: { first, _ in first })
    }

    /// What the engine needs of the connections to shape requests (never URLs, headers or keys).
    public var connectionProfiles: [String: ConnectionProfile] {
        Dictionary(connections.map { ($0.name, $0.profile) }, uniquingKeysWith: { first, _ in first })
    }

    /// The endpoint with this name.
    public func endpoint(named name: String) -> Endpoint? { endpoints.first { $0.name == name } }

    /// The endpoint with this URL token.
    public func endpoint(token: String) -> Endpoint? { endpoints.first { $0.urlToken == token } }

    /// The endpoint's Endpoint URL: the server's base URL plus its token (DESIGN §5).
    public func endpointURL(_ endpoint: Endpoint) -> String {
        (server.baseURL.hasSuffix("/") ? String(server.baseURL.dropLast()) : server.baseURL) + "/" + endpoint.urlToken
    }
}

/// A system flows call: an HTTP API, an OpenAI-compatible model server or an NLU service (DESIGN §3.1, §7).
///
/// URLs, headers and keys live here, in the deployment, never in flows; they reach no transcript, log or error
/// message.
public struct Connection: Sendable, Hashable {
    public var name: String
    public var kind: ConnectionKind
    /// The base URL: an `http` node's `path` is appended to it; a model request goes to `{url}/chat/completions`; an
    /// NLU request to the URL itself.
    public var url: String
    /// Sent with every request (an `http` node's headers are merged over them).
    public var headers: [NamedValue]
    /// `openai`: sent as `Authorization: Bearer <apiKey>`.
    public var apiKey: String?
    /// `openai`: the model of `llm` nodes that name none.
    public var model: String?
    /// `openai`: the field `maxTokens` is sent as (`max_tokens`, or `max_completion_tokens`).
    public var maxTokensField: String
    /// The timeout of one call; the kind's default (10 s for http and nlu, 30 s for openai) when absent.
    public var timeoutMs: Int?
    /// The size of the connection's pool of HTTP connections (64).
    public var maxConnections: Int

    public init(
        name: String,
        kind: ConnectionKind,
        url: String,
        headers: [NamedValue] = [],
        apiKey: String? = nil,
        model: String? = nil,
        maxTokensField: String = "max_tokens",
        timeoutMs: Int? = nil,
        maxConnections: Int = 64
    ) {
        self.name = name
        self.kind = kind
        self.url = url
        self.headers = headers
        self.apiKey = apiKey
        self.model = model
        self.maxTokensField = maxTokensField
        self.timeoutMs = timeoutMs
        self.maxConnections = maxConnections
    }

    /// The kind's default timeout when the connection sets none: 30 s for models, 10 s otherwise.
    public var effectiveTimeoutMs: Int { timeoutMs ?? (kind == .openai ? 30_000 : 10_000) }

    public var profile: ConnectionProfile { ConnectionProfile(kind: kind, model: model, maxTokensField: maxTokensField) }
}

/// One endpoint: a channel onto a flow (DESIGN §5, §7).
public struct Endpoint: Sendable, Hashable {
    /// The adapters of DESIGN §5.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case webhook, rest, voiceCopilot
    }

    /// How requests authenticate.
    public enum Auth: String, Sendable, Hashable, CaseIterable {
        case none, apiKey
    }

    /// Whether the agent-side routes (inject, notify, the handover's message and end, the workspace) need a
    /// credential of their own (DESIGN §5.4.1): `required` (the default), or `none` to accept the endpoint URL alone.
    public enum AgentAuth: String, Sendable, Hashable, CaseIterable {
        case required, none
    }

    /// An HTTP target with optional Basic auth.
    public struct Target: Sendable, Hashable {
        public var url: String
        public var user: String?
        public var password: String?
        /// `webhook.signingSecret`: every delivery of the endpoint (webhook and handover) is signed with each of these
        /// (several during a rotation) as Standard Webhooks specifies (DESIGN §5.1).
        public var signingSecrets: [SigningSecret]
        /// `webhook.expireSeconds`: how late a message may still be delivered; nil means the retry window.
        public var expireSeconds: Int?

        public init(url: String, user: String? = nil, password: String? = nil, signingSecrets: [SigningSecret] = [], expireSeconds: Int? = nil) {
            self.url = url
            self.user = user
            self.password = password
            self.signingSecrets = signingSecrets
            self.expireSeconds = expireSeconds
        }
    }

    /// What may be kept about conversations.
    public struct DataProtection: Sendable, Hashable {
        /// Masks user text and data in logs and transcripts and erases inbox and outbox copies once processed.
        public var disableSensitiveLogging: Bool
        public var maskIPAddress: Bool
        /// When false, no transcript is recorded.
        public var collectConversations: Bool

        public init(disableSensitiveLogging: Bool = false, maskIPAddress: Bool = true, collectConversations: Bool = true) {
            self.disableSensitiveLogging = disableSensitiveLogging
            self.maskIPAddress = maskIPAddress
            self.collectConversations = collectConversations
        }
    }

    public var name: String
    public var kind: Kind
    /// 64 hex characters; the endpoint's URL is the base URL plus this token.
    public var urlToken: String
    /// The flow new sessions start in.
    public var flow: String
    public var enabled: Bool
    public var auth: Auth
    /// `agentAuth:`; ``AgentAuth/required`` unless the configuration opts out.
    public var agentAuth: AgentAuth = .required
    public var webhook: Target?
    public var handover: Target?
    public var dataProtection: DataProtection
    public var sessionTTLMinutes: Int
    /// `transformer: FILE` (DESIGN §5.7): the endpoint's JavaScript transformer, read at load.
    public var transformer: Transformer?

    /// An endpoint transformer file: its path as written, resolved against the configuration's folder, and text.
    public struct Transformer: Sendable, Hashable {
        /// The path as the configuration gives it (for messages).
        public var path: String
        /// Where the configuration names it.
        public var location: SourceLocation
        /// The resolved file path; set by ``ConfigurationLoader/load(path:)``.
        public var file: String
        /// The JavaScript; empty until loaded.
        public var source: String

        public init(path: String, location: SourceLocation, file: String = "", source: String = "") {
            self.path = path
            self.location = location
            self.file = file
            self.source = source
        }
    }

    public init(
        name: String,
        kind: Kind,
        urlToken: String,
        flow: String,
        enabled: Bool = true,
        auth: Auth = .none,
        webhook: Target? = nil,
        handover: Target? = nil,
        dataProtection: DataProtection = DataProtection(),
        sessionTTLMinutes: Int = 30
    ) {
        self.name = name
        self.kind = kind
        self.urlToken = urlToken
        self.flow = flow
        self.enabled = enabled
        self.auth = auth
        self.webhook = webhook
        self.handover = handover
        self.dataProtection = dataProtection
        self.sessionTTLMinutes = sessionTTLMinutes
    }
}

extension Configuration {
    /// What keeps this deployment from serving `flows`: one message per endpoint whose flow is not in the set.
    ///
    /// `parley serve` refuses to start with such a set, and a reload (SIGHUP, `--watch`) refuses to switch to one,
    /// so no endpoint is ever left with inputs that cannot run.
    public func problems(serving flows: FlowSet) -> [String] {
        endpoints.compactMap { endpoint in
            flows.flow(endpoint.flow) == nil
                ? "endpoint '\(endpoint.name)' names flow '\(endpoint.flow)', which is not in \(self.flows)" : nil
        }
    }
}
