import Foundation
import ParleyEngine
import ParleyFlows
import ParleyRuntime
import ParleySQLite
import ParleyStore
import ParleyTestSupport
import Testing

@Suite struct ReplayTests {
    let key = SessionKey(endpoint: "web", userId: "u1", sessionId: "s1")

    /// Runs `texts` through a runtime on the sample flows and returns the exported transcript.
    private func record(_ texts: [String], flow: String = "order-status", sensitive: Bool = false) async throws -> (Transcript, any Store, FlowSet) {
        let store = try SQLiteStore.inMemory()
        let (flows, files) = try RuntimeFixtures.sampleFlows()
        let clock = TestClock()
        let runtime = Runtime(
            store: store,
            flows: flows,
            endpoints: [RuntimeFixtures.endpoint(flow: flow, sensitive: sensitive)],
            router: EchoRouter(),
            settings: Runtime.Settings(now: { clock.now }, effects: SampleOrders())
        )
        try await runtime.saveFlowVersion(files: files)
        for text in texts {
            try await runtime.accept(RuntimeFixtures.message(text))
            clock.advance(by: 5)
        }
        await runtime.processPending()
        return (try Transcript(key: key, records: try await store.transcript(key)), store, flows)
    }

    @Test func aRecordedConversationReplaysIdentically() async throws {
        let (transcript, _, flows) = try await record(["hi", "AB123456", "yes", "ZZ000000"])
        let exported = transcript.jsonLines
        let header = try JSONValue.parse(String(exported.split(separator: "\n")[0]))
        #expect(
            header == [
                "parley": "transcript", "version": 1, "endpoint": "web", "flow": "order-status", "userId": "u1", "sessionId": "s1",
                "flowHash": .string(flows.contentHash),
            ]
        )
        let read = try Transcript(jsonLines: exported)
        #expect(read == transcript)
        let result = try await Replay(engine: Engine(flows: flows)).run(read)
        #expect(result == .identical(turns: 4))
        #expect(result.report == "replayed 4 turns, identical")
    }

    @Test func aFlowChangeShowsTheFirstDifference() async throws {
        let (transcript, _, _) = try await record(["hi", "AB123456", "no"])
        let folder = RuntimeFixtures.repositoryRoot.appendingPathComponent("Flows")
        var sources: [(file: String, text: String)] = []
        for file in FlowLoader.flowFiles(in: [folder.path]) {
            var text = try String(contentsOfFile: file, encoding: .utf8)
            if file.hasSuffix("order-status.yaml") { text = text.replacingOccurrences(of: "Thanks{{", with: "Thank you{{") }
            sources.append((file, text))
        }
        let changed = try #require(FlowLoader().load(sources: sources).flowSet)
        let result = try await Replay(engine: Engine(flows: changed)).run(transcript)
        guard case .diverged(let divergence) = result else {
            Issue.record("expected a divergence, got \(result)")
            return
        }
        #expect(divergence.turn == 3)
        #expect(divergence.aspect == "outputs")
        #expect(
            result.report == """
                turn 3 (user "no"): outputs differ
                - {"text":"Thanks. Have a nice day!"}
                + {"text":"Thank you. Have a nice day!"}
                """
        )
    }

    @Test func aChangedBranchShowsUpInTheSessionOrEvents() async throws {
        let (transcript, _, _) = try await record(["hi", "ZZ000000"])
        let folder = RuntimeFixtures.repositoryRoot.appendingPathComponent("Flows")
        let sources = try FlowLoader.flowFiles(in: [folder.path]).map { file -> (file: String, text: String) in
            let text = try String(contentsOfFile: file, encoding: .utf8)
            return (file, file.hasSuffix("order-status.yaml") ? text.replacingOccurrences(of: "queue: orders", with: "queue: vip") : text)
        }
        let changed = try #require(FlowLoader().load(sources: sources).flowSet)
        guard case .diverged(let divergence) = try await Replay(engine: Engine(flows: changed)).run(transcript) else {
            Issue.record("expected a divergence")
            return
        }
        #expect(divergence.turn == 2)
        #expect(divergence.aspect == "events")
        #expect(divergence.recorded.first?.contains(#""queue":"orders""#) == true)
        #expect(divergence.replayed.first?.contains(#""queue":"vip""#) == true)
    }

    @Test func redactedTurnsAreReportedNotSkipped() async throws {
        let (transcript, _, flows) = try await record(["hi", "AB123456"], sensitive: true)
        let result = try await Replay(engine: Engine(flows: flows)).run(transcript)
        #expect(result == .redacted(turn: 1, replayed: 0))
        #expect(result.report.hasPrefix("turn 1 was recorded with sensitive logging disabled"))
    }

    @Test func anOlderTranscriptReplaysAgainstItsStoredVersion() async throws {
        let (transcript, store, flows) = try await record(["hi", "AB123456"])
        let version = try #require(try await store.flowVersion(hash: transcript.flowHash))
        let stored = try #require(version.flowSet)
        #expect(stored.contentHash == flows.contentHash)
        #expect(try await Replay(engine: Engine(flows: stored)).run(transcript) == .identical(turns: 2))
    }

    @Test func badTranscriptsAreExplained() {
        #expect(throws: TranscriptError("line 1: not a Parley transcript (expected a header with \"parley\":\"transcript\")")) {
            try Transcript(jsonLines: "{\"hello\":1}\n")
        }
        #expect(throws: TranscriptError("line 2: not valid JSON")) {
            try Transcript(jsonLines: "{\"parley\":\"transcript\",\"version\":1,\"flow\":\"x\"}\nnot json\n")
        }
    }
}
