import Foundation
import ParleyEngine
import ParleyFlows
import ParleyRuntime
import ParleySQLite
import ParleyStore

// Committed turns per second through the runtime on a SQLite file (WAL, synchronous=FULL), and the size of the
// database per 10,000 sessions. The conversation is the engine benchmark's (two turns, no JavaScript), with one
// outbox message per output, as a webhook endpoint would store them.
//
// usage: parley-runtime-bench FOLDER [SESSIONS=10000]

let arguments = Array(CommandLine.arguments.dropFirst())
guard let folder = arguments.first else {
    FileHandle.standardError.write(Data("usage: parley-runtime-bench FOLDER [SESSIONS]\n".utf8))
    exit(2)
}
let sessions = arguments.count > 1 ? Int(arguments[1]) ?? 10_000 : 10_000

let flowText = """
    flow: bench
    nodes:
      greet: { say: Hello!, next: ask }
      ask: { question: { text: What is your name?, type: text, store: context.name }, next: branch }
      branch: { switch: { value: context.name, cases: { admin: a }, default: b } }
      a: { say: A, next: done }
      b: { say: B, next: done }
      done: { end: {} }
    """

struct Webhook: OutputRouter {
    func deliveries(for outcome: TurnOutcome) -> [Delivery] {
        outcome.turn.outputs.map { output in
            Delivery(
                destination: .webhook,
                body: [
                    "userId": .string(outcome.input.userId), "sessionId": .string(outcome.input.sessionId),
                    "AIOutput": [
                        "text": .string(output.text ?? ""), "data": output.data ?? .emptyObject, "traceId": .string(outcome.input.traceId),
                        "source": "bot",
                    ],
                ]
            )
        }
    }
}

let path = folder + "/bench.sqlite"
try? FileManager.default.removeItem(atPath: folder)
let store = try SQLiteStore(path: path)
guard let flows = FlowLoader().load(sources: [("bench.yaml", flowText)]).flowSet else { fatalError("bench flow does not load") }
let endpoint = Endpoint(name: "bench", kind: .webhook, urlToken: String(repeating: "b", count: 64), flow: "bench")
let runtime = Runtime(store: store, flows: flows, endpoints: [endpoint], router: Webhook())

let clock = ContinuousClock()
var acceptTime = Duration.zero
var processTime = Duration.zero
for round in 0..<2 {
    let acceptStart = clock.now
    for index in 0..<sessions {
        let text = round == 0 ? "hi" : (index % 2 == 0 ? "admin" : "bob\(index)")
        try await runtime.accept(
            InboxRequest(
                endpoint: "bench",
                userId: "user-\(index)",
                sessionId: "session-\(index)",
                payload: InboxPayload(text: text, channel: "webhook")
            )
        )
    }
    acceptTime += clock.now - acceptStart
    let processStart = clock.now
    await runtime.processPending()
    processTime += clock.now - processStart
}
let turns = 2 * sessions
let messages = try await store.messages(status: .pending, limit: 4 * sessions).count
precondition(messages == 3 * sessions, "expected \(3 * sessions) messages, found \(messages)")
try await store.checkpoint()
try store.close()
let size = ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.doubleValue ?? 0
// Accepts from 64 clients at once, as a loaded webhook endpoint sees them: group commit shares fsyncs here.
let concurrentStore = try SQLiteStore(path: folder + "/concurrent.sqlite")
let concurrentRuntime = Runtime(store: concurrentStore, flows: flows, endpoints: [endpoint], router: Webhook())
let clients = 64
let concurrentStart = clock.now
try await withThrowingTaskGroup(of: Void.self) { group in
    for client in 0..<clients {
        group.addTask {
            for index in stride(from: client, to: sessions, by: clients) {
                _ = try await concurrentRuntime.accept(
                    InboxRequest(
                        endpoint: "bench",
                        userId: "user-\(index)",
                        sessionId: "session-\(index)",
                        payload: InboxPayload(text: "hi", channel: "webhook")
                    )
                )
            }
        }
    }
    try await group.waitForAll()
}
let concurrentTime = clock.now - concurrentStart
let concurrentPending = try await concurrentStore.countInputs(status: .pending)
precondition(concurrentPending == sessions, "concurrent accepts lost inputs: \(concurrentPending) of \(sessions)")
try concurrentStore.close()

print("sessions=\(sessions) turns=\(turns) outbox=\(messages)")
print("accepted inputs/s, \(clients) concurrent clients=\(Int(Double(sessions) / seconds(concurrentTime)))")
print("accepted inputs/s=\(Int(Double(turns) / seconds(acceptTime)))")
print("committed turns/s=\(Int(Double(turns) / seconds(processTime)))")
print(String(format: "database MB per 10000 sessions=%.1f", size / 1_048_576 * 10_000 / Double(sessions)))

let probe = try await probeStore(folder: folder, count: 2000)
print(
    String(
        format: "store alone, µs per call: accept=%.0f reads(session+profile)=%.0f commit=%.0f",
        probe.accept * 1e6,
        probe.read * 1e6,
        probe.commit * 1e6
    )
)
