/// The nodes of a flow set and the steps a turn can take between them without new input.
///
/// Used for two checks: nodes no path reaches (a warning) and loops that never wait for input (an error).
/// Nodes that wait (`question`, `wait`, `handover`) have no instant steps out: what follows them happens in a
/// later turn. An `execute` node steps into the called flow and, when that flow can come back without waiting,
/// straight on to its own `next`.
struct ExecutionGraph {
    struct Vertex: Hashable, Comparable {
        var flow: String
        var node: String

        static func < (lhs: Vertex, rhs: Vertex) -> Bool { (lhs.flow, lhs.node) < (rhs.flow, rhs.node) }
    }

    private let flows: [String: Flow]
    private var steps: [Vertex: [Vertex]] = [:]

    init(flows: [String: Flow]) {
        self.flows = flows
        var returns: [String: Bool] = [:]
        for flow in flows.values {
            for node in flow.nodes {
                let from = Vertex(flow: flow.id, node: node.id)
                var targets: [Vertex] = []
                if !node.kind.waitsForInput {
                    for (_, edge) in node.edges.labelled where flow.node(edge.target) != nil {
                        if case .execute(let reference) = node.kind, edge.target == node.edges.next?.target,
                            !Self.canReturn(reference, flows: flows, memo: &returns)
                        {
                            continue
                        }
                        targets.append(Vertex(flow: flow.id, node: edge.target))
                    }
                    switch node.kind {
                    case .goto(let reference), .execute(let reference):
                        if let entry = Self.entry(reference, flows: flows) { targets.append(entry) }
                    default: break
                    }
                }
                steps[from] = targets
            }
        }
    }

    private static func entry(_ reference: FlowReference, flows: [String: Flow]) -> Vertex? {
        guard let flow = flows[reference.flow] else { return nil }
        let node = reference.node ?? flow.start
        return flow.node(node) == nil ? nil : Vertex(flow: flow.id, node: node)
    }

    /// Can the called flow reach a node with no way out (which returns to the caller) without waiting for input?
    private static func canReturn(_ reference: FlowReference, flows: [String: Flow], memo: inout [String: Bool]) -> Bool {
        let key = "\(reference.flow)#\(reference.node ?? "")"
        if let known = memo[key] { return known }
        memo[key] = false  // a flow that executes itself cannot return through that path
        guard let flow = flows[reference.flow], let first = entry(reference, flows: flows) else { return false }
        var seen: Set<String> = []
        var stack = [first.node]
        var result = false
        while let id = stack.popLast(), !result {
            guard seen.insert(id).inserted, let node = flow.node(id), !node.kind.waitsForInput else { continue }
            switch node.kind {
            case .end, .goto: continue
            case .execute(let inner) where !canReturn(inner, flows: flows, memo: &memo):
                stack += node.edges.labelled.filter { $0.label != "next" }.map(\.edge.target)
                continue
            default: break
            }
            let targets = node.edges.labelled.map(\.edge.target).filter { flow.node($0) != nil }
            if targets.isEmpty || mayFallThrough(node) { result = true }
            stack += targets
        }
        memo[key] = result
        return result
    }

    /// A condition or switch with a missing branch and no `next` ends the turn on that branch.
    private static func mayFallThrough(_ node: Node) -> Bool {
        guard node.edges.next == nil else { return false }
        switch node.kind {
        case .condition: return node.edges.then == nil || node.edges.else == nil
        case .switch: return node.edges.default == nil
        default: return false
        }
    }

    /// Nodes that neither their flow's start nor any `goto`/`execute` can reach, along any edge.
    func unreachableNodes() -> [Diagnostic] {
        var roots: [Vertex] = []
        var allEdges: [Vertex: [Vertex]] = [:]
        for flow in flows.values {
            if flow.node(flow.start) != nil { roots.append(Vertex(flow: flow.id, node: flow.start)) }
            let nodeIds = flow.nodes.map(\.id)
            for node in flow.nodes {
                // An edge to a missing node is already an error that names the likely node ("did you mean"): the nodes
                // behind that one count as reached, so one typo is reported once, not once more per node after it.
                var targets = node.edges.labelled.map { labelled -> Vertex in
                    let target = labelled.edge.target
                    guard flow.node(target) == nil, let meant = NameSuggestion.closest(to: target, in: nodeIds) else {
                        return Vertex(flow: flow.id, node: target)
                    }
                    return Vertex(flow: flow.id, node: meant)
                }
                switch node.kind {
                case .goto(let reference), .execute(let reference):
                    if let entry = Self.entry(reference, flows: flows) { targets.append(entry) }
                default: break
                }
                allEdges[Vertex(flow: flow.id, node: node.id)] = targets
            }
        }
        var seen = Set(roots)
        var stack = roots
        while let vertex = stack.popLast() {
            for next in allEdges[vertex] ?? [] where seen.insert(next).inserted { stack.append(next) }
        }
        var diagnostics: [Diagnostic] = []
        // A flow whose start is missing already has an error; listing all its nodes as unreachable adds noise.
        for flow in flows.values where flow.node(flow.start) != nil {
            for node in flow.nodes where !seen.contains(Vertex(flow: flow.id, node: node.id)) {
                diagnostics.append(
                    Diagnostic(.warning, .unreachableNode, "node '\(node.id)' is unreachable from the start of flow '\(flow.id)'", at: node.location)
                )
            }
        }
        return diagnostics
    }

    /// One error per loop (strongly connected set of nodes) that can run without waiting for input.
    func loopsWithoutInput() -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for component in stronglyConnectedComponents() {
            let isLoop = component.count > 1 || (steps[component[0]] ?? []).contains(component[0])
            guard isLoop else { continue }
            let members = component.sorted { location(of: $0) < location(of: $1) }
            let path = cycle(through: members[0], within: Set(component))
            let names = path.map { $0.flow == members[0].flow ? $0.node : "\($0.flow):\($0.node)" }
            diagnostics.append(
                Diagnostic(
                    .error,
                    .cycleWithoutInput,
                    "loop \(names.joined(separator: " -> ")) can run without waiting for input; route it through a question, wait or handover node",
                    at: flows[members[0].flow]!.node(members[0].node)!.location
                )
            )
        }
        return diagnostics
    }

    private func location(of vertex: Vertex) -> (String, Int, Int) {
        let location = flows[vertex.flow]?.node(vertex.node)?.location
        return (location?.file ?? "", location?.line ?? 0, location?.column ?? 0)
    }

    /// A shortest path from `start` back to itself inside one component, for a readable message.
    private func cycle(through start: Vertex, within component: Set<Vertex>) -> [Vertex] {
        var previous: [Vertex: Vertex] = [:]
        var queue = [start]
        var head = 0
        while head < queue.count {
            let vertex = queue[head]
            head += 1
            for next in (steps[vertex] ?? []).sorted() where component.contains(next) {
                if next == start {
                    var path = [start]
                    var cursor = vertex
                    while cursor != start {
                        path.insert(cursor, at: 1)
                        cursor = previous[cursor]!
                    }
                    return path + [start]
                }
                if previous[next] == nil {
                    previous[next] = vertex
                    queue.append(next)
                }
            }
        }
        return [start, start]
    }

    /// Tarjan's algorithm, iterative so that long flows cannot overflow the stack.
    private func stronglyConnectedComponents() -> [[Vertex]] {
        var index: [Vertex: Int] = [:]
        var lowLink: [Vertex: Int] = [:]
        var onStack: Set<Vertex> = []
        var stack: [Vertex] = []
        var components: [[Vertex]] = []
        var counter = 0
        for root in steps.keys.sorted() where index[root] == nil {
            var work: [(vertex: Vertex, next: Int)] = [(root, 0)]
            index[root] = counter
            lowLink[root] = counter
            counter += 1
            stack.append(root)
            onStack.insert(root)
            while !work.isEmpty {
                let (vertex, position) = work[work.count - 1]
                let targets = steps[vertex] ?? []
                if position < targets.count {
                    work[work.count - 1].next += 1
                    let target = targets[position]
                    if index[target] == nil {
                        index[target] = counter
                        lowLink[target] = counter
                        counter += 1
                        stack.append(target)
                        onStack.insert(target)
                        work.append((target, 0))
                    } else if onStack.contains(target) {
                        lowLink[vertex] = min(lowLink[vertex]!, index[target]!)
                    }
                    continue
                }
                work.removeLast()
                if let parent = work.last {
                    lowLink[parent.vertex] = min(lowLink[parent.vertex]!, lowLink[vertex]!)
                }
                if lowLink[vertex] == index[vertex] {
                    var component: [Vertex] = []
                    while let member = stack.popLast() {
                        onStack.remove(member)
                        component.append(member)
                        if member == vertex { break }
                    }
                    components.append(component)
                }
            }
        }
        return components
    }
}
