import ArgumentParser
import Foundation
import ParleyFlows
import ParleyScript

/// Loading flows for a command: checks that the paths exist, then loads and validates with JavaScriptCore.
enum FlowSource {
    /// Loads and validates `paths`; a path that does not exist is a usage error. With `connections` (a deployment
    /// is known), flows naming other connections are errors.
    static func load(_ paths: [String], connections: [String: ConnectionKind]? = nil) throws -> FlowLoadResult {
        for path in paths where !FileManager.default.fileExists(atPath: path) {
            throw UsageError("no such file or folder: \(path)")
        }
        return FlowLoader(scriptChecker: JavaScriptSyntaxChecker(), connections: connections).load(paths: paths)
    }

    /// The closing line of a text report.
    static func summary(of result: FlowLoadResult) -> String {
        if result.files.isEmpty { return "no flow files found" }
        let counts =
            "\(result.flows.count) \(result.flows.count == 1 ? "flow" : "flows") in \(result.files.count) "
            + "\(result.files.count == 1 ? "file" : "files"): \(result.errorCount) \(result.errorCount == 1 ? "error" : "errors"), "
            + "\(result.warningCount) \(result.warningCount == 1 ? "warning" : "warnings")"
        return result.flowSet.map { "\(counts) (\($0.contentHash))" } ?? counts
    }

    /// Resolves `FLOW` as the `graph` and `chat` commands take it: a flow file, or a flow id in `folder`.
    /// Returns the loaded set and the flow's id.
    static func resolve(_ flow: String, folder: String, connections: [String: ConnectionKind]? = nil) throws -> (result: FlowLoadResult, id: String) {
        if FlowLoader.isFlowFile(flow), FileManager.default.fileExists(atPath: flow) {
            // The file joins the folder's flows, so its goto/execute targets resolve; it is loaded once even when
            // it lies inside the folder.
            func standard(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }
            let folderFiles = FileManager.default.fileExists(atPath: folder) ? FlowLoader.flowFiles(in: [folder]) : []
            let inside = folderFiles.contains { standard($0) == standard(flow) }
            let result = try load(inside ? [folder] : [flow] + (folderFiles.isEmpty ? [] : [folder]), connections: connections)
            let id = result.flows.first { standard($0.file) == standard(flow) }?.id ?? ""
            return (result, id)
        }
        guard FileManager.default.fileExists(atPath: folder) else { throw UsageError("no such flows folder: \(folder)") }
        let result = try load([folder], connections: connections)
        guard result.flows.contains(where: { $0.id == flow }) else {
            let known = result.flows.map(\.id).sorted().joined(separator: ", ")
            throw UsageError("no flow '\(flow)' in \(folder) (flows: \(known.isEmpty ? "none" : known))")
        }
        return (result, flow)
    }
}
