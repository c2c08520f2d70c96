import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ParleyEngine
import ParleyFlows
import ParleyRuntime

// The cost of an `http` node's call over a bare AsyncHTTPClient request to the same loopback server, measured in
// alternating rounds in one process: the engine suspending at the node, rendering the request, the effect executor
// resolving the connection, merging and masking headers, sending, parsing the JSON answer and recording it, and
// the engine resuming and storing the answer.
//
// usage: parley-effect-bench BASE_URL [CALLS_PER_ROUND=500] [ROUNDS=5]
//   BASE_URL: a server that answers POST /endpoint/tok {"userId","sessionId","text"} (../shared/bench/hbserver)

let arguments = Array(CommandLine.arguments.dropFirst())
guard let base = arguments.first else {
    FileHandle.standardError.write(Data("usage: parley-effect-bench BASE_URL [CALLS_PER_ROUND] [ROUNDS]\n".utf8))
    exit(2)
}
let calls = arguments.count > 1 ? Int(arguments[1]) ?? 500 : 500
let rounds = arguments.count > 2 ? Int(arguments[2]) ?? 5 : 5

let flow = """
    flow: call
    nodes:
      post:
        http:
          connection: api
          method: POST
          path: /endpoint/tok
          body: { userId: "{{input.userId}}", sessionId: "{{input.sessionId}}", text: "{{input.text}}" }
          store: context.answer
        next: done
      done: { say: "{{context.answer.body.echo}}" }
    """
guard let flows = FlowLoader().load(sources: [("call.yaml", flow)]).flowSet else { fatalError("the benchmark flow does not load") }
let engine = Engine(flows: flows)
let executor = EffectExecutor(connections: [Connection(name: "api", kind: .http, url: base)])
let bare = HTTPClient(
    eventLoopGroupProvider: .singleton,
    configuration: HTTPClient.Configuration(
        redirectConfiguration: .disallow,
        timeout: HTTPClient.Configuration.Timeout(connect: .seconds(10), read: .seconds(10))
    )
)

func bareCall(_ index: Int) async throws {
    var request = HTTPClientRequest(url: base + "/endpoint/tok")
    request.method = .POST
    request.headers.add(name: "Content-Type", value: "application/json")
    request.headers.add(name: "Accept", value: "application/json")
    request.headers.add(name: "Idempotency-Key", value: "bench-\(index)-effect-1")
    request.body = .bytes(ByteBuffer(string: #"{"sessionId":"s\#(index)","text":"hello","userId":"u"}"#))
    let response = try await bare.execute(request, timeout: .seconds(10))
    let body = try await response.body.collect(upTo: 1 << 20)
    // Parsed as the executor parses it, so both sides do the same JSON work.
    guard (try? JSONValue.parse(String(buffer: body))) != nil else { fatalError("the server answered no JSON") }
}

func effectTurn(_ index: Int) async throws {
    let session = try engine.startSession(flow: "call")
    let input = Input(text: "hello", userId: "u", sessionId: "s\(index)", traceId: "bench-\(index)", currentTime: "2025-01-01T00:00:00.000Z")
    var progress = try engine.start(input, session: session, profile: [:])
    while case .waiting(let effect, let pending) = progress {
        progress = pending.resume(with: await executor.perform(effect, traceId: input.traceId).result)
    }
    guard case .finished(let turn) = progress, turn.outputs.first?.text == "hello" else { fatalError("the turn did not answer") }
}

func measure(_ body: (Int) async throws -> Void) async throws -> Double {
    let start = ContinuousClock.now
    for index in 0..<calls { try await body(index) }
    let elapsed = ContinuousClock.now - start
    return (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) / Double(calls) * 1e6
}

// Warm both clients' connections and the code paths.
for index in 0..<100 {
    try await bareCall(index)
    try await effectTurn(index)
}
var bareTimes: [Double] = []
var effectTimes: [Double] = []
for _ in 0..<rounds {
    bareTimes.append(try await measure(bareCall))
    effectTimes.append(try await measure(effectTurn))
}
try await bare.shutdown()
await executor.shutdown()
let ratios = zip(effectTimes, bareTimes).map { $0 / $1 }.sorted()
func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
print("calls per round=\(calls) rounds=\(rounds)")
print("bare AsyncHTTPClient request µs: " + bareTimes.map { String(format: "%.0f", $0) }.joined(separator: " "))
print("http node turn (effect) µs:     " + effectTimes.map { String(format: "%.0f", $0) }.joined(separator: " "))
print(String(format: "median: bare %.0f µs, effect %.0f µs, overhead %.0f µs per call; ratio effect/bare %.2f (min %.2f, max %.2f)",
             median(bareTimes), median(effectTimes), median(effectTimes) - median(bareTimes), median(ratios), ratios.first ?? 0, ratios.last ?? 0))
