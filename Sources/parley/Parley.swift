import ArgumentParser
import Foundation

/// The `parley` command line: one entry point for authoring, testing and (later) serving flows.
@main
struct Parley: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parley",
        abstract: "An open flow runtime for conversational AI.",
        subcommands: [
            ServeCommand.self, ValidateCommand.self, ChatCommand.self, TestCommand.self, ReplayCommand.self, SessionsCommand.self,
            KeysCommand.self, OutboxCommand.self, InboxCommand.self, GraphCommand.self, IntentsCommand.self, CopilotCommand.self,
        ]
    )

    /// Runs a command and exits with DESIGN §8's codes: 0 success, 1 a check failed, 2 usage or configuration error.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as UsageError {
            FileHandleOutput.standardError(error.description)
            Foundation.exit(2)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let message = fullMessage(for: error)
            if !message.isEmpty { FileHandleOutput.standardError(message) }
            Foundation.exit(code == .validationFailure || error is UsageError ? 2 : code.rawValue)
        }
    }
}

/// A usage or configuration problem: reported on standard error, exit code 2.
struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Writes to standard output and flushes, so scripted readers see lines as they are produced.
func emit(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

/// Writes lines to standard output in one system call.
func emit(lines: [String]) {
    guard !lines.isEmpty else { return }
    var text = lines.joined(separator: "\n")
    text += "\n"
    FileHandle.standardOutput.write(Data(text.utf8))
}

/// Unbuffered writes for messages that must not mix into standard output.
enum FileHandleOutput {
    static func standardError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
