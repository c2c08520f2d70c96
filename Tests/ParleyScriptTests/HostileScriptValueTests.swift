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

    /// Issue 25: a naive deep merge of `{"constructor": {"prototype": {"isAdmin": "x"}}}` reached
    /// `Object.prototype` and stored `context.isAdmin`: values are read back by their own enumerable keys only.
    @Test func inheritedPropertiesAreNotStored() throws {
        let source = """
            const merge = (target, source) => {
              for (const key in source) {
                if (typeof source[key] === 'object' && source[key] !== null) {
                  if (!target[key]) target[key] = {};
                  merge(target[key], source[key]);
                } else {
                  target[key] = source[key];
                }
              }
            };
            merge(context, JSON.parse('{"constructor": {"prototype": {"isAdmin": "x"}}, "name": "Ada"}'));
            context.child = Object.create({ inherited: 1 });
            context.child.own = 2;
            Object.keys = () => ['fake'];
            """
        let effects = try runtime().run(code: source, scope: scope, nodeExists: { _ in true }).get()
        #expect(effects.scope.context == ["name": "Ada", "child": ["own": 2]])
    }

    /// A rope costs JavaScriptCore nothing and Swift its whole length: values are counted before they are copied.
    @Test(arguments: [
        "context.big = 'x'.repeat(2 ** 27)",
        "context.many = Array.from({ length: 100 }, (_, i) => 'x'.repeat(100000) + i)",
        "context.keys = {}; const k = 'k'.repeat(100000); for (let i = 0; i < 100; i++) context.keys[k + i] = 1",
    ])
    func valuesOfMoreThanFourMillionCharactersAreRefused(source: String) {
        let result = runtime().run(code: source, scope: scope, nodeExists: { _ in true })
        guard case .failure(.exception(let message)) = result else {
            Issue.record("expected an exception, got \(String(describing: result).prefix(200))")
            return
        }
        #expect(message.contains("characters"), "\(message)")
    }

    @Test func largeButReasonableValuesAreKept() throws {
        let effects = try runtime().run(code: "context.text = 'y'.repeat(1000000)", scope: scope, nodeExists: { _ in true }).get()
        #expect(effects.scope.context["text"]?.stringValue?.count == 1_000_000)
    }
}
