import Foundation
import Logging
import ParleyPostgres
import ParleyRuntime
import ParleySQLite
import ParleyStore

/// Opening the configured store for commands that read it.
enum StoreSource {
    /// Loads the configuration; a missing or invalid file is a configuration error (exit 2).
    static func configuration(_ path: String) throws -> Configuration {
        guard FileManager.default.fileExists(atPath: path) else { throw UsageError("no configuration file at \(path) (use --config)") }
        do {
            return try ConfigurationLoader().load(path: path)
        } catch {
            throw UsageError(error.description)
        }
    }

    /// Opens the store the configuration names: the SQLite file, or a connection pool to PostgreSQL (migrated on
    /// first use).
    static func open(_ configuration: Configuration) async throws -> any Store {
        let location = configuration.store
        if location.hasPrefix("sqlite:") {
            let path = String(location.dropFirst("sqlite:".count))
            do {
                return try SQLiteStore(path: path)
            } catch {
                throw UsageError("cannot open the SQLite store at \(path): \(error)")
            }
        }
        let postgres: PostgresLocation
        do {
            postgres = try PostgresLocation(url: location)
        } catch {
            throw UsageError("'store': \((error as? StoreError)?.message ?? "\(error)")")
        }
        do {
            return try await PostgresStore.connect(postgres, logger: Logger(label: "parley.store"))
        } catch {
            throw UsageError((error as? StoreError)?.message ?? "\(error)")
        }
    }
}
