import Foundation

/// Draws a flow as Mermaid or Graphviz DOT text: nodes with their kinds, labelled edges, and the flows that
/// `goto` and `execute` lead to.
public struct FlowDiagram: Sendable {
    /// The output languages.
    public enum Format: String, Sendable, CaseIterable {
        case mermaid, dot
    }

    private struct Arrow {
        var from: String
        var to: String
        var label: String
        var crossFlow: Bool
    }

    private let flow: Flow
    private let flows: [String: Flow]

    /// - Parameters:
    ///   - flow: the flow to draw.
    ///   - flows: the flow set, to name the targets of `goto`/`execute` (their start node when none is given).
    public init(flow: Flow, flows: [String: Flow] = [:]) {
        self.flow = flow
        self.flows = flows
    }

    /// The diagram in the given format.
    public func render(_ format: Format) -> String {
        switch format {
        case .mermaid: mermaid
        case .dot: dot
        }
    }

    /// Local node ids are `n0`, `n1`... in file order; external targets are `x0`, `x1`... with `flow:node` labels.
    private var layout: (ids: [String: String], external: [(id: String, label: String)], arrows: [Arrow]) {
        var ids: [String: String] = [:]
        for (index, node) in flow.nodes.enumerated() where ids[node.id] == nil { ids[node.id] = "n\(index)" }
        var external: [(id: String, label: String)] = []
        var arrows: [Arrow] = []
        for node in flow.nodes {
            guard let from = ids[node.id] else { continue }
            for (label, edge) in node.edges.labelled {
                if let to = ids[edge.target] { arrows.append(Arrow(from: from, to: to, label: label, crossFlow: false)) }
            }
            switch node.kind {
            case .goto(let reference), .execute(let reference):
                let target = reference.node ?? flows[reference.flow]?.start ?? "start"
                if reference.flow == flow.id, let to = ids[target] {
                    arrows.append(Arrow(from: from, to: to, label: node.kind.name, crossFlow: false))
                    continue
                }
                let label = "\(reference.flow):\(target)"
                let id: String
                if let known = external.first(where: { $0.label == label }) {
                    id = known.id
                } else {
                    id = "x\(external.count)"
                    external.append((id, label))
                }
                arrows.append(Arrow(from: from, to: id, label: node.kind.name, crossFlow: true))
            default:
                break
            }
        }
        return (ids, external, arrows)
    }

    private var mermaid: String {
        let (ids, external, arrows) = layout
        var lines = ["flowchart TD", "  %% flow \(flow.id)", "  start((\"\(flow.id)\"))"]
        for (index, node) in flow.nodes.enumerated() where ids[node.id] == "n\(index)" {
            let id = "n\(index)"
            let label = "\(Self.escapeMermaid(node.id))<br/><i>\(node.kind.name)</i>"
            let shape: (String, String) =
                switch node.kind {
                case .condition, .switch: ("{\"", "\"}")
                case .question, .wait: ("([\"", "\"])")
                case .handover, .end: ("[[\"", "\"]]")
                case .http, .llm: ("[(\"", "\")]")
                case .resolveTool: (">\"", "\"]")
                default: ("[\"", "\"]")
                }
            lines.append("  \(id)\(shape.0)\(label)\(shape.1)")
        }
        for item in external { lines.append("  \(item.id)[/\"\(Self.escapeMermaid(item.label))\"/]") }
        if let first = ids[flow.start] { lines.append("  start --> \(first)") }
        for arrow in arrows {
            let link = arrow.crossFlow ? "-.->" : "-->"
            lines.append("  \(arrow.from) \(link)|\"\(Self.escapeMermaid(arrow.label))\"| \(arrow.to)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private var dot: String {
        let (ids, external, arrows) = layout
        var lines = ["digraph \(Self.quoteDot(flow.id)) {", "  rankdir=TB;", "  node [shape=box, fontname=\"Helvetica\"];"]
        lines.append("  start [shape=circle, label=\(Self.quoteDot(flow.id))];")
        for (index, node) in flow.nodes.enumerated() where ids[node.id] == "n\(index)" {
            let shape =
                switch node.kind {
                case .condition, .switch: "diamond"
                case .question, .wait: "ellipse"
                case .handover, .end: "doubleoctagon"
                case .http, .llm: "cylinder"
                case .resolveTool: "cds"
                default: "box"
                }
            lines.append("  n\(index) [shape=\(shape), label=\(Self.quoteDot("\(node.id)\n\(node.kind.name)"))];")
        }
        for item in external { lines.append("  \(item.id) [shape=parallelogram, label=\(Self.quoteDot(item.label))];") }
        if let first = ids[flow.start] { lines.append("  start -> \(first);") }
        for arrow in arrows {
            let style = arrow.crossFlow ? ", style=dashed" : ""
            lines.append("  \(arrow.from) -> \(arrow.to) [label=\(Self.quoteDot(arrow.label))\(style)];")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    private static func escapeMermaid(_ text: String) -> String {
        text.replacingOccurrences(of: "\"", with: "#quot;")
    }

    private static func quoteDot(_ text: String) -> String {
        "\""
            + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}
