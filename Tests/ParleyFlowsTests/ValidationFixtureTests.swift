import Foundation
import ParleyFlows
import ParleyScript
import Testing

/// Every validation rule has a fixture under `Fixtures/` and a golden `.expected` file beside it that lists the
/// exact diagnostics, `file:line:column: severity: message`, one per line.
///
/// To refresh the golden files after an intended message change: `PARLEY_UPDATE_GOLDEN=1 swift test`, then
/// review the diff by hand.
@Suite struct ValidationFixtureTests {
    static let fixtures = [
        "valid.yaml", "yaml-syntax.yaml", "yaml-indent.yaml", "duplicate-node.yaml", "duplicate-flow", "unknown-kind.yaml",
        "unknown-key.yaml", "kinds-count.yaml", "missing-field.yaml", "wrong-type.yaml", "invalid-value.yaml",
        "invalid-regex.yaml", "script-syntax.yaml", "missing-node.yaml", "missing-flow", "unreachable.yaml", "cycle.yaml",
        "execute-loop", "tool-branch.yaml", "duplicate-example.yaml", "connections.yaml", "typo-edge.yaml", "yaml-indent-deeper.yaml", "edge-inside-kind.yaml",
    ]

    /// The deployment the fixtures are checked against, as `serve` and `validate --config` know it.
    static let connections: [String: ConnectionKind] = ["orders": .http, "assistant": .openai, "classify": .nlu]

    static func load(_ fixture: String) throws -> FlowLoadResult {
        FlowLoader(scriptChecker: JavaScriptSyntaxChecker(), connections: connections).load(sources: try FixturePaths.sources(of: fixture))
    }

    @Test(arguments: fixtures)
    func diagnosticsMatchTheGoldenFile(fixture: String) throws {
        let result = try Self.load(fixture)
        let actual = result.diagnostics.map(\.description).joined(separator: "\n") + "\n"
        let golden = FixturePaths.fixtures.appendingPathComponent(fixture.replacingOccurrences(of: ".yaml", with: "") + ".expected")
        if ProcessInfo.processInfo.environment["PARLEY_UPDATE_GOLDEN"] != nil {
            try actual.write(to: golden, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: golden, encoding: .utf8)
        #expect(actual == expected)
    }

    @Test func everyDiagnosticCodeHasAFixture() throws {
        var seen: Set<String> = []
        for fixture in Self.fixtures {
            seen.formUnion(try Self.load(fixture).diagnostics.map(\.code))
        }
        let untested = DiagnosticCode.allCases.map(\.rawValue).filter { !seen.contains($0) && $0 != "unreadable-file" }
        #expect(untested.isEmpty, "codes without a fixture: \(untested)")
    }

    @Test func validFixtureLoadsIntoAFlowSet() throws {
        let result = FlowLoader(scriptChecker: JavaScriptSyntaxChecker()).load(sources: try FixturePaths.sources(of: "valid.yaml"))
        let flows = try #require(result.flowSet)
        let flow = try #require(flows.flow("valid"))
        #expect(flow.start == "greet")
        #expect(flow.nodes.map(\.id) == ["greet", "ask", "lookup", "check", "route", "tell", "remember", "again", "agent", "finish"])
        #expect(flow.context == ["attempts": 0])
        guard case .question(let question) = flow.node("ask")?.kind else {
            Issue.record("ask is not a question")
            return
        }
        #expect(question.type == .regex)
        #expect(question.store == MemoryPath("context.orderId"))
        #expect(question.maxAttempts == 2)
        #expect(flow.node("ask")?.edges.onFail?.target == "agent")
        #expect(
            flow.node("route")?.edges.cases == [
                SwitchCase(literal: "shipped", edge: Edge(target: "tell", location: SourceLocation(file: "valid.yaml", line: 30, column: 25)))
            ]
        )
        #expect(flow.node("tell")?.location == SourceLocation(file: "valid.yaml", line: 32, column: 3))
        #expect(flow.node("ask")?.fieldLocations["question.pattern"] == SourceLocation(file: "valid.yaml", line: 13, column: 16))
        #expect(flow.node("ask")?.fieldLocations["next"] == SourceLocation(file: "valid.yaml", line: 17, column: 11))
    }

    @Test func scalarsFollowTheYAML12CoreSchema() throws {
        let text = "flow: t\ncontext: {a: yes, b: true, c: 2024-01-01, d: ~, e: 3, f: 2.5, g: 'no', h: False}\nnodes: {x: {end: {}}}"
        let flows = try #require(FlowLoader().load(sources: [("t.yaml", text)]).flowSet)
        #expect(flows.flow("t")?.context == ["a": "yes", "b": true, "c": "2024-01-01", "d": nil, "e": 3, "f": 2.5, "g": "no", "h": false])
    }

    @Test func unreadableFilesAreReported() {
        let result = FlowLoader().load(paths: [FixturePaths.fixtures.appendingPathComponent("missing-folder/x.yaml").path])
        #expect(result.files.isEmpty)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("parley-unreadable-\(getpid())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("bad.yaml")
        FileManager.default.createFile(atPath: file.path, contents: Data([0xFF, 0xFE, 0x00, 0x41]))
        let bad = FlowLoader().load(paths: [file.path])
        #expect(bad.diagnostics.map(\.code) == ["unreadable-file"])
        #expect(bad.diagnostics.first?.message == "file is not valid UTF-8 text")
        #expect(bad.diagnostics.first?.location == SourceLocation(file: file.path, line: 1, column: 1))
    }
}

@Suite struct ScalarTypingTests {
    private func context(_ yaml: String) throws -> [String: JSONValue] {
        let result = FlowLoader().load(sources: [("t.yaml", "flow: t\ncontext:\n\(yaml)\nnodes: {x: {end: {}}}")])
        return try #require(result.flowSet?.flow("t")).context
    }

    @Test func numbersFollowTheCoreSchema() throws {
        let values = try context(
            "  a: 42\n  b: -7\n  c: 2.5\n  d: .5\n  e: 1e3\n  f: -1.5E-2\n  g: 0x1F\n  h: 0o17\n  i: +3\n  j: 1.2.3\n  k: 12abc\n  l: '7'\n  m: 3.\n  n: 1_000"
        )
        #expect(values["a"] == 42)
        #expect(values["b"] == -7)
        #expect(values["c"] == 2.5)
        #expect(values["d"] == 0.5)
        #expect(values["e"] == 1000)
        #expect(values["f"] == -0.015)
        #expect(values["g"] == 31)
        #expect(values["h"] == 15)
        #expect(values["i"] == 3)
        #expect(values["j"] == "1.2.3")
        #expect(values["k"] == "12abc")
        #expect(values["l"] == "7")
        #expect(values["m"] == 3)
        #expect(values["n"] == "1_000")
    }

    @Test func nullsBooleansAndQuotedText() throws {
        let values = try context("  a: ~\n  b:\n  c: null\n  d: \"null\"\n  e: TRUE\n  f: on\n  g: |\n    true\n")
        #expect(values["a"] == .null)
        #expect(values["b"] == .null)
        #expect(values["c"] == .null)
        #expect(values["d"] == "null")
        #expect(values["e"] == true)
        #expect(values["f"] == "on")
        #expect(values["g"] == "true\n")
    }
}
