import Foundation
import Testing

@Suite(.serialized) struct SessionsAndReplayCommandTests {
    /// A deployment in a temporary folder: its own store, the repository's flows.
    private func deployment() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parley-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let flows = ParleyBinary.repositoryRoot.appendingPathComponent("Flows").path
        try "store: \"sqlite:state/parley.sqlite\"\nflows: \(flows)\nendpoints: []\n"
            .write(to: folder.appendingPathComponent("parley.yaml"), atomically: true, encoding: .utf8)
        return folder
    }

    @Test func aStoredChatCanBeListedExportedAndReplayed() throws {
        let api = try SampleOrdersAPI.start()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parley-cli-\(UUID().uuidString)")
        defer {
            api.stop()
            try? FileManager.default.removeItem(at: folder)
        }
        let config = try api.writeConfiguration(to: folder)
        let chat = try ParleyBinary.run(
            ["chat", "order-status", "--store", "--config", config, "--session", "s1", "--user", "ada", "--now", "2025-05-05T09:00:00Z"],
            stdin: "hi\nAB123456\nno\n"
        )
        #expect(chat.status == 0, "\(chat.stderr)")
        #expect(chat.stdout.contains("bot: Order AB123456 is on its way with DHL, expected on 2024-06-14."))
        #expect(chat.stderr.contains("session: --endpoint cli --user ada --session s1"))

        let list = try ParleyBinary.run(["sessions", "list", "--config", config])
        #expect(list.status == 0)
        #expect(list.stdout.hasPrefix("cli\tada\ts1\t3 turns\t2025-05-05T09:00:00.000Z\tsha256:"))

        let show = try ParleyBinary.run(["sessions", "show", "--config", config, "--endpoint", "cli", "--user", "ada", "--session", "s1"])
        #expect(show.stdout.contains("turn 2  2025-05-05T09:00:00.000Z  user: AB123456"))

        let export = try ParleyBinary.run(["sessions", "export", "--config", config, "--endpoint", "cli", "--user", "ada", "--session", "s1"])
        #expect(export.status == 0)
        let lines = export.stdout.split(separator: "\n")
        #expect(lines.count == 4)
        #expect(lines[0].hasPrefix(#"{"endpoint":"cli","flow":"order-status","flowHash":"sha256:"#))
        let file = folder.appendingPathComponent("s1.jsonl")
        try export.stdout.write(to: file, atomically: true, encoding: .utf8)

        // Offline: the recorded effects answer the lookup, the orders API is gone.
        api.stop()
        let replay = try ParleyBinary.run(["replay", file.path])
        #expect(replay.status == 0, "\(replay.stdout)")
        #expect(replay.stdout == "replayed 3 turns, identical\n")

        // Against changed flows: the first difference, exit 1.
        let changed = folder.appendingPathComponent("flows")
        try FileManager.default.createDirectory(at: changed, withIntermediateDirectories: true)
        for name in ["order-status.yaml", "faq-router.yaml", "opening-hours.yaml", "call-assist.yaml", "assistant.yaml"] {
            var text = try String(contentsOf: ParleyBinary.repositoryRoot.appendingPathComponent("Flows/\(name)"), encoding: .utf8)
            text = text.replacingOccurrences(
                of: "Order {{context.orderId}} is {{context.order.label}}",
                with: "Order {{context.orderId}} is now {{context.order.label}}"
            )
            try text.write(to: changed.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let diverged = try ParleyBinary.run(["replay", file.path, "--flows", changed.path])
        #expect(diverged.status == 1)
        #expect(diverged.stdout.hasPrefix("turn 2 (user \"AB123456\"): outputs differ\n- "))
        #expect(diverged.stdout.contains("+ {\"data\":"))
        #expect(diverged.stdout.contains("is now on its way with DHL"))

        // A folder: every transcript in it, then the summary line.
        let many = folder.appendingPathComponent("many")
        try FileManager.default.createDirectory(at: many, withIntermediateDirectories: true)
        try export.stdout.write(to: many.appendingPathComponent("a.jsonl"), atomically: true, encoding: .utf8)
        try export.stdout.write(to: many.appendingPathComponent("b.jsonl"), atomically: true, encoding: .utf8)
        let folderReplay = try ParleyBinary.run(["replay", many.path])
        #expect(folderReplay.status == 0)
        #expect(folderReplay.stdout == "2 identical, 0 diverged\n")
        let folderDiverged = try ParleyBinary.run(["replay", many.path, "--flows", changed.path])
        #expect(folderDiverged.status == 1)
        #expect(folderDiverged.stdout.hasSuffix("0 identical, 2 diverged\n"))
        #expect(folderDiverged.stdout.contains("a.jsonl: turn 2 (user \"AB123456\"): outputs differ"))
        #expect(try ParleyBinary.run(["replay", file.path, "--live"]).status == 2)

        // The recorded version comes from the store.
        let recorded = try ParleyBinary.run(["replay", file.path, "--flows", changed.path, "--recorded-flows", "--config", config])
        #expect(recorded.status == 0)
        #expect(recorded.stdout == "replayed 3 turns, identical\n")
    }

    @Test func missingThingsAreClearErrors() throws {
        let folder = try deployment()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("parley.yaml").path
        let none = try ParleyBinary.run(["sessions", "export", "--config", config, "--endpoint", "cli", "--user", "x", "--session", "y"])
        #expect(none.status == 1)
        #expect(none.stderr.contains("no session cli/x/y"))
        let noConfig = try ParleyBinary.run(["sessions", "list", "--config", folder.appendingPathComponent("nope.yaml").path])
        #expect(noConfig.status == 2)
        let badFile = folder.appendingPathComponent("bad.jsonl")
        try "hello\n".write(to: badFile, atomically: true, encoding: .utf8)
        let replay = try ParleyBinary.run(["replay", badFile.path])
        #expect(replay.status == 2)
        #expect(replay.stderr.contains("not a Parley transcript"))
    }
}
