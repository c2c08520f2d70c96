import Foundation
import ParleyFlows
import ParleyScript
import Testing

/// Feeds hundreds of randomly mutated flow files to the loader: it must never crash, and must always either
/// load the flow or report errors located inside the file.
@Suite struct MutationFuzzTests {
    /// SplitMix64: a seeded generator, so a failure can be reproduced from its seed.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let alphabet = Array(" :-{}[]\"'#|>\n\t&*!%@`,?.$\\ü😀0aZ")
    static let words = NodeKind.names + ["next", "then", "else", "cases", "default", "onFail", "{{", "}}", "context.x", "flow", "nodes"]

    static func mutate(_ text: String, using random: inout SeededGenerator) -> String {
        var lines = text.components(separatedBy: "\n")
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let index = Int.random(in: 0..<lines.count, using: &random)
            var line = Array(lines[index])
            switch Int.random(in: 0..<8, using: &random) {
            case 0 where !line.isEmpty: line.remove(at: Int.random(in: 0..<line.count, using: &random))
            case 1: line.insert(alphabet.randomElement(using: &random)!, at: Int.random(in: 0...line.count, using: &random))
            case 2: lines.insert(lines[index], at: index)
            case 3 where lines.count > 1:
                lines.remove(at: index)
                continue
            case 4: lines.swapAt(index, Int.random(in: 0..<lines.count, using: &random))
            case 5: line.insert(contentsOf: Array(repeating: " ", count: Int.random(in: 1...3, using: &random)), at: 0)
            case 6 where line.first == " ": line.removeFirst()
            default:
                let word = words.randomElement(using: &random)!
                line.insert(contentsOf: Array(word), at: Int.random(in: 0...line.count, using: &random))
            }
            if index < lines.count { lines[index] = String(line) }
        }
        return lines.joined(separator: "\n")
    }

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
        var random = SeededGenerator(state: 20_261_129)
        var rejected = 0
        for round in 0..<600 {
            let (name, original) = seeds[round % seeds.count]
            let text = Self.mutate(original, using: &random)
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
