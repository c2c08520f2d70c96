import ParleyEngine
import ParleyFlows
import Testing

/// Sessions come back from the store as JSON; whatever numbers they hold, reading them never traps.
@Suite struct StoredValueTests {
    static let base: [String: JSONValue] = ["flowHash": "sha256:x", "flow": "f", "context": [:], "executionCount": 3]

    @Test(arguments: [1e300, -1, 2.5, 9_223_372_036_854_775_808.0, -1e300])
    func aSessionWithAnImpossibleCountIsAnInvalidSession(count: Double) {
        var json = Self.base
        json["executionCount"] = .number(count)
        #expect(throws: EngineError.self) { try Session(json: .object(json)) }
    }

    @Test(arguments: [1e300, -3, 0.5])
    func aQuestionWithImpossibleAttemptsIsAnInvalidSession(attempts: Double) {
        var json = Self.base
        json["position"] = ["kind": "question", "flow": "f", "node": "n", "attempts": .number(attempts)]
        #expect(throws: EngineError.self) { try Session(json: .object(json)) }
    }

    @Test func aValidSessionReadsBack() throws {
        var json = Self.base
        json["position"] = ["kind": "question", "flow": "f", "node": "n", "attempts": 2]
        let session = try Session(json: .object(json))
        #expect(session.executionCount == 3)
        #expect(session.position == .question(NodeAddress(flow: "f", node: "n"), attempts: 2))
    }
}
