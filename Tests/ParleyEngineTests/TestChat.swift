import Foundation
import ParleyEngine
import ParleyFlows
import ParleyScript
import Testing

/// Loads flows from YAML texts and fails the test with every diagnostic when they do not validate.
func loadFlows(_ texts: [String], sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> FlowSet {
    let result = FlowLoader(scriptChecker: JavaScriptSyntaxChecker()).load(sources: texts.enumerated().map { ("flow\($0.offset).yaml", $0.element) })
    let errors = result.diagnostics.filter { $0.severity == .error }
    #expect(errors.isEmpty, "\(errors)", sourceLocation: sourceLocation)
    return try #require(result.flowSet, sourceLocation: sourceLocation)
}

/// A conversation for tests: fixed times, and shortcuts to the texts of a turn.
struct TestChat {
    var conversation: Conversation
    var turns = 0

    init(
        _ texts: String...,
        flow: String? = nil,
        profile: [String: JSONValue] = [:],
        configuration: EngineConfiguration = EngineConfiguration(),
        sessionId: String = "s1",
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) throws {
        let flows = try loadFlows(texts, sourceLocation: sourceLocation)
        let first = try #require(flow ?? texts.first.flatMap(Self.flowId), sourceLocation: sourceLocation)
        conversation = try Conversation(
            engine: Engine(flows: flows, configuration: configuration),
            flow: first,
            userId: "u1",
            sessionId: sessionId,
            channel: "test",
            profile: profile
        )
    }

    static func flowId(_ text: String) -> String? {
        text.split(separator: "\n").first { $0.hasPrefix("flow:") }.map { String($0.dropFirst(5)).trimmingCharacters(in: .whitespaces) }
    }

    var currentTime: String { "2025-01-01T10:00:\(turns < 10 ? "0" : "")\(turns).000Z" }

    mutating func send(_ text: String = "", data: [String: JSONValue] = [:]) throws -> Turn {
        defer { turns += 1 }
        return try conversation.send(text: text, data: data, currentTime: currentTime)
    }

    /// The output texts of a turn.
    mutating func texts(_ text: String = "", data: [String: JSONValue] = [:]) throws -> [String] {
        try send(text, data: data).outputs.map { $0.text ?? "" }
    }

    mutating func endHandover(_ status: HandoverEnd.Status = .completed) throws -> Turn {
        defer { turns += 1 }
        return try conversation.endHandover(status, currentTime: currentTime)
    }

    var context: [String: JSONValue] { conversation.session.context }
    var profile: [String: JSONValue] { conversation.profile }
}
