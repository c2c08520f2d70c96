import ArgumentParser
import Foundation
import ParleyRuntime
import ParleyStore

/// `parley inbox list|retry`: shows inputs that could not run and puts dead ones back in the inbox (DESIGN §6,
/// *Poison inputs*).
///
/// Payloads are never printed: they may hold user text.
struct InboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inbox",
        abstract: "Show dead inputs and re-drive them.",
        subcommands: [List.self, Retry.self]
    )

    /// The states `--status` accepts.
    enum StatusOption: String, CaseIterable, ExpressibleByArgument {
        case pending, processed, dead

        var status: InboxEntry.Status {
            switch self {
            case .pending: .pending
            case .processed: .processed
            case .dead: .dead
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List inputs, oldest first: dead ones unless --status says otherwise.",
            discussion: "One line per input: id, status, attempts, endpoint/user/session, kind, trace id, accepted at and "
                + "the last error. Payloads are never shown."
        )

        @Option(help: "The configuration file.")
        var config = "parley.yaml"

        @Option(help: "Only inputs in this state (pending, processed or dead).")
        var status: StatusOption = .dead

        @Option(help: "At most this many inputs.")
        var limit = 100

        func validate() throws {
            guard limit > 0 else { throw ValidationError("--limit must be at least 1") }
        }

        func run() async throws {
            let store = try await StoreSource.open(StoreSource.configuration(config))
            let inputs = try await store.inputs(status: status.status, limit: limit)
            for input in inputs { emit(InboxCommand.line(input)) }
            if inputs.isEmpty { emit("no \(status.rawValue) inputs") }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put dead inputs back in the inbox, with their attempts reset.",
            discussion: "A running server picks them up within its poll interval (1 s, 250 ms on PostgreSQL); a "
                + "revived input runs after the later inputs of its session that already ran."
        )

        @Option(help: "The configuration file.")
        var config = "parley.yaml"

        @OptionGroup var selection: RetrySelection

        func run() async throws {
            let store = try await StoreSource.open(StoreSource.configuration(config))
            let count = try await store.retryDeadInputs(ids: selection.ids, now: Date())
            emit("\(count) dead \(count == 1 ? "input" : "inputs") queued again")
        }
    }

    /// `id  status  attempts  endpoint/user/session  kind  trace-id  accepted  last-error`, tab separated.
    static func line(_ input: InboxEntry) -> String {
        let error = input.lastError.map { $0.replacingOccurrences(of: "\n", with: " ") } ?? "-"
        return [
            input.id.map(String.init) ?? "-", input.status.rawValue, "\(input.attempts) \(input.attempts == 1 ? "attempt" : "attempts")",
            input.key.description, input.kind, input.traceId, "accepted \(Runtime.timestamp(input.acceptedAt))", error,
        ].joined(separator: "\t")
    }
}
