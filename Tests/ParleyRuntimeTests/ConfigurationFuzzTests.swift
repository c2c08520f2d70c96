import Foundation
import ParleyFlows
import ParleyRuntime
import ParleyTestRandom
import Testing

/// The configuration loader fed mutated files, and the numbers that used to trap it.
@Suite struct ConfigurationFuzzTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let words = [
        "server", "store", "flows", "engine", "delivery", "endpoints", "port", "maxBodyBytes", "codeTimeoutMs", "maxStepsPerTurn",
        "timeoutMs", "retryWindowSeconds", "sessionTTLMinutes", "webhook", "url", "${X}", "${X:-y}", "- ", "{", "}",
    ]

    @Test func mutatedConfigurationsLoadOrReportLocatedErrors() throws {
        let sample = try String(contentsOf: Self.root.appendingPathComponent("parley.yaml"), encoding: .utf8)
        var random = SeededGenerator(seed: 20_261_202)
        var rejected = 0
        for round in 0..<500 {
            let text = TextMutation.mutate(sample, words: Self.words, using: &random)
            let file = "mutant-\(round).yaml"
            do {
                _ = try ConfigurationLoader(environment: [:]).parse(text, file: file)
            } catch {
                rejected += 1
                let lines = text.components(separatedBy: "\n").count
                #expect(!error.diagnostics.isEmpty)
                for diagnostic in error.diagnostics {
                    #expect(diagnostic.location.file == file)
                    #expect((1...(lines + 1)).contains(diagnostic.location.line), "\(diagnostic) in:\n\(text)")
                    #expect(diagnostic.location.column >= 1)
                }
            }
        }
        #expect(rejected > 100)
    }

    /// Each of these used to trap: `Int(1e300)`, or a bound so large that `minutes * 60` or a timeout overflowed.
    @Test(arguments: [
        ("server: { port: 1e300 }", "port"),
        ("server: { maxBodyBytes: 9223372036854775808 }", "maxBodyBytes"),
        ("server: { maxBodyBytes: -1e300 }", "maxBodyBytes"),
        ("engine: { codeTimeoutMs: 9223372036854775807 }", "codeTimeoutMs"),
        ("engine: { maxStepsPerTurn: .inf }", "maxStepsPerTurn"),
        ("delivery: { timeoutMs: 1e18 }", "timeoutMs"),
        ("delivery: { retryWindowSeconds: 9223372036854775807 }", "retryWindowSeconds"),
        (
            "endpoints: [{ name: a, type: rest, urlToken: \(String(repeating: "ab", count: 32)), flow: f, sessionTTLMinutes: 9223372036854775807 }]",
            "sessionTTLMinutes"
        ),
        (
            "endpoints: [{ name: a, type: rest, urlToken: \(String(repeating: "ab", count: 32)), flow: f, sessionTTLMinutes: .nan }]",
            "sessionTTLMinutes"
        ),
    ])
    func hugeNumbersAreLocatedErrors(text: String, field: String) {
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader(environment: [:]).parse(text, file: "p.yaml") }
        do {
            _ = try ConfigurationLoader(environment: [:]).parse(text, file: "p.yaml")
        } catch {
            #expect(error.description.hasPrefix("p.yaml:1:"), "\(error)")
            #expect(error.description.contains("'\(field)'"), "\(error)")
        }
    }
}
