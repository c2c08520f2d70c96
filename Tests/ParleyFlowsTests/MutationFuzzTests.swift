import Foundation
import ParleyFlows
import ParleyScript
import ParleyTestRandom
import Testing

/// Feeds hundreds of randomly mutated flow files to the loader: it must never crash, and must always either
/// load the flow or report errors located inside the file.
@Suite struct MutationFuzzTests {
    static let words = NodeKind.names + ["next", "then", "else", "cases", "default", "onFail", "{{", "}}", "context.x", "flow", "nodes"]

    static func seeds() throws -> [(String, String)] {
        var sources = try FixturePaths.sources(of: "valid.yaml")
        let flows = FixturePaths.repositoryRoot.appendingPathComponent("Flows")
        for file in FlowLoader.flowFiles(in: [flows.path]) {
            sources.append((URL(fileURLWithPath: file).lastPathComponent, try String(contentsOfFile: file, encoding: .utf8)))
        }
        return sources
    }

    @Test func mutatedFilesLoadOrReportLocatedErrors() throws {
        let checker = JavaScriptSyntaxChecker()
        let seeds = try Self.seeds()
        var random = SeededGenerator(seed: 20_261_129)
        var rejected = 0
        for round in 0..<600 {
            let (name, original) = seeds[round % seeds.count]
            let text = TextMutation.mutate(original, words: Self.words, using: &random)
            let file = "mutant-\(round)-\(name)"
            let result = FlowLoader(scriptChecker: checker).load(sources: [(file, text)])
            let lineCount = text.components(separatedBy: "\n").count
            for diagnostic in result.diagnostics {
                #expect(diagnostic.location.file == file)
                #expect((1...(lineCount + 1)).contains(diagnostic.location.line), "\(diagnostic) in:\n\(text)")
                #expect(diagnostic.location.column >= 1, "\(diagnostic)")
                #expect(!diagnostic.message.isEmpty)
            }
            if result.diagnostics.hasErrors {
                rejected += 1
                #expect(result.flowSet == nil)
            } else {
                #expect(result.flowSet != nil && result.flows.count == 1, "no error and no flow for:\n\(text)")
            }
        }
        // The mutations are meant to break files; a run where nearly nothing broke tests nothing.
        #expect(rejected > 200)
    }
}
