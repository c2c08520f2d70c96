import Foundation

/// Verifies Standard Webhooks headers with Python's `hmac` module: an implementation of the specification
/// (https://www.standardwebhooks.com) that shares no code with Parley's.
public enum StandardWebhooks {
    /// The indexes of the `secrets` (`whsec_...`) whose `v1` signature is in `signature`.
    public static func verifiedSecrets(id: String, timestamp: String, signature: String, body: [UInt8], secrets: [String]) throws -> [Int] {
        let script = """
            import base64, hashlib, hmac, json, sys
            given = json.load(sys.stdin)
            signed = (given["id"] + "." + given["timestamp"] + ".").encode() + base64.b64decode(given["body"])
            found = [s.split(",", 1)[1] for s in given["signature"].split(" ") if s.startswith("v1,")]
            ok = []
            for index, secret in enumerate(given["secrets"]):
                key = base64.b64decode(secret[len("whsec_"):])
                expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
                if any(hmac.compare_digest(expected, f) for f in found): ok.append(index)
            print(json.dumps(ok))
            """
        let input: [String: Any] = [
            "id": id, "timestamp": timestamp, "signature": signature, "body": Data(body).base64EncodedString(), "secrets": secrets,
        ]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        stdin.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: input))
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (try JSONSerialization.jsonObject(with: output) as? [Int]) ?? []
    }

    /// The secrets whose signature a received delivery carries.
    public static func verifiedSecrets(_ request: WebhookReceiver.Received, secrets: [String]) throws -> [Int] {
        try verifiedSecrets(
            id: request.headers["webhook-id"] ?? "",
            timestamp: request.headers["webhook-timestamp"] ?? "",
            signature: request.headers["webhook-signature"] ?? "",
            body: request.body,
            secrets: secrets
        )
    }
}
