import ArgumentParser
import Foundation
import ParleyEngine
import ParleyFlows
import ParleyRuntime
import ParleyStore

/// `parley sessions list|show|export|erase`: reads sessions and transcripts from the store, and erases a user.
struct SessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions",
        abstract: "List sessions, show one, export its transcript as JSON Lines, or erase a user.",
        subcommands: [List.self, Show.self, Export.self, Erase.self]
    )

    struct StoreOptions: ParsableArguments {
        @Option(help: "The configuration file.")
        var config = "parley.yaml"
    }

    struct SessionOptions: ParsableArguments {
        @Option(help: "The endpoint's name.")
        var endpoint: String

        @Option(help: "The user id.")
        var user: String

        @Option(help: "The session id.")
        var session: String

        var key: SessionKey { SessionKey(endpoint: endpoint, userId: user, sessionId: session) }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List sessions, most recent first.")

        @OptionGroup var store: StoreOptions

        @Option(help: "Only this endpoint's sessions.")
        var endpoint: String?

        @Option(help: "At most this many sessions.")
        var limit = 100

        func run() async throws {
            let store = try await StoreSource.open(StoreSource.configuration(self.store.config))
            let sessions = try await store.sessions(endpoint: endpoint, limit: limit)
            for session in sessions {
                let state = try? JSONValue.parse(session.state)
                let turns = state?["executionCount"]?.integer() ?? 0
                emit(
                    "\(session.key.endpoint)\t\(session.key.userId)\t\(session.key.sessionId)\t\(turns) turns\t"
                        + "\(Runtime.timestamp(session.updatedAt))\t\(session.flowHash)"
                )
            }
            if sessions.isEmpty { emit("no sessions") }
        }
    }

    struct Erase: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Erase a user everywhere: profile, sessions, transcripts, inbox and outbox rows on every endpoint.",
            discussion: "Prints the counts removed as JSON ({profiles, sessions, transcripts, inbox, outbox}), as "
                + "DELETE /api/v1/users/{userId} answers. On SQLite the write-ahead log is checkpointed, so no copy of "
                + "the erased content remains in the files."
        )

        @OptionGroup var store: StoreOptions

        @Option(help: "The user id.")
        var user: String

        func validate() throws {
            guard !user.isEmpty else { throw ValidationError("--user must not be empty") }
        }

        func run() async throws {
            let store = try await StoreSource.open(StoreSource.configuration(self.store.config))
            let counts = try await store.eraseUser(user)
            let json: JSONValue = [
                "profiles": .number(Double(counts.profiles)), "sessions": .number(Double(counts.sessions)),
                "transcripts": .number(Double(counts.transcripts)), "inbox": .number(Double(counts.inbox)),
                "outbox": .number(Double(counts.outbox)),
            ]
            emit(json.canonicalJSON)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a session's state and its turns.")

        @OptionGroup var store: StoreOptions
        @OptionGroup var session: SessionOptions

        func run() async throws {
            let store = try await StoreSource.open(StoreSource.configuration(self.store.config))
            guard let stored = try await store.session(session.key) else { throw SessionsCommand.notFound(session.key) }
            emit("session \(session.key)")
            emit("updated \(Runtime.timestamp(stored.updatedAt))  flows \(stored.flowHash)")
            emit("state \(stored.state)")
            for record in try await store.transcript(session.key) {
                guard let entry = try? TranscriptEntry(json: JSONValue.parse(record.entry)) else { continue }
                let said = entry.input.handover.map { "handover \($0.status.rawValue)" } ?? "user: \(entry.input.text)"
                emit("turn \(entry.turn)  \(entry.input.currentTime)  \(said)\(entry.redacted ? "  (redacted)" : "")")
                for output in entry.outputs { emit("  bot: \(output.text ?? "")") }
                for event in entry.events { emit("  [\(event.json["event"]?.stringValue ?? "event")]") }
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a session's transcript as JSON Lines to standard output.")

        @OptionGroup var store: StoreOptions
        @OptionGroup var session: SessionOptions

        func run() async throws {
            let configuration = try StoreSource.configuration(self.store.config)
            let store = try await StoreSource.open(configuration)
            let records = try await store.transcript(session.key)
            guard !records.isEmpty else { throw SessionsCommand.notFound(session.key) }
            let transcript = try Transcript(key: session.key, records: records)
            FileHandle.standardOutput.write(Data(transcript.jsonLines.utf8))
        }
    }

    static func notFound(_ key: SessionKey) -> any Error {
        FileHandleOutput.standardError("no session \(key)")
        return ExitCode(1)
    }
}
