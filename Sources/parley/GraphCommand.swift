import ArgumentParser
import ParleyFlows

/// `parley graph FLOW [--flows DIR] [--format mermaid|dot]`: draws a flow.
struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Draw a flow as Mermaid or Graphviz DOT."
    )

    @Argument(help: "A flow id in the flows folder, or a flow file.")
    var flow: String

    @Option(help: "The flows folder.")
    var flows: String = "Flows"

    @Option(help: "Output format: mermaid or dot.")
    var format: FlowDiagram.Format = .mermaid

    func run() throws {
        let (result, id) = try FlowSource.resolve(flow, folder: flows)
        for diagnostic in result.diagnostics where diagnostic.severity == .error {
            FileHandleOutput.standardError(diagnostic.description)
        }
        guard let target = result.flows.first(where: { $0.id == id }) else { throw ExitCode(1) }
        var byId: [String: Flow] = [:]
        for item in result.flows where byId[item.id] == nil { byId[item.id] = item }
        print(FlowDiagram(flow: target, flows: byId).render(format), terminator: "")
        if result.diagnostics.hasErrors { throw ExitCode(1) }
    }
}

extension FlowDiagram.Format: ExpressibleByArgument {}
