import ArgumentParser
import Foundation
import ParleyEndpoints
import ParleyRuntime
import ParleyServer
import ParleyStore

/// `parley keys create|list|revoke --endpoint NAME`: an endpoint's API keys, stored hashed; `parley keys signing-secret
/// --endpoint NAME` makes a webhook signing secret (DESIGN §5.1), which lives in the configuration, not the store.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list and revoke an endpoint's API keys (X-Webhook-Key).",
        subcommands: [Create.self, List.self, Revoke.self, SigningSecretCommand.self]
    )

    struct Options: ParsableArguments {
        @Option(help: "The endpoint's name.")
        var endpoint: String

        @Option(help: "The configuration file.")
        var config = "parley.yaml"

        /// The store, after checking that the configuration has the endpoint.
        func open() async throws -> any Store {
            try await StoreSource.open(try configuration())
        }

        /// The configuration, after checking that it has the endpoint.
        func configuration() throws -> Configuration {
            let configuration = try StoreSource.configuration(config)
            guard configuration.endpoint(named: endpoint) != nil else {
                throw UsageError(
                    "\(config) has no endpoint '\(endpoint)' (endpoints: \(configuration.endpoints.map(\.name).joined(separator: ", ")))"
                )
            }
            return configuration
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; it is printed once and stored only as a hash.")

        @OptionGroup var options: Options

        @Option(help: "A name to tell keys apart.")
        var name = "key"

        func run() async throws {
            let store = try await options.open()
            let record: APIKeyRecord
            let key: String
            do {
                (record, key) = try await APIKeys.create(endpoint: options.endpoint, name: name, in: store, now: Date())
            } catch let error as APIError where error.code == APIError.duplicateKeyName.code {
                throw UsageError("endpoint '\(options.endpoint)' already has an active key named '\(name)': pick another --name or revoke it")
            }
            emit("id: \(record.id)")
            emit("key: \(key)")
            emit("Store the key now: Parley keeps only its hash and cannot show it again.")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (previews only), newest first.")

        @OptionGroup var options: Options

        func run() async throws {
            let keys = try await options.open().keys(endpoint: options.endpoint)
            for key in keys {
                let state = key.revokedAt.map { "revoked \(Runtime.timestamp($0))" } ?? "active"
                emit("\(key.id)\t\(key.name)\t\(key.keyPreview)\tcreated \(Runtime.timestamp(key.createdAt))\t\(state)")
            }
            if keys.isEmpty { emit("no keys") }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by id.")

        @OptionGroup var options: Options

        @Option(help: "The key's id.")
        var id: String

        func run() async throws {
            guard try await options.open().revokeKey(endpoint: options.endpoint, id: id, at: Date()) else {
                FileHandleOutput.standardError("no active key \(id) on endpoint \(options.endpoint)")
                throw ExitCode(1)
            }
            emit("revoked \(id)")
        }
    }
}

extension KeysCommand {
    struct SigningSecretCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "signing-secret",
            abstract: "Print a new webhook signing secret (whsec_...) for an endpoint.",
            discussion: """
                Put it in the endpoint's webhook.signingSecret, preferably through an environment variable \
                (signingSecret: "${ACME_WEBHOOK_SECRET}"), and give the receiver the same secret. To rotate, list the new \
                and the old secret (signingSecret: ["${NEW}", "${OLD}"]): every delivery carries one signature per secret \
                until the old one is removed. Nothing is stored: Parley keeps the secret only in the configuration.
                """
        )

        @OptionGroup var options: Options

        func run() throws {
            _ = try options.configuration()
            emit(SigningSecret.generate().text)
        }
    }
}
