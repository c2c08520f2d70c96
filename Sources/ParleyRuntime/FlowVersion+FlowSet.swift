import ParleyFlows
import ParleyStore

extension FlowVersion {
    /// The stored files loaded and validated again; `nil` when they no longer load into the same content hash
    /// (a stored version that does not reproduce its hash is not the version sessions were pinned to).
    public var flowSet: FlowSet? {
        let result = FlowLoader().load(sources: files.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        guard let flows = result.flowSet, flows.contentHash == hash else { return nil }
        return flows
    }
}
