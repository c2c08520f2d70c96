import Foundation
import Testing

@Suite(.serialized) struct ChatCommandTests {
    /// Runs `body` with the sample orders API and a deployment whose `orders` connection is that API.
    func withOrders(_ body: (String) throws -> Void) throws {
        let api = try SampleOrdersAPI.start()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parley-chat-\(UUID().uuidString)")
        defer {
            api.stop()
            try? FileManager.default.removeItem(at: folder)
        }
        try body(try api.writeConfiguration(to: folder))
    }

    @Test func scriptedConversationWithTrace() throws {
        try withOrders { config in
            let output = try ParleyBinary.run(
                ["chat", "order-status", "--trace", "--now", "2025-03-01T10:00:00Z", "--config", config],
                stdin: "hi\nAB123456\n/data {\"x\": 1}\nno\n"
            )
            try ParleyBinary.record(output.stdout, as: "chat-order-status.txt")
            #expect(output.status == 0, "\(output.stderr)")
            #expect(output.stdout == (try ParleyBinary.snapshot("chat-order-status.txt")))
        }
    }

    /// Without `--config` there are no connections: the lookup fails and the flow's onError path hands over.
    @Test func withoutADeploymentEffectsFailAndOnErrorRuns() throws {
        let output = try ParleyBinary.run(["chat", "order-status", "--trace", "--now", "2025-03-01T10:00:00Z"], stdin: "hi\nAB123456\n")
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.contains("  · order-status/lookup http → onError order-status/lookup_failed (connection 'orders' is unknown"))
        #expect(output.stdout.contains("  · effect http orders GET /orders/AB123456 → failed: connection 'orders' is unknown"))
        #expect(output.stdout.contains("bot: Let me connect you with a colleague who can look into this."))
    }

    @Test func handoverCommandResumesTheFlow() throws {
        try withOrders { config in
            try handover(config: config)
        }
    }

    private func handover(config: String) throws {
        let output = try ParleyBinary.run(
            ["chat", "order-status", "--now", "2025-03-01T10:00:00Z", "--config", config],
            stdin: "hi\nZZ000000\nhello?\n/handover completed\nno\n"
        )
        #expect(output.status == 0)
        let lines = output.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("bot: Let me connect you with a colleague who can look into this."))
        #expect(lines.contains { $0.hasPrefix("[handover] ") && $0.contains(#""reason":"order-not-found""#) })
        #expect(lines.contains("bot: Welcome back! I hope my colleague could help."))
        #expect(lines.last == #"[ended] {"flow":"order-status","node":"done"}"#)
    }

    @Test func aFlowFileCanBeNamedDirectly() throws {
        let output = try ParleyBinary.run(["chat", "Flows/opening-hours.yaml", "--now", "2025-01-01T12:00:00Z"], stdin: "open?\n")
        #expect(output.status == 0)
        #expect(output.stdout.hasPrefix("bot: We are open now, until 18:00."))
    }

    @Test func badCommandsAreExplainedAndTheChatGoesOn() throws {
        let output = try ParleyBinary.run(["chat", "faq", "--now", "2025-01-01T12:00:00Z"], stdin: "/data nope\n/handover later\nhi\n")
        #expect(output.stdout.hasPrefix("! usage: /data {\"key\": \"value\"}\n! usage: /handover completed|cancelled|error\nbot: Welcome"))
    }
}

@Suite struct TestCommandTests {
    @Test func sampleConversationTestsPass() throws {
        let output = try ParleyBinary.run(["test"])
        #expect(output.status == 0, "\(output.stdout)")
        let last = output.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.hasSuffix(" passed, 0 failed"))
        #expect(!last.hasPrefix("0 passed"))
    }

    @Test func aFailingTestExitsOneWithExpectedAndActual() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parley-cli-test-\(getpid())")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try "flow: hello\nnodes:\n  greet:\n    say: Hello!\n".write(
            to: folder.appendingPathComponent("hello.yaml"),
            atomically: true,
            encoding: .utf8
        )
        let test = "flow: hello\ntests:\n  - name: greets\n    turns:\n      - user: hi\n        bot: [\"Hi!\"]\n"
        try test.write(to: folder.appendingPathComponent("hello.test.yaml"), atomically: true, encoding: .utf8)
        let output = try ParleyBinary.run(["test", folder.path])
        #expect(output.status == 1)
        #expect(output.stdout.contains("FAIL \(folder.path)/hello.test.yaml: greets"))
        #expect(output.stdout.contains(#"expected: ["Hi!"]"#))
        #expect(output.stdout.contains(#"actual:   ["Hello!"]"#))
        #expect(output.stdout.hasSuffix("0 passed, 1 failed\n"))

        let update = try ParleyBinary.run(["test", folder.path, "--update"])
        #expect(update.status == 0)
        #expect(try String(contentsOf: folder.appendingPathComponent("hello.test.yaml"), encoding: .utf8).contains(#"bot: ["Hello!"]"#))
        #expect(try ParleyBinary.run(["test", folder.path]).status == 0)
    }

    @Test func invalidFlowsFailTheRun() throws {
        let output = try ParleyBinary.run(["test", "Tests/ParleyFlowsTests/Fixtures/cycle.yaml"])
        #expect(output.status == 1)
        #expect(output.stdout.contains("cycle.yaml:6:3: error: loop bump -> check -> bump"))
    }
}
