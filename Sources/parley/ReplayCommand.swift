import ArgumentParser
import Foundation
import ParleyEngine
import ParleyFlows
import ParleyRuntime
import ParleyStore

/// `parley replay FILE|DIR [--flows DIR] [--live --config F] [--recorded-flows]`: re-runs transcripts against flows
/// and shows the first difference (DESIGN §4).
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay transcripts (JSON Lines from 'sessions export') against flows and diff.",
        discussion: """
            A file prints 'replayed N turns, identical' and exits 0, or the first divergence and exits 1. A folder \
            replays every *.jsonl file in it and ends with 'N identical, M diverged' (exit 1 on any divergence). \
            Recorded effects answer the replayed calls, with no network; --live performs them through the \
            connections of --config instead.
            """
    )

    @Argument(help: "A transcript file (JSON Lines), or a folder of them.")
    var path: String

    @Option(help: "The flows folder to replay against.")
    var flows = "Flows"

    @Flag(help: "Replay against the flow version the transcript was recorded on, read from the store.")
    var recordedFlows = false

    @Flag(help: "Perform the effects through the deployment's connections (needs --config) instead of answering them from the recording.")
    var live = false

    @Option(help: "The configuration file (with --live or --recorded-flows; default parley.yaml for --recorded-flows).")
    var config: String?

    func validate() throws {
        if live, config == nil { throw ValidationError("--live performs effects through a deployment's connections: give --config F") }
    }

    func run() async throws {
        let deployment = try config.map(StoreSource.configuration) ?? (recordedFlows ? StoreSource.configuration("parley.yaml") : nil)
        let executor = live ? deployment.map { EffectExecutor(connections: $0.connections) } : nil
        do {
            try await replay(deployment: deployment, executor: executor)
        } catch {
            await executor?.shutdown()
            throw error
        }
        await executor?.shutdown()
    }

    private func replay(deployment: Configuration?, executor: EffectExecutor?) async throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw UsageError("no such file or folder: \(path)") }
        let loaded = recordedFlows ? nil : try loadFlows(deployment)
        if !isFolder.boolValue {
            let result = try await replay(file: path, flows: loaded, deployment: deployment, executor: executor)
            emit(result.report)
            if case .identical = result { return }
            throw ExitCode(1)
        }
        let files = FlowLoader.files(in: [path]) { $0.hasSuffix(".jsonl") || $0.hasSuffix(".ndjson") }
        let terminal = isatty(STDERR_FILENO) != 0
        var identical = 0
        var diverged = 0
        var redacted = 0
        for (index, file) in files.enumerated() {
            if terminal { FileHandle.standardError.write(Data("\r\u{1B}[2K[\(index + 1)/\(files.count)] \(file)".utf8)) }
            let result: Replay.Result
            do {
                result = try await replay(file: file, flows: loaded, deployment: deployment, executor: executor)
            } catch {
                if terminal { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
                emit("\(file): \(error)")
                diverged += 1
                continue
            }
            if terminal { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
            switch result {
            case .identical: identical += 1
            case .redacted:
                redacted += 1
                emit("\(file): \(result.report)")
            case .diverged:
                diverged += 1
                emit("\(file): \(result.report)")
            }
        }
        if redacted > 0 { emit("\(redacted) could not be replayed (recorded with sensitive logging disabled)") }
        emit("\(identical) identical, \(diverged) diverged")
        if diverged > 0 { throw ExitCode(1) }
    }

    /// The flows of `--flows`, validated (against the deployment's connections when one is given).
    private func loadFlows(_ deployment: Configuration?) throws -> FlowSet {
        let loaded = try FlowSource.load([flows], connections: deployment?.connectionKinds)
        for diagnostic in loaded.diagnostics where diagnostic.severity == .error { emit(diagnostic.description) }
        guard let set = loaded.flowSet else { throw ExitCode(1) }
        return set
    }

    private func replay(file: String, flows: FlowSet?, deployment: Configuration?, executor: EffectExecutor?) async throws -> Replay.Result {
        guard let data = FileManager.default.contents(atPath: file) else { throw UsageError("cannot read \(file)") }
        let transcript: Transcript
        do {
            transcript = try Transcript(jsonLines: String(decoding: data, as: UTF8.self))
        } catch {
            throw UsageError("\(file): \(error)")
        }
        let flowSet: FlowSet
        if let flows {
            flowSet = flows
        } else {
            guard let deployment else { throw UsageError("--recorded-flows needs a configuration") }
            let store = try await StoreSource.open(deployment)
            guard let version = try await store.flowVersion(hash: transcript.flowHash) else {
                throw UsageError("the store has no flow version \(transcript.flowHash)")
            }
            guard let set = version.flowSet else { throw UsageError("the stored flow version \(transcript.flowHash) does not load") }
            flowSet = set
        }
        // Offline, the recording says what the model connections were asked for; live, the deployment does.
        let profiles = executor != nil ? deployment?.connectionProfiles ?? [:] : transcript.connectionProfiles
        let engine = Engine(flows: flowSet, configuration: EngineConfiguration(connections: profiles))
        do {
            return try await Replay(engine: engine).run(transcript, effects: executor.map { .live($0) } ?? .recorded)
        } catch {
            emit("cannot replay: \(error)")
            throw ExitCode(1)
        }
    }
}
