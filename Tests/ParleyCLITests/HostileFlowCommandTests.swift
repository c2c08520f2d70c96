import Foundation
import Testing

/// `parley chat`, `parley test` and `parley replay` end, every time, after code-node timeouts and after thousands
/// of JavaScript turns.
///
/// They used not to: JavaScriptCore interrupts the threads that run scripts with signals, which leaves `errno` at
/// `EINTR`, and the standard library's `readLine()` retries `getline` at end of file for as long as `errno` says
/// `EINTR`, so piped chats spun at 100% CPU after their last answer (see `StandardInput.swift`).
@Suite struct HostileFlowCommandTests {
    static let spin = """
        flow: spin
        nodes:
          check:
            condition: input.text === "spin"
            then: loop
            else: hello
          loop:
            code: "while (true) {}"
            next: after
          after:
            say: "after {{input.codeNodeError.message}}"
          hello:
            say: "hello {{input.text.length}}"
        """
    static let counter = """
        flow: counter
        nodes:
          count:
            code: |
              context.n = (context.n || 0) + 1;
              context.rows = Array.from({length: 20}, (_, i) => ({i, s: 'x'.repeat(i)}));
            next: check
          check:
            condition: context.n % 2 === 0 && input.text.length > 0
            then: even
            else: odd
          even:
            say: "even {{context.n}}"
          odd:
            say: "odd {{context.n}}"
        """

    /// A folder with the two flows, a conversation test for the spinning one, and a configuration with a store.
    static func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("parley-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("flows"), withIntermediateDirectories: true)
        try spin.write(to: folder.appendingPathComponent("flows/spin.yaml"), atomically: true, encoding: .utf8)
        try counter.write(to: folder.appendingPathComponent("flows/counter.yaml"), atomically: true, encoding: .utf8)
        try """
        flow: spin
        tests:
          - name: a timeout, then a normal turn
            turns:
              - user: spin
                bot: ["after script timed out after 1000 ms"]
              - user: hi
                bot: ["hello 2"]
        """.write(to: folder.appendingPathComponent("flows/spin.test.yaml"), atomically: true, encoding: .utf8)
        try "store: \"sqlite:parley.sqlite\"\nflows: flows\n".write(
            to: folder.appendingPathComponent("parley.yaml"),
            atomically: true,
            encoding: .utf8
        )
        return folder
    }

    @Test func chatEndsAfterACodeNodeTimeout() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for _ in 0..<3 {
            let run = try ParleyBinary.run(["chat", "spin", "--flows", "flows"], stdin: "spin\nhi\n", directory: folder, timeout: 30)
            #expect(!run.timedOut, "parley chat did not end after its input")
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout == "bot: after script timed out after 1000 ms\nbot: hello 2\n")
        }
    }

    @Test func chatEndsAfterThousandsOfJavaScriptTurns() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let lines = (1...3000).map { "line \($0)" }.joined(separator: "\n") + "\n"
        for _ in 0..<5 {
            let run = try ParleyBinary.run(["chat", "counter", "--flows", "flows"], stdin: lines, directory: folder, timeout: 120)
            #expect(!run.timedOut, "parley chat did not end after its input")
            #expect(run.status == 0, "\(run.stderr)")
            let answers = run.stdout.split(separator: "\n")
            #expect(answers.count == 3000)
            #expect(answers.last == "bot: even 3000")
        }
    }

    @Test func aLastLineWithoutNewlineAndCarriageReturnsAreRead() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try ParleyBinary.run(["chat", "spin", "--flows", "flows"], stdin: "ab\r\nabc", directory: folder, timeout: 30)
        #expect(run.stdout == "bot: hello 2\nbot: hello 3\n")
    }

    @Test func testAndReplayEndAfterTimeouts() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let test = try ParleyBinary.run(["test", "flows"], directory: folder, timeout: 60)
        #expect(!test.timedOut)
        #expect(test.status == 0, "\(test.stdout)")
        #expect(test.stdout.hasSuffix("1 passed, 0 failed\n"))

        // Recorded through the runtime (the same line reader, on the store), exported, replayed.
        let chat = try ParleyBinary.run(
            ["chat", "spin", "--flows", "flows", "--store", "--config", "parley.yaml", "--user", "u", "--session", "s1"],
            stdin: "spin\nhi\nspin\n",
            directory: folder,
            timeout: 60
        )
        #expect(!chat.timedOut)
        #expect(chat.status == 0, "\(chat.stderr)")
        #expect(chat.stdout.components(separatedBy: "\n").filter { $0.hasPrefix("bot: after script timed out") }.count == 2)
        let export = try ParleyBinary.run(
            ["sessions", "export", "--endpoint", "cli", "--user", "u", "--session", "s1"],
            directory: folder,
            timeout: 30
        )
        #expect(export.status == 0, "\(export.stderr)")
        try export.stdout.write(to: folder.appendingPathComponent("s1.jsonl"), atomically: true, encoding: .utf8)
        let replay = try ParleyBinary.run(["replay", "s1.jsonl", "--flows", "flows"], directory: folder, timeout: 60)
        #expect(!replay.timedOut)
        #expect(replay.stdout == "replayed 3 turns, identical\n", "\(replay.stderr)")
        #expect(replay.status == 0)
    }
}
