import Foundation
import ParleyRuntime
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

    /// Opens the store the configuration names.
    static func open(_ configuration: Configuration) throws -> any Store {
        let location = configuration.store
        if location.hasPrefix("sqlite:") {
            let path = String(location.dropFirst("sqlite:".count))
            do {
                return try SQLiteStore(path: path)
            } catch {
                throw UsageError("cannot open the SQLite store at \(path): \(error)")
            }
        }
        throw UsageError("the store '\(location.prefix(while: { $0 != ":" })):...' is not supported by this build (use sqlite:PATH)")
    }
}
