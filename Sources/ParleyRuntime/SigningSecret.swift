import Foundation

/// A Standard Webhooks signing secret: `whsec_` followed by the base64 of a 24 to 64 byte HMAC key (DESIGN §5.1).
///
/// The secret lives in the configuration (usually through `${VAR}`); its description never shows the key, so it
/// can be logged or printed with its endpoint without leaking.
///
/// ```swift
/// let secret = try SigningSecret(parsing: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
/// let fresh = SigningSecret.generate()   // 32 random bytes; fresh.text is what goes into the config
/// ```
public struct SigningSecret: Sendable, Hashable, CustomStringConvertible {
    /// The HMAC-SHA256 key: the base64 decoding of the text after `whsec_`.
    public let key: [UInt8]

    /// The prefix every secret starts with.
    public static let prefix = "whsec_"
    /// The key lengths Parley accepts, in bytes.
    public static let keyLengths = 24...64

    /// Why a text is not a signing secret.
    public struct FormatError: Error, Sendable, Hashable, CustomStringConvertible {
        public let description: String
    }

    /// Parses `whsec_<base64>`; the error says what is wrong without repeating the text.
    public init(parsing text: String) throws {
        guard text.hasPrefix(Self.prefix) else {
            throw FormatError(description: "a signing secret starts with 'whsec_' (make one with: parley keys signing-secret --endpoint NAME)")
        }
        guard let key = Data(base64Encoded: String(text.dropFirst(Self.prefix.count))) else {
            throw FormatError(description: "the text after 'whsec_' must be base64")
        }
        guard Self.keyLengths.contains(key.count) else {
            throw FormatError(description: "a signing secret's key must be 24 to 64 bytes; this one has \(key.count)")
        }
        self.key = Array(key)
    }

    /// A secret with this key (24 to 64 bytes).
    public init?(key: [UInt8]) {
        guard Self.keyLengths.contains(key.count) else { return nil }
        self.key = key
    }

    /// A new secret of 32 bytes from the system's secure random source.
    public static func generate() -> SigningSecret {
        var generator = SystemRandomNumberGenerator()
        let key = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return SigningSecret(uncheckedKey: key)
    }

    private init(uncheckedKey: [UInt8]) {
        self.key = uncheckedKey
    }

    /// The secret as it is written in a configuration: `whsec_` and the base64 of the key.
    public var text: String { Self.prefix + Data(key).base64EncodedString() }

    /// Never the key: `whsec_… (redacted)`.
    public var description: String { "whsec_… (redacted)" }
}
