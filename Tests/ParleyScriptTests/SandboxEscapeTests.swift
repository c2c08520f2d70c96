import ParleyFlows
import ParleyScript
import Testing

/// Escapes a hostile flow author (or a value that reaches a script) might try: each must fail inside the sandbox, and
/// leave nothing for the next turn (DESIGN §3: a fresh global object per turn, no host APIs, a time limit).
@Suite struct SandboxEscapeTests {
    let scope = ScriptScope(input: ["text": "hi"], context: [:], profile: [:])

    func runtime(timeLimit: Duration = .seconds(1)) -> ScriptRuntime {
        ScriptRuntime(limits: ScriptLimits(timeLimit: timeLimit), randomSeed: 1, currentTime: "2025-03-04T05:06:07.089Z")
    }

    @Test func prototypePollutionDoesNotReachTheNextTurn() throws {
        let first = runtime()
        let polluted = first.run(
            code: """
                Object.prototype.isAdmin = true;
                Array.prototype.push = function () { return 'hijacked'; };
                JSON.stringify = function () { return 'hijacked'; };
                String.prototype.toUpperCase = function () { return 'hijacked'; };
                Object.defineProperty(Object.prototype, 'then', { get() { return 1; } });
                Math.random = function () { return 0.5; };
                context.seen = ({}).isAdmin;
                """,
            scope: scope,
            nodeExists: { _ in true }
        )
        #expect(try polluted.get().scope.context["seen"] == true, "the pollution took effect inside its own turn")
        let next = runtime()
        #expect(try next.text(of: "typeof ({}).isAdmin + ' ' + typeof ({}).then", scope: scope).get() == "undefined undefined")
        #expect(try next.text(of: "(() => { const a = []; a.push(1); return a.length })()", scope: scope).get() == "1")
        #expect(try next.text(of: "JSON.stringify({a: 1}) + 'x'.toUpperCase()", scope: scope).get() == #"{"a":1}X"#)
        #expect(try next.truthiness(of: "Math.random() !== 0.5", scope: scope).get())
    }

    @Test(arguments: [
        "this.constructor.constructor('return typeof process')()",
        "Function('return typeof require')()",
        "(function () { return typeof this.fetch })()",
        "Object.getPrototypeOf(async function () {}).constructor('return 1') && typeof globalThis.setTimeout",
        "typeof Reflect.getPrototypeOf(globalThis).constructor.require",
        "typeof import.meta",
    ])
    func hostObjectsAreOutOfReach(_ expression: String) throws {
        let result = runtime().text(of: expression, scope: scope)
        switch result {
        case .success(let text): #expect(text == "undefined", "\(expression)")
        case .failure: break  // a SyntaxError or TypeError is as good: nothing was reached
        }
    }

    @Test(arguments: [
        "'x'.repeat(2 ** 31)",
        "new ArrayBuffer(2 ** 40)",
        "new Array(2 ** 32)",
        "'x'.padEnd(2 ** 31, 'y')",
    ])
    func hugeAllocationsFailInTheScript(_ expression: String) {
        guard case .failure(.exception(let message)) = runtime().evaluate(expression, scope: scope) else {
            Issue.record("\(expression) did not fail")
            return
        }
        #expect(message.contains("RangeError") || message.contains("Out of memory"), "\(message)")
    }

    @Test func growingMemoryUntilTheTimeLimitIsStopped() {
        let result = runtime(timeLimit: .milliseconds(200)).run(
            code: "const keep = []; while (true) { keep.push('x'.repeat(1024) + keep.length); }",
            scope: scope,
            nodeExists: { _ in true }
        )
        guard case .failure(let failure) = result else {
            Issue.record("an endless allocation loop finished")
            return
        }
        #expect("\(failure)".contains("time") || "\(failure)".contains("memory"), "\(failure)")
    }

    @Test(arguments: ["/(a+)+$/.test('a'.repeat(34) + 'b')", "/(x+x+)+y/.test('x'.repeat(40))"])
    func catastrophicRegularExpressionsAreStoppedByTheTimeLimit(_ expression: String) {
        let clock = ContinuousClock()
        let started = clock.now
        let result = runtime(timeLimit: .milliseconds(300)).evaluate(expression, scope: scope)
        let elapsed = clock.now - started
        guard case .failure(let failure) = result else {
            Issue.record("\(expression) finished: \(result)")
            return
        }
        #expect("\(failure)".contains("time"), "\(failure)")
        // Not a timing assertion on speed: the regex alone would run for hours; anything under a minute was stopped.
        #expect(elapsed < .seconds(60))
    }
}
