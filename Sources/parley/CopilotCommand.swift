import ArgumentParser
import Foundation
import ParleyEndpoints
import ParleyRuntime
import ParleyStore

/// `parley copilot link --endpoint NAME --user ID --session ID [--minutes N]`: a signed, expiring link to a
/// session's workspace for an agent desktop (DESIGN §5.5, *Access*).
struct CopilotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copilot",
        abstract: "Agent workspace links.",
        subcommands: [Link.self]
    )

    struct Link: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a signed, expiring workspace link for a session (the page's full URL).",
            discussion: """
                The link carries access=<expiry>.<signature>, signed with a key kept in the store, so every instance \
                sharing the store accepts it. Endpoints without auth: apiKey need no access; the link works there too.
                """
        )

        @OptionGroup var options: KeysCommand.Options

        @Option(help: "The session's user id.")
        var user: String

        @Option(help: "The session id.")
        var session: String

        @Option(help: "How long the link is valid, in minutes (1 to 43200).")
        var minutes = WorkspaceLink.defaultMinutes

        func validate() throws {
            guard (1...43_200).contains(minutes) else { throw ValidationError("--minutes must be from 1 to 43200") }
            guard !user.isEmpty, !session.isEmpty else { throw ValidationError("--user and --session must not be empty") }
        }

        func run() async throws {
            let configuration = try options.configuration()
            guard let endpoint = configuration.endpoint(named: options.endpoint) else { return }
            let store = try await StoreSource.open(configuration)
            let secret = try await store.secret(named: WorkspaceLink.secretName, orCreate: { WorkspaceLink.newSecret() }, at: Date())
            let expiry = Int(Date().timeIntervalSince1970) + minutes * 60
            let access = WorkspaceLink.access(secret: secret, endpoint: endpoint.name, userId: user, sessionId: session, expiry: expiry)
            emit(
                WorkspaceLink.pageURL(
                    baseURL: configuration.server.baseURL,
                    urlToken: endpoint.urlToken,
                    userId: user,
                    sessionId: session,
                    access: access
                )
            )
        }
    }
}
