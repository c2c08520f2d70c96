import Foundation
import ParleyEngine
import ParleyFlows
import Testing

/// The engine is a pure function: the same inputs give the same turns, byte for byte, and a session that is
/// stored and read back mid-conversation continues exactly as the one that stayed in memory.
@Suite struct DeterminismTests {
    /// A flow that touches every kind of node, scripts with randomness and time, and cross-flow calls.
    static let flows = [
        """
        flow: main
        context: { rounds: 0 }
        nodes:
          greet:
            say: "Hello {{profile.name || 'stranger'}} ({{context.rounds}})"
            next: menu
          menu:
            question: { text: "Pick a, b, c, d or e", type: text, store: context.choice, reprompt: "a to e, please", maxAttempts: 4, onFail: give_up }
            next: route
          route:
            switch:
              value: context.choice.toLowerCase()
              cases: { a: roll, b: ask_number, c: call, d: agent, e: finish }
              default: menu
          roll:
            code: |
              context.rounds += 1;
              const n = Math.floor(Math.random() * 6) + 1;
              api.say('You rolled ' + n + ' at ' + new Date().toISOString(), { n, at: Date.now() });
              api.addToContext('rolls', n, 'array');
              if (n === 6) api.setNextNode('six');
            next: menu
          six:
            say: "A six!"
            next: menu
          ask_number:
            question: { text: "A number?", type: number, store: profile.lucky, reprompt: "Digits please" }
            next: judge
          judge:
            condition: profile.lucky > 10
            then: big
            else: small
          big:
            set: { context.size: big, context.last: "{{profile.lucky}}" }
            next: menu
          small:
            set: { context.size: small, context.last: "{{profile.lucky}}" }
            next: menu
          call:
            execute: helper
            next: menu
          agent:
            handover: { text: "An agent will help.", data: { rounds: "{{context.rounds}}" } }
            next: menu
          give_up:
            say: "Let's start over."
            next: finish
          finish:
            end: {}
        """,
        """
        flow: helper
        nodes:
          tile:
            copilot: { tile: helper, type: transcript, text: "Choice {{context.choice}}", data: { rolls: "{{context.rolls}}" } }
            next: confirm
          confirm:
            question: { text: "Sure?", type: yesNo, store: context.sure }
            next: done
          done:
            say: "Helper done: {{context.sure}}"
        """,
    ]

    /// What a random user does next.
    enum Step: Hashable {
        case text(String)
        case data([String: JSONValue])
        case endHandover(HandoverEnd.Status)
    }

    static let vocabulary = ["a", "b", "c", "d", "e", "A", "x", "", " 42 ", "3,5", "7", "yes", "no", "nope", "hello", "12", "b"]

    static func randomSteps(count: Int, using generator: inout some RandomNumberGenerator) -> [Step] {
        (0..<count).map { _ in
            switch Int.random(in: 0..<10, using: &generator) {
            case 0: .data(["clicked": .number(Double(Int.random(in: 0..<3, using: &generator)))])
            case 1: .endHandover([.completed, .cancelled, .error].randomElement(using: &generator)!)
            default: .text(vocabulary.randomElement(using: &generator)!)
            }
        }
    }

    /// A turn's observable result as canonical text.
    static func fingerprint(_ turn: Turn) -> String {
        JSONValue.object([
            "outputs": .array(turn.outputs.map(\.json)), "events": .array(turn.events.map(\.json)), "trace": .array(turn.trace.map(\.json)),
            "session": .string(turn.session.digest), "profile": .object(turn.profile),
        ]).canonicalJSON
    }

    static func input(_ step: Step, execution: Int, sessionId: String) -> Input {
        var input = Input(
            userId: "u",
            sessionId: sessionId,
            channel: "test",
            execution: execution,
            currentTime: "2025-06-01T08:00:\(execution % 60 < 10 ? "0" : "")\(execution % 60)Z"
        )
        switch step {
        case .text(let text): input.text = text
        case .data(let data):
            input.data = data
            input.mode = "TextData"
        case .endHandover(let status): input.handover = HandoverEnd(status: status)
        }
        return input
    }

    /// Runs the steps from a fresh session; with `storeAt`, the session is encoded and decoded after that turn.
    static func run(_ steps: [Step], engine: Engine, sessionId: String, storeAt: Int? = nil) throws -> [String] {
        var session = try engine.startSession(flow: "main")
        var profile: [String: JSONValue] = [:]
        var prints: [String] = []
        for (index, step) in steps.enumerated() {
            let turn = try engine.run(input(step, execution: index + 1, sessionId: sessionId), session: session, profile: profile)
            prints.append(fingerprint(turn))
            session = turn.session
            profile = turn.profile
            if index == storeAt {
                let data = try JSONEncoder().encode(session)
                session = try JSONDecoder().decode(Session.self, from: data)
                #expect(session == turn.session)
                #expect(session.digest == turn.session.digest)
            }
        }
        return prints
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6])
    func randomConversationsAreReproducible(seed: UInt64) throws {
        let engine = Engine(flows: try loadFlows(Self.flows))
        var generator = SplitMix64(seed: seed)
        let steps = Self.randomSteps(count: 40, using: &generator)
        let first = try Self.run(steps, engine: engine, sessionId: "session-\(seed)")
        let second = try Self.run(steps, engine: engine, sessionId: "session-\(seed)")
        #expect(first == second)
        // A fresh engine over freshly loaded flows gives the same bytes too.
        let third = try Self.run(steps, engine: Engine(flows: try loadFlows(Self.flows)), sessionId: "session-\(seed)")
        #expect(first == third)
        // Storing the session mid-conversation changes nothing.
        let stored = try Self.run(steps, engine: engine, sessionId: "session-\(seed)", storeAt: Int(seed * 5) % steps.count)
        #expect(first == stored)
    }

    @Test func conversationsExerciseTheFlow() throws {
        // Guards the property test against a flow that never gets anywhere.
        let engine = Engine(flows: try loadFlows(Self.flows))
        var generator = SplitMix64(seed: 99)
        var outcomes: Set<String> = []
        for round in 0..<4 {
            var session = try engine.startSession(flow: "main")
            var profile: [String: JSONValue] = [:]
            for (index, step) in Self.randomSteps(count: 60, using: &generator).enumerated() {
                let turn = try engine.run(Self.input(step, execution: index + 1, sessionId: "cover-\(round)"), session: session, profile: profile)
                for entry in turn.trace { outcomes.insert("\(entry.node):\(entry.outcome)") }
                session = turn.session
                profile = turn.profile
            }
        }
        for expected in [
            "roll:next", "menu:valid", "menu:invalid", "judge:then", "judge:else", "call:called", "agent:handedOver", "confirm:valid", "finish:ended",
        ] {
            #expect(outcomes.contains(expected), "\(expected) never happened")
        }
    }

    @Test func sessionJSONIsCanonical() throws {
        let session = Session(
            flowHash: "sha256:abc",
            flow: "main",
            position: .question(NodeAddress(flow: "helper", node: "confirm"), attempts: 2),
            callStack: [NodeAddress(flow: "main", node: "call")],
            context: ["b": [1, 2], "a": ["z": nil, "y": "x"]],
            executionCount: 7
        )
        #expect(
            session.json.canonicalJSON
                == #"{"callStack":[{"flow":"main","node":"call"}],"context":{"a":{"y":"x","z":null},"b":[1,2]},"executionCount":7,"flow":"main","flowHash":"sha256:abc","position":{"attempts":2,"flow":"helper","kind":"question","node":"confirm"}}"#
        )
        #expect(try Session(json: session.json) == session)
        #expect(session.digest.hasPrefix("sha256:") && session.digest.count == 71)
        var other = session
        other.executionCount = 8
        #expect(other.digest != session.digest)
        for event: Event in [
            .handover(HandoverRequest(text: "t", data: ["q": 1], address: NodeAddress(flow: "f", node: "n"))),
            .copilot(TileUpdate(tile: "x", type: "sentiment", fields: ["text": "hi"])), .ended(NodeAddress(flow: "f", node: "e")),
            .error(TurnError(message: "m", address: nil)),
        ] {
            #expect(try Event(json: event.json) == event)
        }
    }
}

/// A small seedable generator, so the random conversations are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
