import Foundation
import ParleyEngine
import ParleyFlows

/// One performed effect as a transcript entry records it (DESIGN §3.1, *Recorded*):
/// `{kind, flow, node, connection, request: {method, url, path, headers, body}, response: {status, headers, body} |
/// {error}, ms}`.
///
/// Connection headers, API keys, `Authorization` and other credential headers are masked before anything is
/// recorded; a redacted turn masks the bodies too (prompts carry user text). Replay and tests answer effects from
/// these records, so they need no network.
public struct EffectRecord: Sendable, Hashable {
    public var kind: Effect.Kind
    public var flow: String
    public var node: String?
    public var connection: String
    /// `{method, url, path, headers, body}`: `path` is below the connection's URL, as the flow asked.
    public var request: JSONValue
    /// `{status, headers, body}` or `{error}`.
    public var response: JSONValue
    /// How long the call took, in milliseconds (not part of any comparison).
    public var ms: Int

    /// The text that stands in for a masked value.
    public static let mask = "***"

    public init(kind: Effect.Kind, flow: String, node: String?, connection: String, request: JSONValue, response: JSONValue, ms: Int) {
        self.kind = kind
        self.flow = flow
        self.node = node
        self.connection = connection
        self.request = request
        self.response = response
        self.ms = ms
    }

    /// The record of an effect answered with `result`: what replay and tests write when no call went out.
    public init(effect: Effect, url: String, headers: [NamedValue], result: EffectResult, ms: Int) {
        var request: [String: JSONValue] = [
            "method": .string(effect.method), "url": .string(url), "path": .string(effect.path),
            "headers": .object(Dictionary(headers.map { ($0.name, .string($0.value)) }, uniquingKeysWith: { _, last in last })),
            "body": effect.body ?? .null,
        ]
        if effect.kind == .nlu { request["path"] = "" }
        self.init(
            kind: effect.kind,
            flow: effect.flow,
            node: effect.node,
            connection: effect.connection,
            request: .object(request),
            response: Self.maskedResponse(result.json),
            ms: ms
        )
    }

    public var json: JSONValue {
        [
            "kind": .string(kind.rawValue), "flow": .string(flow), "node": node.map(JSONValue.string) ?? .null,
            "connection": .string(connection), "request": request, "response": response, "ms": .number(Double(ms)),
        ]
    }

    public init(json: JSONValue) throws(TranscriptError) {
        guard let kind = json["kind"]?.stringValue.flatMap(Effect.Kind.init(rawValue:)), let flow = json["flow"]?.stringValue,
            let connection = json["connection"]?.stringValue, let request = json["request"], request.objectValue != nil,
            let response = json["response"], EffectResult(json: response) != nil
        else { throw TranscriptError("a recorded effect needs kind (http, llm or nlu), flow, connection, request and response") }
        self.init(
            kind: kind,
            flow: flow,
            node: json["node"]?.stringValue,
            connection: connection,
            request: request,
            response: response,
            ms: json["ms"]?.integer(in: 0...Int.max) ?? 0
        )
    }

    /// The answer replay and tests hand the engine.
    public var result: EffectResult { EffectResult(json: response) ?? .failure("the recorded answer is unreadable") }

    /// The record with everything the user's input may have shaped masked: the bodies (prompts carry user text),
    /// the path and query (an order number), the URL below its host and every header value. What a turn recorded
    /// with `disableSensitiveLogging` keeps.
    public var redacted: EffectRecord {
        var copy = self
        if var object = request.objectValue {
            if object["body"] != nil, object["body"] != .null { object["body"] = .string(Self.mask) }
            if let path = object["path"]?.stringValue, !path.isEmpty { object["path"] = .string(Self.mask) }
            if let url = object["url"]?.stringValue { object["url"] = .string(Self.origin(of: url) + (url.isEmpty ? "" : "/" + Self.mask)) }
            if let headers = object["headers"]?.objectValue { object["headers"] = .object(headers.mapValues { _ in .string(Self.mask) }) }
            copy.request = .object(object)
        }
        if var object = response.objectValue, object["body"] != nil, object["body"] != .null {
            object["body"] = .string(Self.mask)
            copy.response = .object(object)
        }
        return copy
    }

    // MARK: Comparing with a replayed request

    /// `nil` when the replayed `effect` asks for the same call as this record; else the two requests as pretty JSON
    /// lines (recorded, replayed) for a diff. Compared: kind, connection, method, path, body and the headers the
    /// flow sets (a masked recorded header matches any value); not the connection's headers, the URL or the time.
    public func difference(from effect: Effect) -> (recorded: [String], replayed: [String])? {
        var replayed: [String: JSONValue] = [
            "kind": .string(effect.kind.rawValue), "connection": .string(effect.connection), "method": .string(effect.method),
            "path": .string(effect.kind == .nlu ? "" : effect.path), "body": effect.body ?? .null,
        ]
        var recorded: [String: JSONValue] = [
            "kind": .string(kind.rawValue), "connection": .string(connection), "method": request["method"] ?? .null,
            "path": request["path"] ?? "", "body": request["body"] ?? .null,
        ]
        // Headers the flow sets must be the ones recorded (or masked there); connection headers are not the flow's.
        let recordedHeaders = (request["headers"]?.objectValue ?? [:]).reduce(into: [String: JSONValue]()) { $0[$1.key.lowercased()] = $1.value }
        var flowHeaders: [String: JSONValue] = [:]
        var seen: [String: JSONValue] = [:]
        for header in effect.headers {
            let name = header.name.lowercased()
            let masked = EffectMasking.isCredential(name)
            flowHeaders[name] = .string(masked ? Self.mask : header.value)
            seen[name] = recordedHeaders[name] == .string(Self.mask) ? .string(Self.mask) : recordedHeaders[name] ?? .null
        }
        if !flowHeaders.isEmpty {
            replayed["headers"] = .object(flowHeaders)
            recorded["headers"] = .object(seen)
        }
        // A redacted recording keeps no bodies to compare.
        if recorded["body"] == .string(Self.mask) { replayed["body"] = .string(Self.mask) }
        let left = JSONValue.object(recorded)
        let right = JSONValue.object(replayed)
        guard left != right else { return nil }
        return (left.prettyLines, right.prettyLines)
    }

    /// `scheme://host:port` of a URL (what is left of it when the rest is masked).
    static func origin(of url: String) -> String {
        guard let scheme = url.range(of: "://") else { return "" }
        let rest = url[scheme.upperBound...]
        let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        return String(url[..<end])
    }

    static func maskedResponse(_ response: JSONValue) -> JSONValue {
        guard var object = response.objectValue, let headers = response["headers"]?.objectValue else { return response }
        object["headers"] = .object(
            Dictionary(headers.map { ($0.key, EffectMasking.isCredential($0.key) || $0.key.lowercased() == "set-cookie" ? .string(mask) : $0.value) })
            {
                _,
                last in last
            }
        )
        return .object(object)
    }
}

/// Which headers carry credentials and never reach a transcript, a log or an error message.
public enum EffectMasking {
    /// True for `Authorization`, `Proxy-Authorization`, `Cookie` and any header whose name says key, token, secret,
    /// password or auth.
    public static func isCredential(_ name: String) -> Bool {
        let lower = name.lowercased()
        if lower == "idempotency-key" { return false }
        if ["authorization", "proxy-authorization", "cookie", "set-cookie"].contains(lower) { return true }
        return ["key", "token", "secret", "password", "auth", "credential", "signature"].contains { lower.contains($0) }
    }

    /// `url` without user information (`https://user:pass@host` → `https://host`).
    public static func strippingCredentials(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<scheme.upperBound]) + String(rest[rest.index(after: at)...])
    }
}

extension JSONValue {
    /// Pretty JSON, keys sorted, two spaces per level, one line per member: readable in a line diff.
    var prettyLines: [String] {
        var lines: [String] = []
        write(into: &lines, indent: 0, prefix: "", suffix: "")
        return lines
    }

    private func write(into lines: inout [String], indent: Int, prefix: String, suffix: String) {
        let pad = String(repeating: "  ", count: indent)
        switch self {
        case .array(let items) where !items.isEmpty:
            lines.append(pad + prefix + "[")
            for (index, item) in items.enumerated() {
                item.write(into: &lines, indent: indent + 1, prefix: "", suffix: index < items.count - 1 ? "," : "")
            }
            lines.append(pad + "]" + suffix)
        case .object(let members) where !members.isEmpty:
            lines.append(pad + prefix + "{")
            let keys = members.keys.sorted()
            for (index, key) in keys.enumerated() {
                members[key, default: .null].write(
                    into: &lines,
                    indent: indent + 1,
                    prefix: JSONValue.string(key).canonicalJSON + ": ",
                    suffix: index < keys.count - 1 ? "," : ""
                )
            }
            lines.append(pad + "}" + suffix)
        default:
            lines.append(pad + prefix + canonicalJSON + suffix)
        }
    }
}
