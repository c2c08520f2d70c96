import ArgumentParser
import Foundation
import ParleyEngine
import ParleyFlows

/// `parley intents FLOW [--flows DIR]`: classifies each line of standard input with the flow's intents (DESIGN §8).
struct IntentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intents",
        abstract: "Classify each line of standard input with a flow's intents: text<TAB>intent<TAB>score ('-' for none).",
        discussion: "The built-in classifier and the flow's threshold (nlu.threshold, 0.5 by default); docs/intents.md explains the scoring."
    )

    @Argument(help: "A flow id in the flows folder, or a flow file.")
    var flow: String

    @Option(help: "The flows folder.")
    var flows: String = "Flows"

    func run() async throws {
        let (result, id) = try FlowSource.resolve(flow, folder: flows)
        for diagnostic in result.diagnostics where diagnostic.severity == .error { FileHandleOutput.standardError(diagnostic.description) }
        guard let flowSet = result.flowSet, let target = flowSet.flow(id) else { throw ExitCode(1) }
        guard let classifier = Engine(flows: flowSet).classifier(of: id) else { throw UsageError("flow '\(id)' declares no intents") }
        if target.nlu?.connection != nil {
            FileHandleOutput.standardError(
                "note: flow '\(id)' classifies with an external NLU connection; these are the built-in classifier's scores"
            )
        }
        let threshold = target.nlu?.threshold ?? NLUSettings.defaultThreshold
        var output = ""
        for await line in StandardInput() {
            let best = line.trimmingCharacters(in: .whitespaces).isEmpty ? nil : classifier.classify(line).first
            let intent = best.flatMap { $0.score >= threshold ? $0.intent : nil } ?? "-"
            output += "\(line)\t\(intent)\t\(JSONValue.format(best?.score ?? 0))\n"
            // Written in blocks: one write per line costs more than classifying it.
            if output.utf8.count > 16_384 {
                FileHandle.standardOutput.write(Data(output.utf8))
                output = ""
            }
        }
        FileHandle.standardOutput.write(Data(output.utf8))
    }
}
