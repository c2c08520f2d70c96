import ArgumentParser
import Foundation
import ParleyEngine
import ParleyFlows

/// `parley test [PATH...] [--update]`: runs conversation tests (`*.test.yaml`).
///
/// Flows are loaded from the folders the tests live in (a folder argument, or the folder of a test file), and
/// must validate. The last line is `N passed, M failed`; exit 1 when any test fails.
struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run conversation tests (*.test.yaml); ends with 'N passed, M failed'."
    )

    @Argument(help: "Test files or folders (default: Flows).")
    var paths: [String] = []

    @Flag(help: "Rewrite each turn's expected bot outputs from the actual ones.")
    var update = false

    func run() throws {
        let paths = self.paths.isEmpty ? ["Flows"] : self.paths
        for path in paths where !FileManager.default.fileExists(atPath: path) {
            throw UsageError("no such file or folder: \(path)")
        }
        let folders = Array(Set(paths.map { Self.isFolder($0) ? $0 : ($0 as NSString).deletingLastPathComponent })).sorted()
        let loaded = try FlowSource.load(folders.map { $0.isEmpty ? "." : $0 })
        for diagnostic in loaded.diagnostics where diagnostic.severity == .error { emit(diagnostic.description) }
        guard let flowSet = loaded.flowSet else {
            emit("0 passed, 0 failed (the flows do not validate)")
            throw ExitCode(1)
        }
        let runner = ConversationTestRunner(flows: flowSet)
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
            let results: [TestResult]
            if update {
                let outcome = runner.update(file)
                results = outcome.results
                if outcome.text != file.text {
                    try outcome.text.write(toFile: path, atomically: true, encoding: .utf8)
                    emit("updated \(path)")
                }
            } else {
                results = runner.run(file)
            }
            for result in results {
                emit(result.description)
                if result.passed { passed += 1 } else { failed += 1 }
            }
        }
        emit("\(passed) passed, \(failed) failed")
        if failed > 0, !update { throw ExitCode(1) }
    }

    private static func isFolder(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
