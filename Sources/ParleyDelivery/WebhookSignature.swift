import Crypto
import Foundation
import ParleyFlows
import ParleyRuntime

/// A Standard Webhooks signature (https://www.standardwebhooks.com, DESIGN §5.1): HMAC-SHA256 over
/// `"<webhook-id>.<webhook-timestamp>.<body>"`, keyed with the secret's bytes, sent as `v1,<base64>`; one per secret,
/// space-separated, so a receiver that knows any of them (old or new, during a rotation) verifies.
///
/// ```swift
/// let signature = WebhookSignature(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: Date(timeIntervalSince1970: 1614265330),
///                                  body: Data(#"{"test": 2432232314}"#.utf8))
/// signature.header(secrets: [try SigningSecret(parsing: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")])
/// // "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
/// ```
struct WebhookSignature: Sendable, Hashable {
    /// `webhook-id`: the message's idempotency key, the same on every attempt.
    let id: String
    /// `webhook-timestamp`: Unix seconds of this attempt.
    let seconds: Int64
    /// The exact bytes sent.
    let body: Data

    init(id: String, timestamp: Date, body: Data) {
        self.id = id
        self.seconds = Int64(CheckedNumber.integer(timestamp.timeIntervalSince1970.rounded(.down)) ?? 0)
        self.body = body
    }

    /// The signature of one secret, without the `v1,` prefix.
    func signature(secret: SigningSecret) -> String {
        var content = Data("\(id).\(seconds).".utf8)
        content.append(body)
        let code = HMAC<SHA256>.authenticationCode(for: content, using: SymmetricKey(data: secret.key))
        return Data(code).base64EncodedString()
    }

    /// `webhook-signature`: `v1,<signature>` per secret, space-separated.
    func header(secrets: [SigningSecret]) -> String {
        secrets.map { "v1," + signature(secret: $0) }.joined(separator: " ")
    }
}
