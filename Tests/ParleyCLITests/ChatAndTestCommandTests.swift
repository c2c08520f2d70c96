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

    /// Issue 26: `--now garbage` was accepted and `new Date()` became 1970. A time that does not parse is a usage
    /// error, exit 2.
    @Test func aNowThatIsNotATimeIsAUsageError() throws {
        for bad in ["garbage", "2025-13-01T00:00:00Z", "tomorrow"] {
            let output = try ParleyBinary.run(["chat", "faq", "--now", bad], stdin: "hi\n")
            #expect(output.status == 2, "\(bad): \(output.stdout)")
            #expect(output.stderr.contains("--now must be an ISO 8601 time"), "\(output.stderr)")
        }
        #expect(try ParleyBinary.run(["chat", "faq", "--now", "2025-01-01T12:00:00.250Z"], stdin: "hi\n").status == 0)
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

    /// Issue 26: `--update` exited 0 even when a test file did not parse or an expectation it cannot rewrite
    /// failed, so a CI that ran it went green on broken flows. Every mode exits 1 then.
    @Test func everyModeExitsOneWhenATestFailsOrAFileDoesNotLoad() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parley-cli-exit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "flow: hello\ncontext: { mood: fine }\nnodes:\n  greet:\n    say: Hello!\n".write(
            to: folder.appendingPathComponent("hello.yaml"),
            atomically: true,
            encoding: .utf8
        )
        let failing = "flow: hello\ntests:\n  - name: greets\n    turns:\n      - user: hi\n        bot: [\"Hi!\"]\n        expect: { context: { mood: grumpy } }\n"
        try failing.write(to: folder.appendingPathComponent("hello.test.yaml"), atomically: true, encoding: .utf8)
        let update = try ParleyBinary.run(["test", folder.path, "--update"])
        #expect(update.status == 1, "an expectation --update does not rewrite still fails: \(update.stdout)")
        #expect(update.stdout.contains("updated "))
        #expect(update.stdout.hasSuffix("0 passed, 1 failed\n"), "\(update.stdout)")

        try "flow: hello\ntests:\n  - name: [broken\n".write(to: folder.appendingPathComponent("hello.test.yaml"), atomically: true, encoding: .utf8)
        for mode in [[], ["--update"]] {
            let run = try ParleyBinary.run(["test", folder.path] + mode)
            #expect(run.status == 1, "\(mode): \(run.stdout)")
            #expect(run.stdout.contains("FAIL "), "\(mode): \(run.stdout)")
        }
    }

    @Test func invalidFlowsFailTheRun() throws {
        let output = try ParleyBinary.run(["test", "Tests/ParleyFlowsTests/Fixtures/cycle.yaml"])
        #expect(output.status == 1)
        #expect(output.stdout.contains("cycle.yaml:6:3: error: loop bump -> check -> bump"))
    }
}
