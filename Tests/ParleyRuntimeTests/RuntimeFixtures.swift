import Foundation
import ParleyEngine
import ParleyFlows
import ParleyRuntime
import ParleyStore
import Synchronization

/// One delivery per output, to `webhook`: enough to see what the runtime stores and in which order.
struct EchoRouter: OutputRouter {
    func deliveries(for outcome: TurnOutcome) -> [Delivery] {
        outcome.turn.outputs.map {
            Delivery(
                destination: .webhook,
                body: ["userId": .string(outcome.input.userId), "sessionId": .string(outcome.input.sessionId), "text": .string($0.text ?? "")]
            )
        }
    }
}

/// A clock tests move by hand.
final class TestClock: Sendable {
    private let value: Mutex<Date>

    init(_ start: Date = Date(timeIntervalSince1970: 1_767_225_600)) {
        value = Mutex(start)
    }

    var now: Date { value.withLock { $0 } }

    func advance(by seconds: TimeInterval) {
        value.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}

enum RuntimeFixtures {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The sample flows of the repository.
    static func sampleFlows() throws -> (flows: FlowSet, files: [String: String]) {
        let folder = repositoryRoot.appendingPathComponent("Flows").path
        let result = FlowLoader().load(paths: [folder])
        guard let flows = result.flowSet else { throw RuntimeFixtureError(description: "\(result.diagnostics)") }
        var files: [String: String] = [:]
        for file in result.files { files[(file as NSString).lastPathComponent] = try String(contentsOfFile: file, encoding: .utf8) }
        return (flows, files)
    }

    static func flows(_ text: String) throws -> (flows: FlowSet, files: [String: String]) {
        let result = FlowLoader().load(sources: [("flow.yaml", text)])
        guard let flows = result.flowSet else { throw RuntimeFixtureError(description: "\(result.diagnostics)") }
        return (flows, ["flow.yaml": text])
    }

    static func endpoint(_ name: String = "web", flow: String, ttl: Int = 30, sensitive: Bool = false) -> Endpoint {
        Endpoint(
            name: name,
            kind: .webhook,
            urlToken: String(repeating: "a", count: 64),
            flow: flow,
            dataProtection: Endpoint.DataProtection(disableSensitiveLogging: sensitive),
            sessionTTLMinutes: ttl
        )
    }

    static func message(_ text: String, user: String = "u1", session: String = "s1", endpoint: String = "web") -> InboxRequest {
        InboxRequest(endpoint: endpoint, userId: user, sessionId: session, payload: InboxPayload(text: text, channel: "webhook"))
    }

    /// Transcript entries of a session, decoded.
    static func transcript(_ store: any Store, _ key: SessionKey) async throws -> [TranscriptEntry] {
        try await store.transcript(key).map { try TranscriptEntry(json: JSONValue.parse($0.entry)) }
    }
}

struct RuntimeFixtureError: Error, CustomStringConvertible {
    var description: String
}
