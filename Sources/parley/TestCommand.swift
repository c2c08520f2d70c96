import ArgumentParser
import Foundation
import ParleyEngine
import ParleyFlows
import ParleyRuntime

/// `parley test [PATH...] [--update]`: runs conversation tests (`*.test.yaml`).
///
/// Flows are loaded from the folders the tests live in (a folder argument, or the folder of a test file), and
/// must validate. The last line is `N passed, M failed`; in every mode (`--update` and `--record` too) the exit
/// status is 1 when a test fails or a test file does not load.
struct TestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run conversation tests (*.test.yaml); ends with 'N passed, M failed'.",
        discussion: """
            A turn's calls are answered from its 'effects:'. --record --config F performs the calls that have no \
            fixture yet through the deployment's connections and writes what they answered into the file; the \
            fixtures already written stay. --record-all performs every call, except fixtures marked 'keep: true'. \
            Every mode exits 1 when a test fails or a file does not load.
            """
    )

    @Argument(help: "Test files or folders (default: Flows).")
    var paths: [String] = []

    @Flag(help: "Rewrite each turn's expected bot outputs from the actual ones.")
    var update = false

    @Flag(help: "Perform the effects that have no fixture yet through the connections of --config and write the answers into the files.")
    var record = false

    @Flag(name: .customLong("record-all"), help: "Like --record, but perform every effect: only fixtures marked 'keep: true' stay.")
    var recordAll = false

    @Option(help: "The deployment whose connections --record uses.")
    var config: String?

    func validate() throws {
        if record || recordAll, config == nil {
            throw ValidationError("--record performs effects through a deployment's connections: give --config F")
        }
    }

    func run() async throws {
        let paths = self.paths.isEmpty ? ["Flows"] : self.paths
        for path in paths where !FileManager.default.fileExists(atPath: path) {
            throw UsageError("no such file or folder: \(path)")
        }
        let deployment = try config.map(StoreSource.configuration)
        let folders = Array(Set(paths.map { Self.isFolder($0) ? $0 : ($0 as NSString).deletingLastPathComponent })).sorted()
        let loaded = try FlowSource.load(folders.map { $0.isEmpty ? "." : $0 }, connections: deployment?.connectionKinds)
        for diagnostic in loaded.diagnostics where diagnostic.severity == .error { emit(diagnostic.description) }
        guard let flowSet = loaded.flowSet else {
            emit("0 passed, 0 failed (the flows do not validate)")
            throw ExitCode(1)
        }
        let executor = record || recordAll ? deployment.map { EffectExecutor(connections: $0.connections) } : nil
        do {
            try await run(paths: paths, flowSet: flowSet, deployment: deployment, executor: executor)
        } catch {
            await executor?.shutdown()
            throw error
        }
        await executor?.shutdown()
    }

    private func run(paths: [String], flowSet: FlowSet, deployment: Configuration?, executor: EffectExecutor?) async throws {
        let runner = ConversationTestRunner(flows: flowSet, configuration: EngineConfiguration(connections: deployment?.connectionProfiles ?? [:]))
        var passed = 0
        var failed = 0
        for path in ConversationTestFile.find(in: paths) {
            let file: ConversationTestFile
            do {
                file = try ConversationTestFile.load(path: path)
            } catch {
                emit("FAIL \(error)")
                failed += 1
                continue
            }
            var results: [TestResult]
            if let executor {
                let outcome = await runner.record(file, scope: recordAll ? .all : .missing) { effect, traceId in
                    await executor.perform(effect, traceId: traceId).result
                }
                results = outcome.results
                var text = outcome.text
                // With --update too, the bot outputs follow the recorded answers.
                if update, let recorded = try? ConversationTestFile.parse(text, path: path) { text = runner.update(recorded).text }
                let kept = outcome.counts.kept == 1 ? "1 fixture" : "\(outcome.counts.kept) fixtures"
                let performed = outcome.counts.performed == 1 ? "1 call" : "\(outcome.counts.performed) calls"
                if text != file.text {
                    try text.write(toFile: path, atomically: true, encoding: .utf8)
                    emit("recorded \(path): \(performed) performed, \(kept) kept as written")
                } else {
                    emit("unchanged \(path): \(performed) performed, \(kept) kept as written")
                }
                if update { results = try Self.rerun(text, path: path, with: runner) }
            } else if update {
                let outcome = runner.update(file)
                if outcome.text != file.text {
                    try outcome.text.write(toFile: path, atomically: true, encoding: .utf8)
                    emit("updated \(path)")
                }
                // What still fails once the bot outputs follow the flows: the other expectations.
                results = try Self.rerun(outcome.text, path: path, with: runner)
            } else {
                results = runner.run(file)
            }
            for result in results {
                emit(result.description)
                if result.passed { passed += 1 } else { failed += 1 }
            }
        }
        emit("\(passed) passed, \(failed) failed")
        if failed > 0 { throw ExitCode(1) }
    }

    /// The results of a file's text as written after an update: the expectations an update does not change.
    private static func rerun(_ text: String, path: String, with runner: ConversationTestRunner) throws -> [TestResult] {
        runner.run(try ConversationTestFile.parse(text, path: path))
    }

    private static func isFolder(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
