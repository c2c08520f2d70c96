import ParleyFlows

/// Runs conversation tests against a flow set and reports, per test, every turn that did not match.
///
/// Each test starts a fresh session (user `test-user`, session `test-session`, channel `test`); turn N runs at
/// `2025-01-01T12:00:00Z` plus N seconds, so scripts that read the time or draw random numbers are repeatable.
///
/// ```swift
/// let runner = ConversationTestRunner(flows: flowSet)
/// let file = try ConversationTestFile.load(path: "Flows/order-status.test.yaml")
/// let results = runner.run(file)
/// for result in results where !result.passed { print(result) }
/// print("\(results.filter(\.passed).count) passed, \(results.filter { !$0.passed }.count) failed")
/// ```
public struct ConversationTestRunner: Sendable {
    public let engine: Engine

    public init(flows: FlowSet, configuration: EngineConfiguration = EngineConfiguration()) {
        self.engine = Engine(flows: flows, configuration: configuration)
    }

    /// Runs every test of the file.
    public func run(_ file: ConversationTestFile) -> [TestResult] {
        file.tests.map { run($0, in: file) }
    }

    /// Runs the file's tests and returns its text with every `bot` list rewritten from the actual outputs
    /// (`parley test --update`). The results are those of the run, before the update.
    public func update(_ file: ConversationTestFile) -> (results: [TestResult], text: String) {
        let results = run(file)
        return (results, TestFileUpdater(file: file, results: results).updatedText())
    }

    /// Runs one test.
    public func run(_ test: ConversationTest, in file: ConversationTestFile) -> TestResult {
        var result = TestResult(file: file.path, name: test.name, line: test.line)
        var conversation: Conversation
        do {
            conversation = try self.conversation(for: test, in: file)
        } catch {
            result.failures.append(TestFailure(turn: 0, input: "setup", message: "\(error)"))
            return result
        }
        for (index, expected) in test.turns.enumerated() {
            let input = Self.input(of: expected, at: index, in: conversation)
            let fixtures = expected.effects ?? []
            var used = 0
            let turn: Turn
            do {
                turn = try conversation.run(input) { effect in
                    // The file's answers, in order; a call the file does not answer stops the test.
                    guard used < fixtures.count else { throw MissingEffect(effect: effect, given: fixtures.count) }
                    let fixture = fixtures[used]
                    used += 1
                    guard fixture.kind == effect.kind else { throw MissingEffect(effect: effect, given: fixtures.count, mismatch: fixture.kind) }
                    return fixture.result
                }
            } catch let missing as MissingEffect {
                result.failures.append(TestFailure(turn: index + 1, input: expected.summary, message: missing.description))
                return result
            } catch {
                result.failures.append(TestFailure(turn: index + 1, input: expected.summary, message: "the engine refused the turn: \(error)"))
                return result
            }
            result.actualOutputs.append(turn.outputs)
            if used < fixtures.count {
                result.failures.append(
                    TestFailure(
                        turn: index + 1,
                        input: expected.summary,
                        message: "the test gives \(fixtures.count) effects, the turn made \(used) calls; remove the ones it does not make"
                    )
                )
            }
            for message in Self.check(turn, against: expected) {
                result.failures.append(TestFailure(turn: index + 1, input: expected.summary, message: message))
            }
        }
        return result
    }

    /// Which calls `parley test --record` performs.
    public enum RecordScope: Sendable {
        /// Only the calls the file has no fixture for: hand-written fixtures (a `{status: 500}`, an `{error}` for an
        /// `onError` test) stay as they are.
        case missing
        /// Every call, except the fixtures marked `keep: true` (`--record-all`).
        case all
    }

    /// What a recording did: calls performed (their answers written), fixtures kept as they were.
    public struct RecordCounts: Sendable, Hashable {
        public var performed = 0
        public var kept = 0
    }

    /// Runs a file's tests performing the effects `scope` says with `perform` (the deployment's connections), the
    /// others answered by their fixtures, and returns the file's text with each turn's `effects:` written from the
    /// answers (`parley test --record`). The results are those of the run, checked against the file's other
    /// expectations.
    public func record(
        _ file: ConversationTestFile,
        scope: RecordScope = .missing,
        perform: (Effect, _ traceId: String) async -> EffectResult
    ) async -> (results: [TestResult], text: String, counts: RecordCounts) {
        var results: [TestResult] = []
        var recorded: [[[EffectFixture]]] = []
        var counts = RecordCounts()
        for test in file.tests {
            var result = TestResult(file: file.path, name: test.name, line: test.line)
            var fixtures: [[EffectFixture]] = []
            do {
                var conversation = try self.conversation(for: test, in: file)
                for (index, expected) in test.turns.enumerated() {
                    let input = conversation.prepared(Self.input(of: expected, at: index, in: conversation))
                    var progress = try conversation.start(input)
                    var answers: [EffectFixture] = []
                    let given = expected.effects ?? []
                    while case .waiting(let effect, let pending) = progress {
                        let index = answers.count
                        if index < given.count, given[index].kind == effect.kind, scope == .missing || given[index].keep {
                            answers.append(given[index])
                            counts.kept += 1
                            progress = pending.resume(with: given[index].result)
                            continue
                        }
                        let answer = await perform(effect, input.traceId)
                        answers.append(EffectFixture(recording: answer, of: effect.kind))
                        counts.performed += 1
                        progress = pending.resume(with: answer)
                    }
                    guard case .finished(let turn) = progress else { break }
                    conversation.record(turn)
                    fixtures.append(answers)
                    result.actualOutputs.append(turn.outputs)
                    for message in Self.check(turn, against: expected) {
                        result.failures.append(TestFailure(turn: index + 1, input: expected.summary, message: message))
                    }
                }
            } catch {
                result.failures.append(TestFailure(turn: fixtures.count + 1, input: "record", message: "the engine refused the turn: \(error)"))
            }
            results.append(result)
            recorded.append(fixtures)
        }
        return (results, TestFileUpdater(file: file, results: results).recordedText(recorded), counts)
    }

    /// A test's fresh session: user `test-user`, session `test-session`, channel `test`.
    private func conversation(for test: ConversationTest, in file: ConversationTestFile) throws -> Conversation {
        try Conversation(
            engine: engine,
            flow: file.flow,
            userId: "test-user",
            sessionId: "test-session",
            channel: "test",
            profile: test.profile,
            context: test.context
        )
    }

    /// The input of a test turn, at the turn's time.
    private static func input(of turn: TestTurn, at index: Int, in conversation: Conversation) -> Input {
        conversation.input(
            text: turn.user ?? "",
            data: turn.data ?? [:],
            speaker: turn.speaker,
            handover: turn.handoverEnd,
            currentTime: time(ofTurn: index)
        )
    }

    /// `2025-01-01T12:00:00.000Z` plus `index` seconds.
    static func time(ofTurn index: Int) -> String {
        let minutes = index / 60
        let seconds = index % 60
        func two(_ number: Int) -> String { number < 10 ? "0\(number)" : "\(number)" }
        return "2025-01-01T\(two(12 + minutes / 60)):\(two(minutes % 60)):\(two(seconds)).000Z"
    }

    /// Every way the turn differs from its expectations, as messages.
    static func check(_ turn: Turn, against expected: TestTurn) -> [String] {
        var problems: [String] = []
        if let bot = expected.bot {
            let matches = bot.count == turn.outputs.count && zip(bot, turn.outputs).allSatisfy { $0.matches($1) }
            if !matches {
                problems.append(
                    "bot\n    expected: \(TestFileUpdater.flowList(bot.map(\.yaml)))\n    actual:   \(TestFileUpdater.flowList(turn.outputs.map { ExpectedOutput($0).yaml }))"
                )
            }
        }
        let expect = expected.expect
        if let context = expect.context, let difference = JSONValue.object(turn.session.context).subsetDifference(context, path: "context") {
            problems.append(difference)
        }
        if let profile = expect.profile, let difference = JSONValue.object(turn.profile).subsetDifference(profile, path: "profile") {
            problems.append(difference)
        }
        let handedOver = turn.events.contains { if case .handover = $0 { true } else { false } }
        if let handover = expect.handover, handover != handedOver {
            problems.append(handover ? "expected a handover, there was none" : "expected no handover, the turn handed over")
        }
        let ended = turn.events.contains { if case .ended = $0 { true } else { false } }
        if let expectEnded = expect.ended, expectEnded != ended {
            problems.append(expectEnded ? "expected the conversation to end, it did not" : "expected the conversation not to end, it ended")
        }
        let errors = turn.events.compactMap { if case .error(let error) = $0 { error.message } else { nil } }
        switch expect.error {
        case true? where errors.isEmpty: problems.append("expected an error, there was none")
        case false? where !errors.isEmpty, nil where !errors.isEmpty: problems.append("the turn failed: \(errors.joined(separator: "; "))")
        default: break
        }
        if let intent = expect.intent {
            let actual = turn.classification?.intent.map(JSONValue.string) ?? .null
            if actual != intent {
                let scores = turn.classification.map { c in c.intents.map { "\($0.intent) \($0.score)" }.joined(separator: ", ") } ?? "not classified"
                problems.append("intent\n    expected: \(intent.canonicalJSON)\n    actual:   \(actual.canonicalJSON) (\(scores))")
            }
        }
        if let copilot = expect.copilot {
            let updates = turn.events.compactMap { if case .copilot(let update) = $0 { update } else { nil } }
            if let difference = copilotDifference(copilot, updates) { problems.append(difference) }
        }
        return problems
    }

    private static func copilotDifference(_ expected: JSONValue, _ updates: [TileUpdate]) -> String? {
        let actual = JSONValue.array(updates.map(\.json)).canonicalJSON
        switch expected {
        case .array(let items):
            var remaining = updates[...]
            for item in items {
                guard let found = remaining.firstIndex(where: { $0.json.subsetDifference(item, path: "tile") == nil }) else {
                    return "copilot: no tile update matches \(item.canonicalJSON) (in order)\n    actual: \(actual)"
                }
                remaining = remaining[(found + 1)...]
            }
            return nil
        case .object(let tiles):
            for tile in tiles.keys.sorted() {
                guard let last = updates.last(where: { $0.tile == tile }) else {
                    return "copilot: tile '\(tile)' was not updated\n    actual: \(actual)"
                }
                if let difference = last.json.subsetDifference(tiles[tile]!, path: "copilot.\(tile)") { return difference }
            }
            return nil
        default:
            return "copilot: expected a list of tile updates or a mapping from tile id to update"
        }
    }
}

/// The outcome of one conversation test.
public struct TestResult: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var name: String
    /// The line of the test in its file.
    public var line: Int
    public var failures: [TestFailure] = []
    /// The outputs of every turn that ran, in order.
    public var actualOutputs: [[Output]] = []

    public init(file: String, name: String, line: Int) {
        self.file = file
        self.name = name
        self.line = line
    }

    public var passed: Bool { failures.isEmpty }

    /// `PASS file: name`, or `FAIL file: name` followed by each failure.
    public var description: String {
        let head = "\(passed ? "PASS" : "FAIL") \(file): \(name)"
        return ([head] + failures.map { "  " + $0.description.replacingNewlines(with: "\n  ") }).joined(separator: "\n")
    }
}

/// One mismatch: which turn, what was sent, what differed.
public struct TestFailure: Sendable, Hashable, CustomStringConvertible {
    /// The 1-based turn; 0 when the test could not start.
    public var turn: Int
    /// What the turn sent (`user "hi"`).
    public var input: String
    /// What differed, with the expected and the actual values.
    public var message: String

    public init(turn: Int, input: String, message: String) {
        self.turn = turn
        self.input = input
        self.message = message
    }

    public var description: String { turn == 0 ? message : "turn \(turn) (\(input)): \(message)" }
}

extension String {
    fileprivate func replacingNewlines(with replacement: String) -> String {
        split(separator: "\n", omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

extension JSONValue {
    /// `nil` when `expected` is a subset of `self`: objects need every expected key (an expected `null` also
    /// matches a missing key), arrays need the same length with each item a subset, other values equality.
    /// Otherwise a message naming the first path that differs.
    func subsetDifference(_ expected: JSONValue, path: String) -> String? {
        switch (expected, self) {
        case (.object(let want), .object(let have)):
            for key in want.keys.sorted() {
                let wanted = want[key]!
                guard let value = have[key] else {
                    if wanted == .null { continue }
                    return "\(path).\(key): expected \(wanted.canonicalJSON), actual: missing"
                }
                if let difference = value.subsetDifference(wanted, path: "\(path).\(key)") { return difference }
            }
            return nil
        case (.array(let want), .array(let have)) where want.count == have.count:
            for (index, pair) in zip(want, have).enumerated() {
                if let difference = pair.1.subsetDifference(pair.0, path: "\(path)[\(index)]") { return difference }
            }
            return nil
        default:
            return expected == self ? nil : "\(path): expected \(expected.canonicalJSON), actual \(canonicalJSON)"
        }
    }
}

/// A turn asked for an effect its test does not answer (or answers with another kind).
struct MissingEffect: Error, CustomStringConvertible {
    var effect: Effect
    var given: Int
    var mismatch: Effect.Kind?

    var description: String {
        let call = "\(effect.kind.rawValue) on connection '\(effect.connection)'\(effect.node.map { " from node '\($0)'" } ?? "")"
        if let mismatch {
            return "effect \(effect.index) of the turn is \(call), but the test gives a \(mismatch.rawValue) answer there"
        }
        return "the turn needs effect \(effect.index), \(call), but the test gives \(given); add its answer under 'effects:' "
            + "(for example '- \(effect.kind.rawValue): \(Self.example(effect.kind))'), or record it with parley test --record --config F"
    }

    static func example(_ kind: Effect.Kind) -> String {
        switch kind {
        case .http: "{ status: 200, body: { ... } }"
        case .llm: "{ content: \"...\" }"
        case .nlu: "{ intent: ..., score: 0.9 }"
        }
    }
}
