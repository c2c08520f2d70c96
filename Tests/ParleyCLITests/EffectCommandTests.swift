import Foundation
import Testing

/// The commands that know a deployment's connections: `validate --config`, `test --record --config`, and
/// `parley intents`.
@Suite(.serialized) struct EffectCommandTests {
    @Test func validateWithAConfigurationChecksConnections() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parley-validate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try """
        connections:
          orders: { type: openai, url: "http://127.0.0.1:9/v1" }
        endpoints:
          - { name: lost, type: rest, urlToken: \(String(repeating: "ab", count: 32)), flow: nowhere }
        """.write(to: folder.appendingPathComponent("parley.yaml"), atomically: true, encoding: .utf8)
        let run = try ParleyBinary.run(["validate", "Flows", "--config", folder.appendingPathComponent("parley.yaml").path])
        #expect(run.status == 1)
        #expect(run.stdout.contains("Flows/order-status.yaml:31:19: error: connection 'orders' has type openai, but an http node needs type http"))
        #expect(run.stdout.contains("Flows/assistant.yaml:13:19: error: connection 'assistant' is not declared in the deployment"))
        #expect(run.stdout.contains("endpoint 'lost' names flow 'nowhere', which is not among the flows checked"))
        // The sample deployment declares everything its flows use.
        let sample = try ParleyBinary.run(["validate", "Flows", "--config", "parley.yaml"])
        #expect(sample.status == 0, "\(sample.stdout)")
    }

    @Test func recordWritesTheAnswersOfRealCallsIntoTheTestFile() throws {
        let api = try SampleOrdersAPI.start()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parley-record-\(UUID().uuidString)")
        defer {
            api.stop()
            try? FileManager.default.removeItem(at: folder)
        }
        let config = try api.writeConfiguration(to: folder)
        let flows = folder.appendingPathComponent("tests")
        try FileManager.default.createDirectory(at: flows, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: ParleyBinary.repositoryRoot.appendingPathComponent("Flows/order-status.yaml"),
            to: flows.appendingPathComponent("order-status.yaml")
        )
        let test = flows.appendingPathComponent("order-status.test.yaml")
        try """
        flow: order-status
        tests:
          - name: a known and an unknown order
            turns:
              - user: hi
              - user: AB123456
                bot: ["Order AB123456 is on its way with DHL, expected on 2024-06-14.", "Can I help you with another order?"]
        """.write(to: test, atomically: true, encoding: .utf8)
        let without = try ParleyBinary.run(["test", flows.path])
        #expect(without.status == 1)
        #expect(without.stdout.contains("the turn needs effect 1, http on connection 'orders' from node 'lookup', but the test gives 0"))

        let record = try ParleyBinary.run(["test", flows.path, "--record", "--config", config])
        #expect(record.status == 0, "\(record.stdout)\(record.stderr)")
        #expect(record.stdout.contains("recorded \(test.path)"))
        let text = try String(contentsOf: test, encoding: .utf8)
        #expect(
            text.contains(
                #"- http: {"body": {"carrier": "DHL", "eta": "2024-06-14", "items": 2, "label": "on its way", "orderId": "AB123456", "status": "shipped"}, "status": 200}"#
            )
        )
        // Offline now: the file answers the call.
        api.stop()
        let offline = try ParleyBinary.run(["test", flows.path])
        #expect(offline.status == 0, "\(offline.stdout)")
        #expect(try ParleyBinary.run(["test", flows.path, "--record"]).status == 2)
    }

    /// Issue 26: recording replaced hand-written `{status: 503}` and `{error}` fixtures with live 200 answers, so the
    /// onError tests broke. `--record` now performs only the calls without a fixture; `--record-all` performs every
    /// call but those marked `keep: true`; both say what they did, and exit 1 when a test fails.
    @Test func recordingKeepsHandWrittenFixtures() throws {
        let api = try SampleOrdersAPI.start()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parley-record-keep-\(UUID().uuidString)")
        defer {
            api.stop()
            try? FileManager.default.removeItem(at: folder)
        }
        let config = try api.writeConfiguration(to: folder)
        let flows = folder.appendingPathComponent("tests")
        try FileManager.default.createDirectory(at: flows, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: ParleyBinary.repositoryRoot.appendingPathComponent("Flows/order-status.yaml"),
            to: flows.appendingPathComponent("order-status.yaml")
        )
        let test = flows.appendingPathComponent("order-status.test.yaml")
        func write(_ marker: String) throws {
            try """
            flow: order-status
            tests:
              - name: the order system is down
                turns:
                  - user: hi
                  - user: AB123456
                    effects:
                      - http: { status: 503, body: "maintenance"\(marker) }
                    bot: ["Let me connect you with a colleague who can look into this."]
              - name: a known order, to record
                turns:
                  - user: hi
                  - user: AB123456
                    bot: ["Order AB123456 is on its way with DHL, expected on 2024-06-14.", "Can I help you with another order?"]
            """.write(to: test, atomically: true, encoding: .utf8)
        }
        try write("")
        let record = try ParleyBinary.run(["test", flows.path, "--record", "--config", config])
        #expect(record.status == 0, "\(record.stdout)\(record.stderr)")
        #expect(record.stdout.contains("recorded \(test.path): 1 call performed, 1 fixture kept as written"), "\(record.stdout)")
        var text = try String(contentsOf: test, encoding: .utf8)
        #expect(text.contains(#"- http: { status: 503, body: "maintenance" }"#), "the hand-written fixture stays as written")
        #expect(text.contains(#""label": "on its way""#), "the missing one was recorded")

        // --record-all refreshes it with the live answer: the onError test fails, and the command says so.
        let all = try ParleyBinary.run(["test", flows.path, "--record-all", "--config", config])
        #expect(all.status == 1, "\(all.stdout)")
        #expect(all.stdout.contains("2 calls performed, 0 fixtures kept as written"), "\(all.stdout)")

        // Marked keep: true, --record-all leaves it too.
        try write(", keep: true")
        let kept = try ParleyBinary.run(["test", flows.path, "--record-all", "--config", config])
        #expect(kept.status == 0, "\(kept.stdout)")
        #expect(kept.stdout.contains("1 call performed, 1 fixture kept as written"), "\(kept.stdout)")
        text = try String(contentsOf: test, encoding: .utf8)
        #expect(text.contains("keep: true"))
        api.stop()
        #expect(try ParleyBinary.run(["test", flows.path]).status == 0, "offline, the file answers every call")
    }

    @Test func intentsClassifiesEachLine() throws {
        let run = try ParleyBinary.run(["intents", "faq"], stdin: "where is my parcel?\nwhat is the weather like\nwhen do you open\n\n")
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.split(separator: "\t", omittingEmptySubsequences: false)
        }
        #expect(lines.count == 5)
        #expect(lines[0].count == 3 && lines[0][0] == "where is my parcel?" && lines[0][1] == "order")
        #expect(lines[1][1] == "-")
        #expect(lines[2][1] == "hours")
        #expect(lines[3] == ["", "-", "0"])
        #expect(lines[0].count == 3 && Double(String(lines[0][2])).map { (0.5...1).contains($0) } == true)
        let none = try ParleyBinary.run(["intents", "order-status"], stdin: "hi\n")
        #expect(none.status == 2)
        #expect(none.stderr.contains("flow 'order-status' declares no intents"))
    }
}
