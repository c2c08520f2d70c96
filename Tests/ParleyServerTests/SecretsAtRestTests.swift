import Foundation
import ParleyServer
import ParleyStore
import ParleyTestSupport
import Testing

/// Secrets at rest (issue 12's security checks): API keys live in the store only as SHA-256 hashes; signing secrets
/// live only in the configuration's environment, never in the store.
@Suite(.serialized) struct SecretsAtRestTests {
    private func run(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String) {
        let result = try ServeProcessTests.parley(arguments, environment: environment)
        return (result.status, result.stdout)
    }

    /// Every byte of the SQLite store: the database, its WAL and shared memory.
    private func storeBytes(_ folder: URL) throws -> Data {
        var bytes = Data()
        for suffix in ["", "-wal", "-shm"] {
            let url = folder.appendingPathComponent("parley.sqlite" + suffix)
            if let data = try? Data(contentsOf: url) { bytes.append(data) }
        }
        return bytes
    }

    @Test func anAPIKeyIsStoredOnlyAsItsHashAndMatchesOnlyItself() throws {
        let folder = try TestDeployment.prepare(receiverPort: 9)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("parley.yaml").path
        let created = try run(["keys", "create", "--endpoint", "keyed", "--name", "crm", "--config", config])
        #expect(created.status == 0)
        let key = try #require(created.stdout.split(separator: "\n").first { $0.hasPrefix("key: ") }.map { String($0.dropFirst(5)) })
        #expect(key.hasPrefix("pk_") && key.count == 51)

        let bytes = try storeBytes(folder)
        #expect(!bytes.isEmpty)
        #expect(bytes.range(of: Data(key.utf8)) == nil, "the plain key is nowhere in the store's files")
        #expect(bytes.range(of: Data(APIKeys.hash(key).utf8)) != nil, "its SHA-256 is")
        #expect(try String(contentsOf: URL(fileURLWithPath: config), encoding: .utf8).contains(key) == false)

        let record = APIKeyRecord(id: "k", endpoint: "keyed", name: "n", keyHash: APIKeys.hash(key), keyPreview: "", createdAt: Date())
        let other = APIKeyRecord(id: "o", endpoint: "keyed", name: "o", keyHash: APIKeys.hash("pk_other"), keyPreview: "", createdAt: Date())
        #expect(APIKeys.matches(key, among: [other, record]))
        let nearMiss = String(key.dropLast()) + (key.hasSuffix("0") ? "1" : "0")
        #expect(!APIKeys.matches(nearMiss, among: [other, record]), "one character off is no match")
        var revoked = record
        revoked.revokedAt = Date()
        #expect(!APIKeys.matches(key, among: [other, revoked]))
    }

    @Test func aSigningSecretNeverReachesTheStore() async throws {
        let receiver = try await WebhookReceiver.start()
        let folder = try TestDeployment.prepare(receiverPort: receiver.port)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("parley.yaml")
        let text = try String(contentsOf: config, encoding: .utf8).replacingOccurrences(
            of: "user: parley, password: \(TestDeployment.webhookPassword) }",
            with: "user: parley, password: \(TestDeployment.webhookPassword), signingSecret: \"${SIGNING}\" }"
        )
        try text.write(to: config, atomically: true, encoding: .utf8)
        let secret = try run(["keys", "signing-secret", "--endpoint", "web", "--config", config.path], environment: ["SIGNING": ""]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let server = try await ServeProcessTests.Server.start(folder: folder, environment: ["SIGNING": secret])
        #expect(try await HTTP.post("\(server.base)/\(TestDeployment.webhookToken)", HTTP.message(session: "s", text: "hi")).status == 202)
        #expect(await receiver.waitUntil { $0.contains { $0.headers["webhook-signature"] != nil } })
        #expect(server.terminate() == 0)
        let bytes = try storeBytes(folder)
        #expect(bytes.range(of: Data(secret.utf8)) == nil && bytes.range(of: Data(String(secret.dropFirst(6)).utf8)) == nil)
        await receiver.stop()
    }
}
