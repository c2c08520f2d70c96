import ParleyFlows
import ParleyScript
import Testing

@Suite struct ScriptRuntimeTests {
    let scope = ScriptScope(
        input: ["text": "hello", "currentTime": "2025-03-04T05:06:07.089Z"],
        context: ["orderId": "AB123456", "count": 2, "nested": ["list": [1, 2.5, "x", nil, true]]],
        profile: ["firstName": "Ada"]
    )

    func runtime(timeLimit: Duration = .seconds(1), seed: UInt32 = 7) -> ScriptRuntime {
        ScriptRuntime(limits: ScriptLimits(timeLimit: timeLimit), randomSeed: seed, currentTime: "2025-03-04T05:06:07.089Z")
    }

    @Test func expressionsSeeTheMemoryAndShortcuts() throws {
        let js = runtime()
        #expect(try js.evaluate("context.count + 1", scope: scope).get() == .number(3))
        #expect(try js.evaluate("cc.orderId + ' ' + cp.firstName + ' ' + ci.text", scope: scope).get() == "AB123456 Ada hello")
        #expect(try js.evaluate("profile.missing", scope: scope).get() == nil)
        #expect(try js.evaluate("null", scope: scope).get() == .null)
        #expect(try js.truthiness(of: "context.count > 1", scope: scope).get())
        #expect(try js.truthiness(of: "''", scope: scope).get() == false)
        #expect(try js.text(of: "context.count * 1.5", scope: scope).get() == "3")
        #expect(try js.text(of: "undefined", scope: scope).get() == "undefined")
    }

    @Test func jsonRoundTripIsLossless() throws {
        let js = runtime()
        let value: JSONValue = [
            "int": 42, "negative": -7, "fraction": 0.1, "tiny": 1e-7, "huge": 1e300, "max": 9_007_199_254_740_991.0,
            "text": "quote \" backslash \\ newline \n tab \t nul \u{0} emoji 🎉", "null": nil, "flag": false,
            "array": [[], [:], [1, [2, [3]]], nil], "object": ["a": ["b": ["c": "d"]]],
        ]
        let result = try js.evaluate("context.value", scope: ScriptScope(input: [:], context: ["value": value], profile: [:])).get()
        #expect(result == value)
    }

    @Test func javascriptOnlyValuesConvertLikeJSONStringify() throws {
        let js = runtime()
        let result = try js.evaluate(
            "({u: undefined, f: function () {}, n: NaN, i: -Infinity, a: [undefined, () => 1], d: new Date(0), z: -0})",
            scope: scope
        ).get()
        #expect(result == ["n": nil, "i": nil, "a": [nil, nil], "d": "1970-01-01T00:00:00.000Z", "z": 0])
        #expect(try js.evaluate("undefined", scope: scope).get() == nil)
        #expect(try js.evaluate("() => 1", scope: scope).get() == nil)
    }

    @Test func cyclesAndBigIntsAreErrors() {
        let js = runtime()
        #expect(throws: ScriptFailure.self) { try js.evaluate("(() => { const a = {}; a.self = a; return a; })()", scope: scope).get() }
        #expect(throws: ScriptFailure.self) { try js.evaluate("10n", scope: scope).get() }
    }

    @Test func codeChangesMemoryAndCallsTheAPI() throws {
        let js = runtime()
        let source = """
            context.count += 1;
            profile.seen = true;
            input.note = 'kept';
            delete context.orderId;
            api.say('Hi ' + profile.firstName, { n: context.count });
            api.output('second');
            api.addToContext('deep.list', 1, 'array');
            api.addToContext('deep.list', 2, 'array');
            api.addToContext('flag', api.getContext('count') === 3);
            api.deleteContext('nested');
            api.log('warn', 'careful');
            console.log('from console', { a: 1 });
            api.setNextNode('there');
            """
        let effects = try js.run(code: source, scope: scope, nodeExists: { $0 == "there" }).get()
        #expect(effects.scope.context == ["count": 3, "deep": ["list": [1, 2]], "flag": true])
        #expect(effects.scope.profile == ["firstName": "Ada", "seen": true])
        #expect(effects.scope.input["note"] == "kept")
        #expect(effects.outputs == [ScriptOutput(text: "Hi Ada", data: ["n": 3]), ScriptOutput(text: "second", data: nil)])
        #expect(effects.logs == [ScriptLog(level: "warn", message: "careful"), ScriptLog(level: "info", message: "from console {\"a\":1}")])
        #expect(effects.nextNode == "there")
        #expect(!effects.stopped)
    }

    @Test func setNextNodeRejectsUnknownNodes() {
        let js = runtime()
        let result = js.run(code: "api.setNextNode('nowhere');", scope: scope, nodeExists: { _ in false })
        guard case .failure(.exception(let message)) = result else {
            Issue.record("expected an exception, got \(result)")
            return
        }
        #expect(message.contains("no node 'nowhere'"))
    }

    @Test func stopExecutionIsReported() throws {
        let effects = try runtime().run(code: "api.stopExecution();", scope: scope, nodeExists: { _ in true }).get()
        #expect(effects.stopped)
    }

    @Test func apiCallsAreLimitedPerNode() throws {
        let js = runtime()
        let ok = try js.run(code: "for (let i = 0; i < 100; i++) api.log('info', i);", scope: scope, nodeExists: { _ in true }).get()
        #expect(ok.logs.count == 100)
        let tooMany = js.run(code: "for (let i = 0; i < 101; i++) api.log('info', i);", scope: scope, nodeExists: { _ in true })
        guard case .failure(.exception(let message)) = tooMany else {
            Issue.record("expected an exception, got \(tooMany)")
            return
        }
        #expect(message.contains("more than 100 api calls"))
        // The limit is per node: the next node starts counting again.
        #expect(try js.run(code: "api.log('info', 'again');", scope: scope, nodeExists: { _ in true }).get().logs.count == 1)
    }

    @Test func failedCodeHasNoEffects() throws {
        let js = runtime()
        let result = js.run(code: "context.count = 99;\napi.say('lost');\nthrow new TypeError('boom');", scope: scope, nodeExists: { _ in true })
        #expect(result == .failure(.exception("TypeError: boom (line 3)")))
    }

    @Test func infiniteLoopsTimeOut() throws {
        let js = runtime(timeLimit: .milliseconds(50))
        let result = js.run(code: "while (true) {}", scope: scope, nodeExists: { _ in true })
        #expect(result == .failure(.timeout("script timed out after 50 ms")))
        // try/catch cannot swallow the termination.
        let caught = js.run(code: "try { while (true) {} } catch (e) { context.caught = true; }", scope: scope, nodeExists: { _ in true })
        #expect(caught == .failure(.timeout("script timed out after 50 ms")))
        // The runtime still works afterwards.
        #expect(try js.evaluate("1 + 1", scope: scope).get() == .number(2))
        #expect(js.evaluate("(() => { while (true) {} })()", scope: scope) == .failure(.timeout("script timed out after 50 ms")))
    }

    @Test func deepRecursionIsARangeError() {
        let result = runtime().run(code: "function f(n) { return f(n + 1) + 1; }\nf(0);", scope: scope, nodeExists: { _ in true })
        guard case .failure(.exception(let message)) = result else {
            Issue.record("expected an exception, got \(result)")
            return
        }
        #expect(message.hasPrefix("RangeError: Maximum call stack size exceeded"))
    }

    @Test func hostAPIsAreAbsent() throws {
        let js = runtime()
        for name in [
            "require", "process", "fetch", "setTimeout", "setInterval", "setImmediate", "XMLHttpRequest", "WebAssembly", "Atomics", "WeakRef",
        ] {
            #expect(try js.text(of: "typeof \(name)", scope: scope).get() == "undefined", "\(name) should be undefined")
        }
    }

    @Test func globalsDoNotSurviveTheRuntime() throws {
        let first = runtime()
        _ = try first.run(code: "globalThis.leak = 'x'; leaked = 1;", scope: scope, nodeExists: { _ in true }).get()
        #expect(try first.text(of: "typeof leak + typeof leaked", scope: scope).get() == "stringnumber")
        let second = runtime()
        #expect(try second.text(of: "typeof leak + typeof leaked", scope: scope).get() == "undefinedundefined")
    }

    @Test func dateIsTheInputTime() throws {
        let js = runtime()
        #expect(try js.evaluate("Date.now()", scope: scope).get() == .number(1_741_064_767_089))
        #expect(try js.evaluate("new Date().toISOString()", scope: scope).get() == "2025-03-04T05:06:07.089Z")
        #expect(try js.evaluate("new Date().getHours() + ':' + new Date().getTimezoneOffset()", scope: scope).get() == "5:0")
        #expect(try js.evaluate("new Date(2024, 0, 2, 3).toISOString()", scope: scope).get() == "2024-01-02T03:00:00.000Z")
        #expect(try js.evaluate("new Date('2024-01-02T03:04').toISOString()", scope: scope).get() == "2024-01-02T03:04:00.000Z")
        #expect(try js.evaluate("String(new Date(0))", scope: scope).get() == "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)")
        #expect(try js.evaluate("new Date() instanceof Date", scope: scope).get() == true)
    }

    @Test func randomIsSeeded() throws {
        let expression = "[Math.random(), Math.random(), Math.random()]"
        let first = try runtime(seed: 1).evaluate(expression, scope: scope).get()
        let again = try runtime(seed: 1).evaluate(expression, scope: scope).get()
        let other = try runtime(seed: 2).evaluate(expression, scope: scope).get()
        #expect(first == again)
        #expect(first != other)
        let items = try #require(first?.arrayValue)
        let numbers = items.compactMap { $0.numberValue }
        #expect(numbers.count == 3 && numbers.allSatisfy { $0 >= 0 && $0 < 1 })
    }

    @Test func expressionChangesAreNotKept() throws {
        let js = runtime()
        #expect(try js.evaluate("context.count = 10", scope: scope).get() == .number(10))
        #expect(try js.evaluate("context.count", scope: scope).get() == .number(2))
    }
}

@Suite struct JavaScriptNumberTests {
    @Test(
        arguments: [
            0, -0.0, 1, -1, 42, 0.1, 0.2 + 0.1, 1.5, -3.25, 123_456_789, 1e20, 1e21, 1.5e21, 1e-6, 1e-7, 1.5e-7, 123e-20,
            Double.leastNonzeroMagnitude,
            1.7976931348623157e308, 9_007_199_254_740_991, 0.000001234, 100, 1234.5678, 2.5e-5,
        ] as [Double]
    )
    func formatsLikeJavaScript(number: Double) throws {
        let runtime = ScriptRuntime(randomSeed: 0, currentTime: "2025-01-01T00:00:00Z")
        let expected = try runtime.text(of: "context.n", scope: ScriptScope(input: [:], context: ["n": .number(number)], profile: [:])).get()
        #expect(JavaScriptNumber.format(number) == expected)
    }

    @Test func specialValues() {
        #expect(JavaScriptNumber.format(.nan) == "NaN")
        #expect(JavaScriptNumber.format(.infinity) == "Infinity")
        #expect(JavaScriptNumber.format(-.infinity) == "-Infinity")
    }
}
