import ParleyEngine
import ParleyFlows
import Testing

@Suite struct CodeNodeTests {
    @Test func codeChangesMemoryAndSpeaks() throws {
        var chat = try TestChat(
            """
            flow: c
            context: { visits: 0 }
            nodes:
              run:
                code: |
                  context.visits += 1;
                  profile.lastText = input.text;
                  input.shout = input.text.toUpperCase();
                  api.say('Visit ' + context.visits, { at: new Date().toISOString() });
                  api.addToContext('history', input.text, 'array');
                  api.log('info', 'visited');
                next: tell
              tell:
                say: "{{input.shout}} {{cc.history.length}}"
            """
        )
        let first = try chat.send("hello")
        #expect(first.outputs == [Output(text: "Visit 1", data: ["at": "2025-01-01T10:00:00.000Z"]), Output(text: "HELLO 1")])
        #expect(first.trace[0].notes == [TraceNote(level: "info", message: "visited")])
        let second = try chat.send("again")
        #expect(second.outputs.map(\.text) == ["Visit 2", "AGAIN 2"])
        #expect(chat.context["history"] == ["hello", "again"])
        #expect(chat.profile == ["lastText": "again"])
    }

    @Test func setNextNodeAndStopExecution() throws {
        let flow = """
            flow: c
            nodes:
              route:
                code: |
                  if (input.text === 'stop') { api.say('stopping'); api.stopExecution(); }
                  else if (input.text === 'jump') { api.setNextNode('target'); }
                  else if (input.text === 'bad') { api.setNextNode('missing'); }
                next: normal
                onError: failed
              normal:
                say: normal
              target:
                say: target
              failed:
                say: "failed: {{input.codeNodeError.message}}"
            """
        var chat = try TestChat(flow)
        #expect(try chat.texts("other") == ["normal"])
        #expect(try chat.texts("jump") == ["target"])
        let stopped = try chat.send("stop")
        #expect(stopped.outputs.map(\.text) == ["stopping"])
        #expect(stopped.trace.map(\.outcome) == ["stopped"])
        let bad = try chat.send("bad")
        #expect(bad.outputs.map(\.text) == ["failed: Error: api.setNextNode: there is no node 'missing' in this flow (line 3)"])
        #expect(bad.trace.first?.outcome == "error")
    }

    @Test func timeoutSetsCodeNodeErrorAndContinues() throws {
        var chat = try TestChat(
            """
            flow: c
            nodes:
              spin:
                code: |
                  context.partial = true;
                  api.say('lost');
                  while (true) {}
                next: after
                onError: never
              after:
                say: "after: {{input.codeNodeError.message}}"
              never:
                say: never
            """,
            configuration: EngineConfiguration(codeTimeout: .milliseconds(50))
        )
        let turn = try chat.send("go")
        #expect(turn.outputs.map(\.text) == ["after: script timed out after 50 ms"])
        #expect(turn.trace.first?.outcome == "timeout")
        // A script that was stopped leaves nothing behind.
        #expect(chat.context["partial"] == nil)
    }

    /// Issue 25: a promise chain or an allocation loop ends its code node at the limit, and the turn goes on.
    @Test(arguments: [
        ("function p() { return Promise.resolve().then(p); } p();", "timeout", "script timed out after 100 ms", 4096),
        ("(async () => { for (;;) { await null; } })();", "timeout", "script timed out after 100 ms", 4096),
        ("const kept = []; for (;;) { kept.push(new Array(100000).fill(1)); }", "memory", "script used more than its memory limit of 32 MB", 32),
    ])
    func scriptsStoppedByALimitContinueAtNext(code: String, type: String, message: String, memoryMB: Int) throws {
        var chat = try TestChat(
            """
            flow: c
            nodes:
              spin:
                code: |
                  context.partial = true;
                  \(code)
                next: after
              after:
                say: "{{input.codeNodeError.type}}: {{input.codeNodeError.message}}"
            """,
            configuration: EngineConfiguration(codeTimeout: .milliseconds(100), codeMemoryLimitBytes: memoryMB << 20)
        )
        let turn = try chat.send("go")
        #expect(turn.outputs.map(\.text) == ["\(type): \(message)"])
        #expect(turn.trace.first?.outcome == type)
        #expect(chat.context["partial"] == nil)
        // The next turn runs normally.
        #expect(try chat.send("again").outputs.count == 1)
    }

    @Test func deepRecursionLandsInOnError() throws {
        var chat = try TestChat(
            """
            flow: c
            nodes:
              recurse:
                code: |
                  function down(n) { return down(n + 1) + 1; }
                  down(0);
                next: fine
                onError: oops
              fine:
                say: fine
              oops:
                say: "{{input.codeNodeError.message}}"
            """
        )
        let turn = try chat.send("go")
        #expect(turn.outputs.first?.text?.hasPrefix("RangeError: Maximum call stack size exceeded") == true)
        #expect(turn.trace.first?.outcome == "error")
    }

    @Test func uncaughtExceptionEndsTheTurnAndKeepsTheEntryPoint() throws {
        var chat = try TestChat(
            """
            flow: c
            nodes:
              ask:
                question: { text: "Number?", type: number, store: context.n }
                next: compute
              compute:
                code: |
                  if (context.n === 13) throw new Error('unlucky');
                  context.double = context.n * 2;
                next: tell
              tell:
                say: "{{context.double}}"
            """
        )
        _ = try chat.send("hi")
        let failed = try chat.send("13")
        #expect(failed.outputs.isEmpty)
        #expect(failed.events == [.error(TurnError(message: "Error: unlucky (line 1)", address: NodeAddress(flow: "c", node: "compute")))])
        #expect(failed.trace.map(\.outcome) == ["valid", "error"])
        // The question still holds the position: the next input answers it again.
        #expect(failed.session.position == .question(NodeAddress(flow: "c", node: "ask"), attempts: 0))
        #expect(try chat.texts("4") == ["8"])
    }

    @Test func hostAPIsAreUndefinedInFlows() throws {
        var chat = try TestChat(
            """
            flow: c
            nodes:
              probe:
                code: |
                  context.types = [typeof require, typeof process, typeof fetch, typeof setTimeout, typeof setInterval, typeof XMLHttpRequest].join(',');
            """
        )
        _ = try chat.send("go")
        #expect(chat.context["types"] == "undefined,undefined,undefined,undefined,undefined,undefined")
    }

    @Test func globalsDoNotSurviveTheTurn() throws {
        var chat = try TestChat(
            """
            flow: c
            nodes:
              count:
                code: |
                  globalThis.counter = (globalThis.counter || 0) + 1;
                  sloppyGlobal = (typeof sloppyGlobal === 'undefined' ? 0 : sloppyGlobal) + 1;
                  context.seen = [globalThis.counter, sloppyGlobal];
                next: again
              again:
                code: |
                  globalThis.counter += 1;
                  context.seen.push(globalThis.counter);
            """
        )
        _ = try chat.send("one")
        #expect(chat.context["seen"] == [1, 1, 2])
        _ = try chat.send("two")
        #expect(chat.context["seen"] == [1, 1, 2])
    }

    @Test func randomAndDateAreDeterministic() throws {
        let flow = """
            flow: c
            nodes:
              roll:
                code: |
                  context.rolls = [Math.random(), Math.random()];
                  context.now = Date.now();
            """
        var first = try TestChat(flow, sessionId: "same")
        var second = try TestChat(flow, sessionId: "same")
        var other = try TestChat(flow, sessionId: "other")
        _ = try first.send("x")
        _ = try second.send("x")
        _ = try other.send("x")
        #expect(first.context == second.context)
        #expect(first.context["rolls"] != other.context["rolls"])
        #expect(first.context["now"] == .number(1_735_725_600_000))
        // The next execution of the same session draws other numbers.
        let before = first.context["rolls"]
        _ = try first.send("x")
        #expect(first.context["rolls"] != before)
    }

    @Test func conditionsThatThrowAreFalseWithAWarning() throws {
        var chat = try TestChat(
            """
            flow: c
            nodes:
              check:
                condition: context.missing.deep === 1
                then: yes
                else: no
              yes:
                say: "yes"
              no:
                say: "no"
            """
        )
        let turn = try chat.send("x")
        #expect(turn.outputs.map(\.text) == ["no"])
        #expect(turn.trace[0].notes.first?.message.hasPrefix("condition 'context.missing.deep === 1' failed: TypeError") == true)
    }
}
