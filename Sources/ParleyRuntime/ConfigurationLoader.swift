import Foundation
import ParleyFlows
import Yams

/// Reads `parley.yaml`: expands `${VAR}` (and `${VAR:-default}`) from the environment, checks every field and
/// reports every problem as `file:line:column: message`.
public struct ConfigurationLoader {
    private let environment: [String: String]

    /// - Parameter environment: the variables `${VAR}` may name (the process environment in production).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// Loads a file. Relative `store` (SQLite) and `flows` paths are resolved against the file's folder.
    public func load(path: String) throws(ConfigurationError) -> Configuration {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError([
                Diagnostic(.error, .unreadableFile, "cannot read configuration file", at: SourceLocation(file: path, line: 1, column: 1))
            ])
        }
        var configuration = try parse(text, file: path)
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ relative: String) -> String {
            relative.hasPrefix("/") ? relative : folder.appendingPathComponent(relative).standardizedFileURL.path
        }
        configuration.flows = resolve(configuration.flows)
        var problems: [Diagnostic] = []
        for index in configuration.endpoints.indices {
            guard var transformer = configuration.endpoints[index].transformer else { continue }
            transformer.file = resolve(transformer.path)
            guard let data = FileManager.default.contents(atPath: transformer.file), let source = String(data: data, encoding: .utf8) else {
                problems.append(Diagnostic(.error, .unreadableFile, "cannot read transformer file '\(transformer.path)'", at: transformer.location))
                continue
            }
            transformer.source = source
            configuration.endpoints[index].transformer = transformer
            problems += TransformerCheck.problems(transformer, endpoint: configuration.endpoints[index])
        }
        if !problems.isEmpty { throw ConfigurationError(problems) }
        if configuration.store.hasPrefix("sqlite:") {
            let file = String(configuration.store.dropFirst("sqlite:".count))
            if file != ":memory:" { configuration.store = "sqlite:" + resolve(file) }
        }
        return configuration
    }

    /// Parses configuration text; `file` names it in diagnostics.
    public func parse(_ text: String, file: String) throws(ConfigurationError) -> Configuration {
        var reader = Reader(file: file, environment: environment)
        let configuration = reader.read(text)
        let errors = reader.diagnostics
        guard errors.isEmpty, let configuration else { throw ConfigurationError(errors) }
        return configuration
    }
}

/// Every problem of a configuration file.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) {
        self.diagnostics = diagnostics.sortedByLocation()
    }

    /// One `file:line:column: message` line per problem.
    public var description: String {
        diagnostics.map { "\($0.location): \($0.message)" }.joined(separator: "\n")
    }
}

/// The largest value each bounded setting takes.
public enum ConfigurationLimits {
    /// 10 minutes per script call.
    public static let codeTimeoutMs = 600_000
    public static let codeMemoryMB = 65_536
    public static let maxStepsPerTurn = 1_000_000
    /// One hour per delivery attempt.
    public static let deliveryTimeoutMs = 3_600_000
    /// 365 days.
    public static let retryWindowSeconds = 31_536_000
    /// 365 days, as the retry window.
    public static let expireSeconds = 31_536_000
    /// 1 GiB.
    public static let maxBodyBytes = 1 << 30
    /// 365 days.
    public static let sessionTTLMinutes = 525_600
    /// 10 minutes per call to a connection.
    public static let effectTimeoutMs = 600_000
    public static let maxConnections = 4096
    /// One hour.
    public static let restTimeoutSeconds = 3600
    /// Ten years.
    public static let retentionDays = 3650
    /// One day.
    public static let retentionIntervalSeconds = 86_400
    public static let retentionBatchSize = 100_000
    /// One hour.
    public static let leaseSeconds = 3600
    /// One minute.
    public static let pollMilliseconds = 60_000
}

/// The configuration file's walker: collects diagnostics instead of stopping at the first.
private struct Reader {
    let file: String
    let environment: [String: String]
    var diagnostics: [Diagnostic] = []

    mutating func read(_ text: String) -> Configuration? {
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: text, .basic)
        } catch let error as YamlError {
            switch error {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
                fail("YAML syntax error: \(problem)", at: SourceLocation(file: file, line: mark.line, column: mark.column))
            case .duplicatedKeysInMapping(let keys, let context):
                fail("duplicate key '\(keys.first ?? "")'", at: SourceLocation(file: file, line: context.mark.line, column: context.mark.column))
            default:
                fail("YAML error: \(error)", at: start)
            }
            return nil
        } catch {
            fail("YAML error: \(error)", at: start)
            return nil
        }
        guard let root, let pairs = mapping(root, what: "the configuration") else {
            if diagnostics.isEmpty { fail("the configuration is empty", at: start) }
            return nil
        }
        var configuration = Configuration()
        for (key, keyNode, value) in pairs {
            switch key {
            case "server": configuration.server = server(value)
            case "store":
                if let store = string(value, field: "store") {
                    if store.hasPrefix("sqlite:") || store.hasPrefix("postgres://") || store.hasPrefix("postgresql://") {
                        configuration.store = store
                    } else {
                        fail("'store' must be sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE", at: location(value))
                    }
                }
            case "flows": configuration.flows = string(value, field: "flows") ?? configuration.flows
            case "engine":
                for (field, fieldKey, item) in mapping(value, what: "'engine'") ?? [] {
                    switch field {
                    case "codeTimeoutMs":
                        configuration.engine.codeTimeoutMs =
                            positive(item, field: field, maximum: ConfigurationLimits.codeTimeoutMs) ?? configuration.engine.codeTimeoutMs
                    case "codeMemoryMB":
                        configuration.engine.codeMemoryMB =
                            positive(item, field: field, maximum: ConfigurationLimits.codeMemoryMB) ?? configuration.engine.codeMemoryMB
                    case "maxStepsPerTurn":
                        configuration.engine.maxStepsPerTurn =
                            positive(item, field: field, maximum: ConfigurationLimits.maxStepsPerTurn) ?? configuration.engine.maxStepsPerTurn
                    default: unknown(field, at: fieldKey, known: ["codeTimeoutMs", "codeMemoryMB", "maxStepsPerTurn"])
                    }
                }
            case "delivery":
                for (field, fieldKey, item) in mapping(value, what: "'delivery'") ?? [] {
                    switch field {
                    case "timeoutMs":
                        configuration.delivery.timeoutMs =
                            positive(item, field: field, maximum: ConfigurationLimits.deliveryTimeoutMs) ?? configuration.delivery.timeoutMs
                    case "retryWindowSeconds":
                        configuration.delivery.retryWindowSeconds =
                            positive(item, field: field, maximum: ConfigurationLimits.retryWindowSeconds) ?? configuration.delivery.retryWindowSeconds
                    default: unknown(field, at: fieldKey, known: ["timeoutMs", "retryWindowSeconds"])
                    }
                }
            case "retention": configuration.retention = retention(value)
            case "cluster": configuration.cluster = cluster(value)
            case "endpoints":
                guard case .sequence(let items) = value else {
                    fail("'endpoints' must be a list", at: location(value))
                    continue
                }
                configuration.endpoints = items.compactMap { endpoint($0) }
            case "connections":
                for (name, nameNode, item) in mapping(value, what: "'connections'") ?? [] {
                    if let connection = connection(name, item, at: nameNode) { configuration.connections.append(connection) }
                }
            default:
                unknown(
                    key,
                    at: keyNode,
                    known: ["server", "store", "flows", "engine", "delivery", "endpoints", "connections", "retention", "cluster"]
                )
            }
        }
        checkUnique(configuration.endpoints, items: items(of: root))
        return configuration
    }

    private func items(of root: Yams.Node) -> [Yams.Node] {
        guard case .sequence(let items) = root["endpoints"] else { return [] }
        return Array(items)
    }

    private mutating func checkUnique(_ endpoints: [Endpoint], items: [Yams.Node]) {
        var names: Set<String> = []
        var tokens: Set<String> = []
        for (endpoint, node) in zip(endpoints, items) {
            if !names.insert(endpoint.name).inserted {
                fail("duplicate endpoint name '\(endpoint.name)'", at: location(node["name"] ?? node))
            }
            if !tokens.insert(endpoint.urlToken.lowercased()).inserted {
                fail("duplicate urlToken for endpoint '\(endpoint.name)'", at: location(node["urlToken"] ?? node))
            }
        }
    }

    /// One entry of `connections:`: `{type: http|openai|nlu, url, headers?, apiKey?, model?, maxTokensField?,
    /// timeoutMs?, maxConnections?}`.
    private mutating func connection(_ name: String, _ node: Yams.Node, at nameNode: Yams.Node) -> Connection? {
        if name.isEmpty || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) {
            fail("connection name '\(name)' must match [A-Za-z0-9_-]+", at: location(nameNode))
        }
        guard let pairs = mapping(node, what: "connection '\(name)'") else { return nil }
        var kind: ConnectionKind?
        var url: String?
        var connection = Connection(name: name, kind: .http, url: "")
        let known = ["type", "url", "headers", "apiKey", "model", "maxTokensField", "timeoutMs", "maxConnections"]
        for (key, keyNode, value) in pairs {
            switch key {
            case "type":
                guard let text = string(value, field: "type") else { break }
                kind = ConnectionKind(rawValue: text)
                if kind == nil { fail("unknown connection type '\(text)' (types: http, openai, nlu)", at: location(value)) }
            case "url":
                guard let text = string(value, field: "url") else { break }
                if let parsed = URL(string: text), parsed.scheme == "http" || parsed.scheme == "https", parsed.host != nil {
                    url = text.hasSuffix("/") ? String(text.dropLast()) : text
                } else {
                    fail("'url' of connection '\(name)' must be an http(s) URL", at: location(value))
                }
            case "headers":
                for (header, headerNode, item) in mapping(value, what: "'headers'") ?? [] {
                    guard let text = string(item, field: "headers.\(header)", allowEmpty: true) else { continue }
                    if header.isEmpty || header.contains(where: { $0.isWhitespace || $0 == ":" }) || text.contains(where: \.isNewline) {
                        fail("header '\(header)' of connection '\(name)' is not a valid HTTP header", at: location(headerNode))
                    } else {
                        connection.headers.append(NamedValue(name: header, value: text))
                    }
                }
            case "apiKey": connection.apiKey = string(value, field: "apiKey", allowEmpty: true).flatMap { $0.isEmpty ? nil : $0 }
            case "model": connection.model = string(value, field: "model", allowEmpty: true).flatMap { $0.isEmpty ? nil : $0 }
            case "maxTokensField":
                guard let text = string(value, field: "maxTokensField") else { break }
                if ["max_tokens", "max_completion_tokens"].contains(text) {
                    connection.maxTokensField = text
                } else {
                    fail("'maxTokensField' must be max_tokens or max_completion_tokens", at: location(value))
                }
            case "timeoutMs": connection.timeoutMs = positive(value, field: key, maximum: ConfigurationLimits.effectTimeoutMs)
            case "maxConnections": connection.maxConnections = positive(value, field: key, maximum: ConfigurationLimits.maxConnections) ?? 64
            default: unknown(key, at: keyNode, known: known)
            }
        }
        for field in ["type", "url"] where !pairs.contains(where: { $0.key == field }) {
            fail("connection '\(name)' is missing required field '\(field)'", at: location(node))
        }
        guard let kind, let url else { return nil }
        connection.kind = kind
        connection.url = url
        return connection
    }

    private mutating func retention(_ node: Yams.Node) -> Configuration.Retention {
        var retention = Configuration.Retention()
        for (field, fieldKey, item) in mapping(node, what: "'retention'") ?? [] {
            let days = ConfigurationLimits.retentionDays
            switch field {
            case "transcriptsDays": retention.transcriptsDays = count(item, field: field, maximum: days) ?? retention.transcriptsDays
            case "deliveredDays": retention.deliveredDays = count(item, field: field, maximum: days) ?? retention.deliveredDays
            case "inboxDays": retention.inboxDays = count(item, field: field, maximum: days) ?? retention.inboxDays
            case "deadDays": retention.deadDays = count(item, field: field, maximum: days) ?? retention.deadDays
            case "sessionsDays": retention.sessionsDays = count(item, field: field, maximum: days) ?? retention.sessionsDays
            case "intervalSeconds":
                retention.intervalSeconds =
                    positive(item, field: field, maximum: ConfigurationLimits.retentionIntervalSeconds) ?? retention.intervalSeconds
            case "batchSize":
                retention.batchSize = positive(item, field: field, maximum: ConfigurationLimits.retentionBatchSize) ?? retention.batchSize
            default:
                unknown(
                    field,
                    at: fieldKey,
                    known: ["transcriptsDays", "deliveredDays", "inboxDays", "deadDays", "sessionsDays", "intervalSeconds", "batchSize"]
                )
            }
        }
        return retention
    }

    private mutating func cluster(_ node: Yams.Node) -> Configuration.Cluster {
        var cluster = Configuration.Cluster()
        for (field, fieldKey, item) in mapping(node, what: "'cluster'") ?? [] {
            switch field {
            case "inboxLeaseSeconds":
                cluster.inboxLeaseSeconds = positive(item, field: field, maximum: ConfigurationLimits.leaseSeconds) ?? cluster.inboxLeaseSeconds
            case "outboxLeaseSeconds": cluster.outboxLeaseSeconds = positive(item, field: field, maximum: ConfigurationLimits.leaseSeconds)
            case "pollMilliseconds":
                cluster.pollMilliseconds = positive(item, field: field, maximum: ConfigurationLimits.pollMilliseconds) ?? cluster.pollMilliseconds
            case "instanceId":
                if let name = string(item, field: field) {
                    if name.count > 200 || name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                        fail("'instanceId' must be at most 200 characters without control characters", at: location(item))
                    } else {
                        cluster.instanceId = name
                    }
                }
            default: unknown(field, at: fieldKey, known: ["inboxLeaseSeconds", "outboxLeaseSeconds", "pollMilliseconds", "instanceId"])
            }
        }
        return cluster
    }

    private mutating func server(_ node: Yams.Node) -> Configuration.Server {
        var host = "127.0.0.1"
        var port = 8080
        var baseURL: String?
        var maxBodyBytes = 1_048_576
        var adminToken = ""
        var restTimeoutSeconds = 60
        var frameAncestors: [String] = []
        var limits = Configuration.Server()
        for (key, keyNode, value) in mapping(node, what: "'server'") ?? [] {
            switch key {
            case "host": host = string(value, field: key) ?? host
            case "port":
                if let number = integer(value, field: key) {
                    if (0...65535).contains(number) {
                        port = number
                    } else {
                        fail("'port' must be between 0 (any free port) and 65535", at: location(value))
                    }
                }
            case "baseURL":
                if let url = string(value, field: key) {
                    if let parsed = URL(string: url), parsed.scheme == "http" || parsed.scheme == "https", parsed.host != nil {
                        baseURL = url.hasSuffix("/") ? String(url.dropLast()) : url
                    } else {
                        fail("'baseURL' must be an http(s) URL", at: location(value))
                    }
                }
            case "maxBodyBytes": maxBodyBytes = positive(value, field: key, maximum: ConfigurationLimits.maxBodyBytes) ?? maxBodyBytes
            case "adminToken": adminToken = string(value, field: key, allowEmpty: true) ?? ""
            case "restTimeoutSeconds":
                restTimeoutSeconds = positive(value, field: key, maximum: ConfigurationLimits.restTimeoutSeconds) ?? restTimeoutSeconds
            case "frameAncestors":
                guard case .sequence(let items) = value else {
                    fail("'frameAncestors' must be a list of origins such as https://desk.example.com", at: location(value))
                    break
                }
                for item in items {
                    guard let origin = string(item, field: key) else { continue }
                    if let parsed = URL(string: origin), parsed.scheme == "http" || parsed.scheme == "https", parsed.host != nil,
                        parsed.path.isEmpty || parsed.path == "/", parsed.query == nil, !origin.contains(where: { $0 == " " || $0 == ";" || $0 == "," })
                    {
                        frameAncestors.append(origin.hasSuffix("/") ? String(origin.dropLast()) : origin)
                    } else {
                        fail("'frameAncestors' items must be origins such as https://desk.example.com (a scheme and a host, no path)", at: location(item))
                    }
                }
            case "idleTimeoutSeconds":
                limits.idleTimeoutSeconds = positive(value, field: key, maximum: ConfigurationLimits.restTimeoutSeconds) ?? limits.idleTimeoutSeconds
            case "maxEventStreams":
                limits.maxEventStreams = positive(value, field: key, maximum: 1_000_000) ?? limits.maxEventStreams
            case "maxEventStreamsPerEndpoint":
                limits.maxEventStreamsPerEndpoint = positive(value, field: key, maximum: 1_000_000) ?? limits.maxEventStreamsPerEndpoint
            default:
                unknown(
                    key,
                    at: keyNode,
                    known: [
                        "host", "port", "baseURL", "maxBodyBytes", "adminToken", "restTimeoutSeconds", "frameAncestors", "idleTimeoutSeconds",
                        "maxEventStreams", "maxEventStreamsPerEndpoint",
                    ]
                )
            }
        }
        var server = Configuration.Server(
            host: host,
            port: port,
            baseURL: baseURL,
            maxBodyBytes: maxBodyBytes,
            adminToken: adminToken,
            restTimeoutSeconds: restTimeoutSeconds
        )
        server.frameAncestors = frameAncestors
        server.idleTimeoutSeconds = limits.idleTimeoutSeconds
        server.maxEventStreams = limits.maxEventStreams
        server.maxEventStreamsPerEndpoint = limits.maxEventStreamsPerEndpoint
        return server
    }

    private mutating func endpoint(_ node: Yams.Node) -> Endpoint? {
        guard let pairs = mapping(node, what: "an endpoint") else { return nil }
        var name: String?
        var kind: Endpoint.Kind?
        var token: String?
        var flow: String?
        var endpoint = Endpoint(name: "", kind: .webhook, urlToken: "", flow: "")
        let known = [
            "name", "type", "urlToken", "flow", "enabled", "auth", "agentAuth", "webhook", "handover", "dataProtection", "sessionTTLMinutes", "transformer",
        ]
        for (key, keyNode, value) in pairs {
            switch key {
            case "name": name = string(value, field: key)
            case "type":
                guard let text = string(value, field: key) else { break }
                kind = Endpoint.Kind(rawValue: text)
                if kind == nil { fail("unknown endpoint type '\(text)' (types: webhook, rest, voiceCopilot)", at: location(value)) }
            case "urlToken":
                guard let text = string(value, field: key) else { break }
                if text.count == 64, text.allSatisfy(\.isHexDigit) {
                    token = text.lowercased()
                } else {
                    fail("'urlToken' must be 64 hex characters (for example: openssl rand -hex 32)", at: location(value))
                }
            case "flow": flow = string(value, field: key)
            case "enabled": endpoint.enabled = bool(value, field: key) ?? endpoint.enabled
            case "auth":
                guard let text = string(value, field: key) else { break }
                if let auth = Endpoint.Auth(rawValue: text) {
                    endpoint.auth = auth
                } else {
                    fail("'auth' must be none or apiKey", at: location(value))
                }
            case "agentAuth":
                guard let text = string(value, field: key) else { break }
                if let agentAuth = Endpoint.AgentAuth(rawValue: text) {
                    endpoint.agentAuth = agentAuth
                } else {
                    fail("'agentAuth' must be required or none", at: location(value))
                }
            case "webhook": endpoint.webhook = target(value, field: key, signed: true)
            case "handover": endpoint.handover = target(value, field: key)
            case "dataProtection":
                for (field, fieldKey, item) in mapping(value, what: "'dataProtection'") ?? [] {
                    switch field {
                    case "disableSensitiveLogging": endpoint.dataProtection.disableSensitiveLogging = bool(item, field: field) ?? false
                    case "maskIPAddress": endpoint.dataProtection.maskIPAddress = bool(item, field: field) ?? true
                    case "collectConversations": endpoint.dataProtection.collectConversations = bool(item, field: field) ?? true
                    default: unknown(field, at: fieldKey, known: ["disableSensitiveLogging", "maskIPAddress", "collectConversations"])
                    }
                }
            case "transformer":
                guard let text = string(value, field: key) else { break }
                if text.isEmpty || !text.hasSuffix(".js") {
                    fail("'transformer' must name a JavaScript file (.js), relative to this file", at: location(value))
                } else {
                    endpoint.transformer = Endpoint.Transformer(path: text, location: location(value))
                }
            case "sessionTTLMinutes":
                endpoint.sessionTTLMinutes = positive(value, field: key, maximum: ConfigurationLimits.sessionTTLMinutes) ?? endpoint.sessionTTLMinutes
            default: unknown(key, at: keyNode, known: known)
            }
        }
        for field in ["name", "type", "urlToken", "flow"] where !pairs.contains(where: { $0.key == field }) {
            fail("an endpoint is missing required field '\(field)'", at: location(node))
        }
        // A webhook endpoint answers only through its webhook: without one, every output would be a dead letter.
        if kind == .webhook, !pairs.contains(where: { $0.key == "webhook" }) {
            fail("a webhook endpoint needs 'webhook: { url: ... }' (where its answers are POSTed)", at: location(node))
        }
        guard let name, let kind, let token, let flow else { return nil }
        endpoint.name = name
        endpoint.kind = kind
        endpoint.urlToken = token
        endpoint.flow = flow
        return endpoint
    }

    /// An HTTP target; with `signed`, also the webhook's `signingSecret` (one or a list) and `expireSeconds`.
    private mutating func target(_ node: Yams.Node, field: String, signed: Bool = false) -> Endpoint.Target? {
        var url: String?
        var user: String?
        var password: String?
        var secrets: [SigningSecret] = []
        var expireSeconds: Int?
        let known = signed ? ["url", "user", "password", "signingSecret", "expireSeconds"] : ["url", "user", "password"]
        for (key, keyNode, value) in mapping(node, what: "'\(field)'") ?? [] {
            switch key {
            case "url":
                guard let text = string(value, field: "\(field).url") else { break }
                if let parsed = URL(string: text), parsed.scheme == "http" || parsed.scheme == "https", parsed.host != nil {
                    url = text
                } else {
                    fail("'\(field).url' must be an http(s) URL", at: location(value))
                }
            case "user": user = string(value, field: "\(field).user", allowEmpty: true)
            case "password": password = string(value, field: "\(field).password", allowEmpty: true)
            case "signingSecret" where signed: secrets = signingSecrets(value, field: "\(field).signingSecret")
            case "expireSeconds" where signed:
                expireSeconds = positive(value, field: "\(field).expireSeconds", maximum: ConfigurationLimits.expireSeconds)
            default: unknown(key, at: keyNode, known: known)
            }
        }
        guard let url else {
            if !diagnostics.contains(where: { $0.location.line >= location(node).line }) {
                fail("'\(field)' needs 'url'", at: location(node))
            }
            return nil
        }
        return Endpoint.Target(
            url: url,
            user: user?.isEmpty == true ? nil : user,
            password: password?.isEmpty == true ? nil : password,
            signingSecrets: secrets,
            expireSeconds: expireSeconds
        )
    }

    /// One `whsec_` secret or a list of them (a rotation); an empty text (an unset `${VAR:-}`) means none.
    private mutating func signingSecrets(_ node: Yams.Node, field: String) -> [SigningSecret] {
        let items: [Yams.Node]
        if case .sequence(let sequence) = node {
            items = Array(sequence)
        } else {
            items = [node]
        }
        var secrets: [SigningSecret] = []
        for item in items {
            guard let text = string(item, field: field, allowEmpty: true), !text.isEmpty else { continue }
            do {
                secrets.append(try SigningSecret(parsing: text))
            } catch {
                fail("'\(field)': \(error)", at: location(item))
            }
        }
        return secrets
    }

    // MARK: Values

    private var start: SourceLocation { SourceLocation(file: file, line: 1, column: 1) }

    private func location(_ node: Yams.Node) -> SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    private mutating func fail(_ message: String, at location: SourceLocation) {
        diagnostics.append(Diagnostic(.error, .invalidValue, message, at: location))
    }

    private mutating func unknown(_ key: String, at node: Yams.Node, known: [String]) {
        fail("unknown key '\(key)'\(NameSuggestion.hint(for: key, in: known))", at: location(node))
    }

    private mutating func mapping(_ node: Yams.Node, what: String) -> [(key: String, keyNode: Yams.Node, value: Yams.Node)]? {
        guard case .mapping(let mapping) = node else {
            fail("\(what) must be a mapping", at: location(node))
            return nil
        }
        return mapping.map { ($0.key.string ?? "", $0.key, $0.value) }
    }

    /// A scalar with `${VAR}` expanded; an unset variable is an error unless a default is given (`${VAR:-default}`).
    private mutating func string(_ node: Yams.Node, field: String, allowEmpty: Bool = false) -> String? {
        guard case .scalar(let scalar) = node, JSONValue(yaml: node) != .null || allowEmpty else {
            fail("'\(field)' must be a string", at: location(node))
            return nil
        }
        var result = ""
        var rest = Substring(JSONValue(yaml: node) == .null ? "" : scalar.string)
        while let open = rest.range(of: "${") {
            result += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                result += rest[open.lowerBound...]
                rest = ""
                break
            }
            let reference = String(rest[open.upperBound..<close])
            let parts = reference.components(separatedBy: ":-")
            let name = parts[0]
            if let value = environment[name] {
                result += value
            } else if parts.count > 1 {
                result += parts.dropFirst().joined(separator: ":-")
            } else {
                fail("environment variable '\(name)' is not set (used by '\(field)')", at: location(node))
            }
            rest = rest[rest.index(after: close)...]
        }
        result += rest
        if !allowEmpty, result.isEmpty {
            fail("'\(field)' must not be empty", at: location(node))
            return nil
        }
        return result
    }

    private mutating func integer(_ node: Yams.Node, field: String) -> Int? {
        guard case .number(let number) = JSONValue(yaml: node), let whole = CheckedNumber.integer(number) else {
            fail("'\(field)' must be a whole number", at: location(node))
            return nil
        }
        return whole
    }

    /// A whole number from 1 to `maximum`: every count, size and duration of the file has an upper bound, so no
    /// setting can overflow the arithmetic that uses it (DESIGN §7; the bounds are listed in docs/operations.md).
    private mutating func positive(_ node: Yams.Node, field: String, maximum: Int) -> Int? {
        guard let number = integer(node, field: field) else { return nil }
        guard (1...maximum).contains(number) else {
            fail("'\(field)' must be between 1 and \(maximum)", at: location(node))
            return nil
        }
        return number
    }

    /// A whole number from 0 to `maximum`.
    private mutating func count(_ node: Yams.Node, field: String, maximum: Int) -> Int? {
        guard let number = integer(node, field: field) else { return nil }
        guard (0...maximum).contains(number) else {
            fail("'\(field)' must be between 0 and \(maximum)", at: location(node))
            return nil
        }
        return number
    }

    private mutating func bool(_ node: Yams.Node, field: String) -> Bool? {
        guard let flag = JSONValue(yaml: node).boolValue else {
            fail("'\(field)' must be true or false", at: location(node))
            return nil
        }
        return flag
    }
}
