import Crypto
import Foundation

/// A validated set of flows, addressed by id, with the content hash that pins sessions to this version.
public struct FlowSet: Sendable {
    /// The flows by id.
    public let flows: [String: Flow]
    /// `sha256:` and the hex digest of the canonical form of all flows, sorted by id.
    public let contentHash: String
    /// Whether any flow has an `llm` node: only then do sessions keep a history (DESIGN §3.1).
    public let usesModels: Bool

    public init(flows: [Flow]) {
        var byId: [String: Flow] = [:]
        for flow in flows where byId[flow.id] == nil { byId[flow.id] = flow }
        self.flows = byId
        let text = JSONValue.array(byId.keys.sorted().map { byId[$0]!.canonical }).canonicalJSON
        self.contentHash = "sha256:" + lowercaseHex(SHA256.hash(data: Data(text.utf8)))
        self.usesModels = byId.values.contains { flow in flow.nodes.contains { if case .llm = $0.kind { true } else { false } } }
    }

    /// The flow with this id.
    public func flow(_ id: String) -> Flow? { flows[id] }

    /// Flow ids, sorted.
    public var ids: [String] { flows.keys.sorted() }

    /// The canonical JSON text that ``contentHash`` digests.
    public var canonicalJSON: String {
        JSONValue.array(ids.map { flows[$0]!.canonical }).canonicalJSON
    }
}
