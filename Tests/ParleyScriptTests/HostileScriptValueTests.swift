import ParleyFlows
import ParleyScript
import Testing

/// Values a script makes up can be anything: numbers where Parley expects line numbers, arrays that lie about
/// their length. None of them may trap the process.
@Suite struct HostileScriptValueTests {
    func runtime() -> ScriptRuntime {
        ScriptRuntime(limits: ScriptLimits(timeLimit: .seconds(1)), randomSeed: 1, currentTime: "2025-01-01T00:00:00.000Z")
    }

    let scope = ScriptScope(input: [:], context: [:], profile: [:])

    @Test(arguments: ["throw {line: 1e300}", "throw {line: -1e300}", "throw {line: NaN}", "throw {line: Infinity}", "throw {line: 2.5}"])
    func anExceptionWithAnyLineIsAnException(source: String) {
        let result = runtime().run(code: source, scope: scope, nodeExists: { _ in true })
        guard case .failure(.exception(let message)) = result else {
            Issue.record("expected an exception, got \(result)")
            return
        }
        #expect(message.contains("[object Object]"))
    }

    @Test func anExpressionThatThrowsALineIsAFailure() {
        let result = runtime().evaluate("(() => { throw {line: 1e300} })()", scope: scope)
        guard case .failure = result else {
            Issue.record("expected a failure, got \(result)")
            return
        }
    }

    /// JavaScriptCore does not count a proxy as an array, so its claimed length is never read: it is stored as
    /// the object of its own enumerable keys.
    @Test(arguments: [
        "context.x = new Proxy([], { get: (t, k) => k === 'length' ? 1e300 : undefined })",
        "context.x = new Proxy([], { get: (t, k) => k === 'length' ? -1 : undefined })",
    ])
    func proxiesClaimingAnyLengthAreObjects(source: String) throws {
        let effects = try runtime().run(code: source, scope: scope, nodeExists: { _ in true }).get()
        #expect(effects.scope.context == ["x": [:]])
    }

    @Test(arguments: ["const a = []; a.length = 4294967295; context.x = a", "context.x = new Array(2000000)"])
    func arraysLongerThanAMillionItemsAreRefused(source: String) {
        let result = runtime().run(code: source, scope: scope, nodeExists: { _ in true })
        guard case .failure(.exception(let message)) = result else {
            Issue.record("expected an exception, got \(result)")
            return
        }
        #expect(message.contains("array"), "\(message)")
    }
}
