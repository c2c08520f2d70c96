import Foundation
import ParleyEngine
import ParleyFlows
import ParleyTestRandom
import Testing

/// Feeds randomly mutated conversation test files to the parser and runs what parses: the parser must never crash,
/// and must either read the file or report a problem located inside it.
@Suite struct TestFileFuzzTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let words = [
        "flow", "tests", "name", "turns", "user", "bot", "data", "expect", "context", "profile", "handover", "speaker", "copilot",
        "ended", "error", "text", "completed", "- ", "{", "}",
    ]

    @Test func mutatedTestFilesParseOrReportLocatedProblems() throws {
        let flows = try #require(FlowLoader().load(paths: [Self.root.appendingPathComponent("Flows").path]).flowSet)
        let runner = ConversationTestRunner(flows: flows)
        let seeds = try ConversationTestFile.find(in: [Self.root.appendingPathComponent("Flows").path]).map {
            (URL(fileURLWithPath: $0).lastPathComponent, try String(contentsOfFile: $0, encoding: .utf8))
        }
        var random = SeededGenerator(seed: 20_261_201)
        var rejected = 0
        for round in 0..<400 {
            let (name, original) = seeds[round % seeds.count]
            let text = TextMutation.mutate(original, words: Self.words, using: &random)
            let path = "mutant-\(round)-\(name)"
            do {
                let file = try ConversationTestFile.parse(text, path: path)
                // What parses also runs: mutated expectations fail tests, they never stop the runner.
                for result in runner.run(file) { #expect(result.file == path) }
            } catch let error as EngineError {
                rejected += 1
                let message = error.message
                #expect(message.hasPrefix(path + ":"), "\(message)")
                let position = message.dropFirst(path.count + 1).split(separator: ":").prefix(2).compactMap { Int($0) }
                if position.count == 2 {
                    #expect((1...(text.components(separatedBy: "\n").count + 1)).contains(position[0]), "\(message)")
                    #expect(position[1] >= 1, "\(message)")
                }
            }
        }
        #expect(rejected > 50)
    }

    /// Numbers from a test file reach `context`, `profile` and `data` as they are: nothing converts them to `Int`.
    @Test func extremeNumbersInATestFileAreValues() throws {
        let text = """
            flow: order-status
            tests:
              - name: extreme
                context: { attempts: 1e300, orderId: -1e300 }
                profile: { firstName: 9223372036854775808 }
                turns:
                  - data: { n: 1e308, m: 5e-324 }
                    expect: { context: { attempts: 1e300 } }
            """
        let file = try ConversationTestFile.parse(text, path: "extreme.test.yaml")
        #expect(file.tests[0].context["attempts"] == .number(1e300))
        #expect(file.tests[0].turns[0].data?["n"] == .number(1e308))
    }
}
