import ArgumentParser
import Foundation
import ParleyRuntime
import ParleyStore

/// `parley outbox list|retry|pause|resume`: shows outgoing messages, puts dead letters back in the queue, and pauses
/// or resumes an endpoint's deliveries (DESIGN §6, §8).
///
/// Bodies are never printed: they may hold user text.
struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "Show undelivered messages, re-drive dead letters, pause and resume an endpoint's deliveries.",
        subcommands: [List.self, Retry.self, Pause.self, Resume.self]
    )

    /// The states `--status` accepts.
    enum StatusOption: String, CaseIterable, ExpressibleByArgument {
        case pending, delivered, dead

        var status: OutgoingMessage.Status {
            switch self {
            case .pending: .pending
            case .delivered: .delivered
            case .dead: .dead
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List outgoing messages, oldest first: pending and dead ones unless --status says otherwise.",
            discussion: "One line per message: id, status, attempts, endpoint/user/session, destination, idempotency key, "
                + "next attempt and last error. Bodies are never shown."
        )

        @Option(help: "The configuration file.")
        var config = "parley.yaml"

        @Option(help: "Only messages in this state (pending, delivered or dead).")
        var status: StatusOption?

        @Option(help: "At most this many messages.")
        var limit = 100

        func validate() throws {
            guard limit > 0 else { throw ValidationError("--limit must be at least 1") }
        }

        func run() async throws {
            let store = try await StoreSource.open(StoreSource.configuration(config))
            var messages: [OutgoingMessage]
            if let status {
                messages = try await store.messages(status: status.status, limit: limit)
            } else {
                messages = try await store.messages(status: .pending, limit: limit) + store.messages(status: .dead, limit: limit)
                messages.sort { ($0.id ?? 0) < ($1.id ?? 0) }
                messages = Array(messages.prefix(limit))
            }
            for message in messages { emit(OutboxCommand.line(message)) }
            if messages.isEmpty { emit("no messages") }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put dead letters back in the queue, with their attempts reset.",
            discussion: "A running server picks them up within its poll interval (5 s)."
        )

        @Option(help: "The configuration file.")
        var config = "parley.yaml"

        @OptionGroup var selection: RetrySelection

        func run() async throws {
            let store = try await StoreSource.open(StoreSource.configuration(config))
            let count = try await store.retryDead(ids: selection.ids, now: Date())
            emit("\(count) dead \(count == 1 ? "letter" : "letters") queued for delivery")
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resume a paused endpoint: its kept messages are delivered in order.",
            discussion: "An endpoint is paused when its receiver answers 410 Gone, or by `parley outbox pause`. A running "
                + "server picks the change up within its poll interval (5 s)."
        )

        @OptionGroup var options: KeysCommand.Options

        func run() async throws {
            let store = try await options.open()
            if try await store.resumeEndpoint(options.endpoint, at: Date()) {
                emit("endpoint '\(options.endpoint)' resumed: its kept messages are delivered in order")
            } else {
                emit("endpoint '\(options.endpoint)' was not paused")
            }
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pause an endpoint's deliveries: its messages are kept, in order, until it is resumed."
        )

        @OptionGroup var options: KeysCommand.Options

        func run() async throws {
            let store = try await options.open()
            if try await store.pauseEndpoint(options.endpoint, reason: "admin: paused from the command line", at: Date()) {
                emit("endpoint '\(options.endpoint)' paused: its messages are kept until `parley outbox resume --endpoint \(options.endpoint)`")
            } else {
                emit("endpoint '\(options.endpoint)' was already paused")
            }
        }
    }

    /// `id  status  attempts  endpoint/user/session  destination  idempotency-key  next  last-error`, tab separated.
    static func line(_ message: OutgoingMessage) -> String {
        let next = message.status == .pending ? Runtime.timestamp(message.nextAttemptAt) : "-"
        let error = message.lastError.map { $0.replacingOccurrences(of: "\n", with: " ") } ?? "-"
        return [
            message.id.map(String.init) ?? "-", message.status.rawValue, "\(message.attempts) \(message.attempts == 1 ? "attempt" : "attempts")",
            message.key.description,
            message.destination, message.idempotencyKey, "next \(next)", error,
        ].joined(separator: "\t")
    }
}

/// `--id N ...` or `--all`: which dead letters or dead inputs a `retry` re-drives.
struct RetrySelection: ParsableArguments {
    @Option(name: .customLong("id"), parsing: .upToNextOption, help: "A dead row's id (repeatable).")
    var id: [Int64] = []

    @Flag(help: "Every dead row.")
    var all = false

    /// The ids to retry, or nil for all of them.
    var ids: [Int64]? { all ? nil : id }

    func validate() throws {
        if all && !id.isEmpty { throw ValidationError("give either --all or --id, not both") }
        if !all && id.isEmpty { throw ValidationError("give --all or at least one --id") }
    }
}
