import Foundation
import ParleyEngine
import ParleyFlows

// Turns per second through the engine, in process, with the same two-turn conversation as the Bot Framework
// baseline (../shared/bench/bench_bot.py): "hi" -> "Hello!", "What is your name?"; name -> "A" (admin) or "B".
// Every conversation has its own session, kept in a dictionary as a store would keep it.
//
// usage: parley-bench [CONVERSATIONS=2000] [REPS=3]

let plain = """
    flow: bench-plain
    nodes:
      greet: { say: Hello!, next: ask }
      ask: { question: { text: What is your name?, type: text, store: context.name }, next: branch }
      branch: { switch: { value: context.name, cases: { admin: a }, default: b } }
      a: { say: A, next: done }
      b: { say: B, next: done }
      done: { end: {} }
    """

let code = """
    flow: bench-code
    nodes:
      greet: { say: Hello!, next: ask }
      ask: { question: { text: What is your name?, type: text, store: context.name }, next: score }
      score:
        code: |
          context.score = context.name.length * 2;
          context.admin = context.name === "admin";
        next: branch
      branch: { condition: context.admin, then: a, else: b }
      a: { say: A, next: done }
      b: { say: B, next: done }
      done: { end: {} }
    """

// `parley-bench loop FLOW_FILE TURNS REPS`: one session answering TURNS lines ("admin", "bob", ...) through a
// Conversation, exactly as `parley chat` drives the engine, with no I/O: the in-process reference of
// Benchmarks/cli-turns.
if CommandLine.arguments.count > 1, CommandLine.arguments[1] == "loop" {
    let arguments = Array(CommandLine.arguments.dropFirst(2))
    guard arguments.count == 3, let turns = Int(arguments[1]), let reps = Int(arguments[2]),
        let text = try? String(contentsOfFile: arguments[0], encoding: .utf8)
    else { fatalError("usage: parley-bench loop FLOW_FILE TURNS REPS") }
    let result = FlowLoader().load(sources: [(arguments[0], text)])
    guard let flows = result.flowSet, let flow = flows.flows.keys.sorted().first else { fatalError("invalid flow: \(result.diagnostics)") }
    var rates: [Double] = []
    for _ in 0...reps {
        var conversation = try Conversation(engine: Engine(flows: flows), flow: flow, userId: "cli-user", sessionId: "cli-\(flow)")
        let start = ContinuousClock.now
        var outputs = 0
        for index in 0..<turns {
            let turn = try conversation.send(text: index % 2 == 0 ? "admin" : "bob", currentTime: "2026-01-01T00:00:00Z")
            outputs += turn.outputs.count
        }
        let elapsed = ContinuousClock.now - start
        precondition(outputs >= turns, "the loop flow answered \(outputs) times in \(turns) turns")
        rates.append(Double(turns) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
    }
    rates.removeFirst()  // warm-up
    let median = rates.sorted()[rates.count / 2]
    print("mode=loop turns=\(turns) median turns/s=\(Int(median)) us/turn=\(String(format: "%.1f", 1e6 / median))")
    exit(0)
}

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let conversations = arguments.first ?? 2000
let reps = arguments.count > 1 ? arguments[1] : 3

func load(_ text: String, id: String) -> FlowSet {
    let result = FlowLoader().load(sources: [("\(id).yaml", text)])
    guard let flows = result.flowSet else { fatalError("invalid bench flow: \(result.diagnostics)") }
    return flows
}

func run(flow: String, flows: FlowSet, conversations: Int) throws -> Double {
    let engine = Engine(flows: flows)
    var sessions: [String: Session] = [:]
    let start = ContinuousClock.now
    for index in 0..<conversations {
        let name = index % 2 == 0 ? "admin" : "bob\(index)"
        let id = "conv-\(index)"
        for (turnIndex, text) in ["hi", name].enumerated() {
            let session = try sessions[id] ?? engine.startSession(flow: flow)
            let input = Input(
                text: text,
                userId: "user-\(index)",
                sessionId: id,
                channel: "test",
                endpoint: "bench",
                traceId: "\(id)-\(turnIndex)",
                execution: turnIndex + 1,
                currentTime: "2025-01-01T12:00:00.000Z"
            )
            let turn = try engine.run(input, session: session, profile: [:])
            sessions[id] = turn.session
            let texts = turn.outputs.map { $0.text ?? "" }
            let expected = turnIndex == 0 ? ["Hello!", "What is your name?"] : [name == "admin" ? "A" : "B"]
            precondition(texts == expected, "\(flow) conversation \(index) turn \(turnIndex): \(texts)")
        }
    }
    let elapsed = ContinuousClock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return Double(2 * conversations) / seconds
}

for (id, text) in [("bench-plain", plain), ("bench-code", code)] {
    let flows = load(text, id: id)
    _ = try run(flow: id, flows: flows, conversations: 100)  // warm-up
    var rates: [Double] = []
    for rep in 1...reps {
        let rate = try run(flow: id, flows: flows, conversations: conversations)
        rates.append(rate)
        print("flow=\(id) rep=\(rep) conversations=\(conversations) turns=\(2 * conversations) turns/s=\(Int(rate)) us/turn=\(Int(1e6 / rate))")
    }
    let median = rates.sorted()[rates.count / 2]
    print("flow=\(id) median turns/s=\(Int(median)) min=\(Int(rates.min()!)) max=\(Int(rates.max()!))")
}
