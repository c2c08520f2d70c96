import Foundation
import ParleyFlows
import ParleyRuntime
import Testing

@Suite struct ConfigurationLoaderTests {
    let token = String(repeating: "ab", count: 32)

    @Test func theSampleDeploymentLoads() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let configuration = try ConfigurationLoader(environment: [:]).load(path: root.appendingPathComponent("parley.yaml").path)
        #expect(configuration.server.port == 8080)
        #expect(configuration.server.adminToken == "")
        #expect(configuration.store == "sqlite:" + root.appendingPathComponent(".parley/parley.sqlite").path)
        #expect(configuration.flows == root.appendingPathComponent("Flows").path)
        #expect(configuration.endpoints.map(\.kind) == [.webhook, .rest, .voiceCopilot, .webhook, .webhook, .webhook])
        #expect(configuration.endpoint(named: "whatsapp")?.transformer?.source.contains("createWebhookTransformer") == true)
        #expect(configuration.connections.map(\.name) == ["orders", "assistant"])
        #expect(configuration.connection(named: "orders")?.url == "http://127.0.0.1:9100/api")
        #expect(configuration.connection(named: "assistant")?.model == "llama3.1")
        #expect(configuration.connection(named: "assistant")?.apiKey == nil)
        #expect(configuration.endpoint(named: "orders")?.webhook?.password == "sample-password")
        let flows = FlowLoader(connections: configuration.connectionKinds).load(paths: [configuration.flows]).flowSet
        for endpoint in configuration.endpoints { #expect(flows?.flow(endpoint.flow) != nil, "\(endpoint.name)") }
    }

    @Test func environmentVariablesAreExpanded() throws {
        let text = """
            server: { adminToken: "${ADMIN}", port: 9090 }
            endpoints:
              - { name: a, type: webhook, urlToken: \(token), flow: f, webhook: { url: "http://127.0.0.1:${PORT}/hook", password: "${PW:-fallback}" } }
            """
        let configuration = try ConfigurationLoader(environment: ["ADMIN": "secret", "PORT": "9001"]).parse(text, file: "p.yaml")
        #expect(configuration.server.adminToken == "secret")
        #expect(configuration.server.baseURL == "http://127.0.0.1:9090")
        #expect(configuration.endpoints[0].webhook?.url == "http://127.0.0.1:9001/hook")
        #expect(configuration.endpoints[0].webhook?.password == "fallback")
    }

    @Test func everyProblemIsReportedWithItsPosition() {
        let text = """
            server:
              port: 70000
              adminToken: "${MISSING}"
            stor: sqlite:x
            endpoints:
              - name: a
                type: webhok
                urlToken: abc
                flow: f
              - name: a
                type: rest
                urlToken: \(token)
                flow: g
                sessionTTLMinutes: -1
              - type: rest
            """
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader(environment: [:]).parse(text, file: "parley.yaml") }
        do {
            _ = try ConfigurationLoader(environment: [:]).parse(text, file: "parley.yaml")
        } catch {
            #expect(
                error.description.components(separatedBy: "\n") == [
                    "parley.yaml:2:9: 'port' must be between 0 (any free port) and 65535",
                    "parley.yaml:3:15: environment variable 'MISSING' is not set (used by 'adminToken')",
                    "parley.yaml:4:1: unknown key 'stor'; did you mean 'store'?",
                    "parley.yaml:7:11: unknown endpoint type 'webhok' (types: webhook, rest, voiceCopilot)",
                    "parley.yaml:8:15: 'urlToken' must be 64 hex characters (for example: openssl rand -hex 32)",
                    "parley.yaml:14:24: 'sessionTTLMinutes' must be between 1 and 525600",
                    "parley.yaml:15:5: an endpoint is missing required field 'flow'",
                    "parley.yaml:15:5: an endpoint is missing required field 'name'",
                    "parley.yaml:15:5: an endpoint is missing required field 'urlToken'",
                ]
            )
        }
    }

    @Test func duplicateNamesAndTokensAreRejected() {
        let text = """
            endpoints:
              - { name: a, type: rest, urlToken: \(token), flow: f }
              - { name: a, type: rest, urlToken: \(token.uppercased()), flow: f }
            """
        do {
            _ = try ConfigurationLoader(environment: [:]).parse(text, file: "p.yaml")
            Issue.record("duplicates were accepted")
        } catch {
            #expect(error.description == "p.yaml:3:13: duplicate endpoint name 'a'\np.yaml:3:38: duplicate urlToken for endpoint 'a'")
        }
    }

    @Test func signingSecretsOneOrAListAndExpiry() throws {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        let text = """
            endpoints:
              - { name: a, type: webhook, urlToken: \(token), flow: f,
                  webhook: { url: "http://127.0.0.1:9/h", signingSecret: "${ONE}", expireSeconds: 60 } }
              - { name: b, type: webhook, urlToken: \(String(repeating: "cd", count: 32)), flow: f,
                  webhook: { url: "http://127.0.0.1:9/h", signingSecret: ["${NEW}", "${OLD:-}"] } }
            """
        let configuration = try ConfigurationLoader(environment: ["ONE": secret, "NEW": secret]).parse(text, file: "p.yaml")
        #expect(configuration.endpoints[0].webhook?.signingSecrets == [try SigningSecret(parsing: secret)])
        #expect(configuration.endpoints[0].webhook?.expireSeconds == 60)
        #expect(configuration.endpoints[1].webhook?.signingSecrets.count == 1, "an empty ${OLD:-} is no secret")
        #expect(configuration.endpoints[1].webhook?.expireSeconds == nil)
        #expect(!"\(configuration.endpoints[0])".contains("MfKQ9r8"), "a printed endpoint does not show its secret")
    }

    @Test func badSigningSecretsAndExpiryAreReportedWithTheirPositionButNotTheirText() {
        let text = """
            endpoints:
              - name: a
                type: webhook
                urlToken: \(token)
                flow: f
                webhook:
                  url: "http://127.0.0.1:9/h"
                  signingSecret: [whsec_c2hvcnQ=, "not-a-secret-value"]
                  expireSeconds: 0
                handover: { url: "http://127.0.0.1:9/a", signingSecret: x }
            """
        do {
            _ = try ConfigurationLoader(environment: [:]).parse(text, file: "p.yaml")
            Issue.record("accepted")
        } catch {
            #expect(
                error.description.components(separatedBy: "\n") == [
                    "p.yaml:8:23: 'webhook.signingSecret': a signing secret's key must be 24 to 64 bytes; this one has 5",
                    "p.yaml:8:39: 'webhook.signingSecret': a signing secret starts with 'whsec_' (make one with: parley keys signing-secret --endpoint NAME)",
                    "p.yaml:9:22: 'webhook.expireSeconds' must be between 1 and 31536000",
                    "p.yaml:10:46: unknown key 'signingSecret'",
                ]
            )
            #expect(!error.description.contains("not-a-secret-value"))
        }
    }

    @Test func aWebhookEndpointNeedsAWebhook() {
        let text = "endpoints:\n  - { name: a, type: webhook, urlToken: \(token), flow: f }\n"
        do {
            _ = try ConfigurationLoader(environment: [:]).parse(text, file: "p.yaml")
            Issue.record("accepted")
        } catch {
            #expect(error.description == "p.yaml:2:5: a webhook endpoint needs 'webhook: { url: ... }' (where its answers are POSTed)")
        }
    }

    @Test func yamlSyntaxErrorsAreLocated() {
        do {
            _ = try ConfigurationLoader(environment: [:]).parse("server:\n  port: [1\n", file: "p.yaml")
            Issue.record("accepted")
        } catch {
            #expect(error.description.hasPrefix("p.yaml:3:1: YAML syntax error:"))
        }
    }
}
