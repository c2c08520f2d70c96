import Crypto
import Foundation

/// Signed, expiring workspace links (DESIGN §5.5, *Access*): on endpoints with `auth: apiKey`, an agent desktop
/// opens the workspace with `access=<expiry unix seconds>.<base64url HMAC-SHA256 of endpoint|userId|sessionId|expiry>`.
///
/// The key is a secret kept in the store (``secretName``), made on first use, so every instance sharing the store
/// accepts the links any of them (or `parley copilot link`) made. Links cannot be revoked one by one; they expire.
public enum WorkspaceLink {
    /// The store's name of the signing key.
    public static let secretName = "workspace-links"
    /// How long a link lasts unless `--minutes` says otherwise.
    public static let defaultMinutes = 480

    /// A new signing key: 32 random bytes, base64.
    public static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }).base64EncodedString()
    }

    /// The `access` value for a session, valid until `expiry` (Unix seconds).
    public static func access(secret: String, endpoint: String, userId: String, sessionId: String, expiry: Int) -> String {
        "\(expiry)." + base64URL(Data(mac(secret: secret, endpoint: endpoint, userId: userId, sessionId: sessionId, expiry: expiry)))
    }

    /// Whether `access` was made with `secret` for this session and has not expired at `now`. The signature is
    /// compared in constant time.
    public static func accepts(_ access: String, secret: String, endpoint: String, userId: String, sessionId: String, now: Date) -> Bool {
        let parts = access.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count <= 12, let expiry = Int(parts[0]), expiry >= 0,
            Double(expiry) >= now.timeIntervalSince1970, let signature = decodeBase64URL(String(parts[1]))
        else { return false }
        let key = SymmetricKey(data: Data(secret.utf8))
        let message = Data(subject(endpoint: endpoint, userId: userId, sessionId: sessionId, expiry: expiry).utf8)
        return HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: message, using: key)
    }

    /// When an `access` value expires (its first part); nil when it does not parse.
    public static func expiry(of access: String) -> Date? {
        guard let first = access.split(separator: ".", maxSplits: 1).first, first.count <= 12, let seconds = Int(first) else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    /// The workspace page's full URL for a session.
    public static func pageURL(baseURL: String, urlToken: String, userId: String, sessionId: String, access: String?) -> String {
        let base = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        var query = "userId=\(escape(userId))&sessionId=\(escape(sessionId))&URLToken=\(urlToken)"
        if let access { query += "&access=\(access)" }
        return "\(base)/copilot/?\(query)"
    }

    private static func subject(endpoint: String, userId: String, sessionId: String, expiry: Int) -> String {
        "\(endpoint)|\(userId)|\(sessionId)|\(expiry)"
    }

    private static func mac(secret: String, endpoint: String, userId: String, sessionId: String, expiry: Int) -> [UInt8] {
        let key = SymmetricKey(data: Data(secret.utf8))
        let message = Data(subject(endpoint: endpoint, userId: userId, sessionId: sessionId, expiry: expiry).utf8)
        return Array(HMAC<SHA256>.authenticationCode(for: message, using: key))
    }

    private static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    private static func decodeBase64URL(_ text: String) -> Data? {
        guard text.count <= 64 else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }

    private static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
