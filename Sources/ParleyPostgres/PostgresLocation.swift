import Foundation
import ParleyStore

/// What a `postgres://` store location says: where the database is, who connects, and how (DESIGN §7).
///
/// `postgres://USER:PASSWORD@HOST:PORT/DATABASE?pool=10&sslmode=prefer&connect_timeout=10&statement_timeout=30000`:
/// - `pool`: the most connections the instance opens (default 10);
/// - `sslmode`: `disable`, `prefer` (the default: TLS when the server offers it, certificate not checked),
///   `require` (TLS or no connection, certificate not checked), `verify-full` (TLS with the certificate checked
///   against the system's roots and the host name), as libpq reads them;
/// - `connect_timeout`: seconds to wait for a connection (default 10);
/// - `statement_timeout`: milliseconds a statement may run before the server cancels it (default 30000);
/// - `schema`: the schema Parley's tables live in (default `public`), created when missing; several deployments
///   (or test runs) can share one database this way.
///
/// User and password are percent-decoded, so a password with `@` or `/` is written `%40`, `%2F`; in `parley.yaml`
/// the password usually comes from `${PGPASSWORD}`.
public struct PostgresLocation: Sendable, Hashable {
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var poolSize: Int
    public var tls: TLSMode
    public var connectTimeoutSeconds: Int
    public var statementTimeoutMs: Int
    public var schema: String?

    /// Reads a `postgres://` or `postgresql://` URL.
    ///
    /// - Throws: ``StoreError/unavailable(_:)`` naming what is wrong (never the password).
    public init(url: String) throws {
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://"), let components = URLComponents(string: url) else {
            throw StoreError.unavailable("the store must be postgres://USER:PASSWORD@HOST:PORT/DATABASE")
        }
        guard let host = components.host, !host.isEmpty else { throw StoreError.unavailable("the PostgreSQL store names no host") }
        guard let user = components.percentEncodedUser?.removingPercentEncoding, !user.isEmpty else {
            throw StoreError.unavailable("the PostgreSQL store names no user")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw StoreError.unavailable("the PostgreSQL store names no database") }
        self.host = host
        self.port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw StoreError.unavailable("the PostgreSQL port must be 1 to 65535") }
        self.username = user
        self.password = components.percentEncodedPassword?.removingPercentEncoding
        self.database = database.removingPercentEncoding ?? database
        self.poolSize = 10
        self.tls = .prefer
        self.connectTimeoutSeconds = 10
        self.statementTimeoutMs = 30_000
        self.schema = nil
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "pool":
                poolSize = try Self.number(value, name: "pool", in: 1...1000)
            case "sslmode":
                guard let mode = TLSMode(rawValue: value) else {
                    throw StoreError.unavailable(
                        "sslmode must be one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", ")), not '\(value)'"
                    )
                }
                tls = mode
            case "connect_timeout":
                connectTimeoutSeconds = try Self.number(value, name: "connect_timeout", in: 1...3600)
            case "statement_timeout":
                statementTimeoutMs = try Self.number(value, name: "statement_timeout", in: 1...86_400_000)
            case "schema":
                guard let first = value.first, first.isLetter || first == "_", value.count <= 63,
                    value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
                else {
                    throw StoreError.unavailable("schema must be a plain identifier (letters, digits, _; at most 63)")
                }
                schema = value.lowercased()
            default:
                throw StoreError.unavailable(
                    "unknown PostgreSQL store option '\(item.name)' (pool, sslmode, connect_timeout, statement_timeout, schema)"
                )
            }
        }
    }

    private static func number(_ text: String, name: String, in range: ClosedRange<Int>) throws -> Int {
        guard let value = Int(text), range.contains(value) else {
            throw StoreError.unavailable("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// The location without its password, for messages and logs.
    public var redacted: String { "postgres://\(username)@\(host):\(port)/\(database)" }
}
