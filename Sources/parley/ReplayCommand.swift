import ArgumentParser
import Foundation
import ParleyEngine
import ParleyFlows
import ParleyRuntime
import ParleyStore

/// `parley replay FILE [--flows DIR]`: re-runs a transcript against flows and shows the first difference.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a transcript (JSON Lines from 'sessions export') against flows and diff.",
        discussion: "Prints 'replayed N turns, identical' and exits 0, or the first divergence and exits 1."
    )

    @Argument(help: "A transcript file (JSON Lines).")
    var file: String

    @Option(help: "The flows folder to replay against.")
    var flows = "Flows"

    @Flag(help: "Replay against the flow version the transcript was recorded on, read from the store.")
    var recordedFlows = false

    @Option(help: "The configuration file (with --recorded-flows).")
    var config = "parley.yaml"

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw UsageError("cannot read \(file)") }
        let transcript: Transcript
        do {
            transcript = try Transcript(jsonLines: String(decoding: data, as: UTF8.self))
        } catch {
            throw UsageError("\(file): \(error)")
        }
        let flowSet: FlowSet
        if recordedFlows {
            let store = try StoreSource.open(StoreSource.configuration(config))
            guard let version = try await store.flowVersion(hash: transcript.flowHash) else {
                throw UsageError("the store has no flow version \(transcript.flowHash)")
            }
            guard let set = version.flowSet else { throw UsageError("the stored flow version \(transcript.flowHash) does not load") }
            flowSet = set
        } else {
            let loaded = try FlowSource.load([flows])
            for diagnostic in loaded.diagnostics where diagnostic.severity == .error { emit(diagnostic.description) }
            guard let set = loaded.flowSet else { throw ExitCode(1) }
            flowSet = set
        }
        let result: Replay.Result
        do {
            result = try Replay(engine: Engine(flows: flowSet)).run(transcript)
        } catch {
            emit("cannot replay: \(error)")
            throw ExitCode(1)
        }
        emit(result.report)
        if case .identical = result { return }
        throw ExitCode(1)
    }
}
