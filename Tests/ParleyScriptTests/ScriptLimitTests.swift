import Foundation
import ParleyFlows
import ParleyScript
import Testing

/// Issue 25: the time limit covers the promise jobs a script queues, and a script has a memory limit. Before,
/// `function p(){return Promise.resolve().then(p)} p();` never ended its turn and grew the process to 22 GB.
@Suite(.serialized) struct ScriptLimitTests {
    let scope = ScriptScope(input: ["text": "hi"], context: [:], profile: [:])

    /// The memory limit is the process's growth, which tests running beside these share: well above what the
    /// well-behaved scripts here use, unless a test means to reach it.
    func runtime(timeLimit: Duration = .milliseconds(200), memoryMB: Int = 1024) -> ScriptRuntime {
        ScriptRuntime(
            limits: ScriptLimits(timeLimit: timeLimit, memoryLimitBytes: memoryMB << 20),
            randomSeed: 1,
            currentTime: "2025-01-01T12:00:00.000Z"
        )
    }

    func run(_ code: String, in js: ScriptRuntime? = nil) -> Result<CodeEffects, ScriptFailure> {
        (js ?? runtime()).run(code: code, scope: scope, nodeExists: { _ in false })
    }

    /// Runs a test's scripts on a thread of its own: they spin for up to 30 s, and on the cooperative threads they
    /// would starve the other suites of this process (their HTTP servers and clients timed out in CI).
    func offPool(_ body: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                body()
                continuation.resume()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    @Test func thisJavaScriptCoreLetsParleyDrainPromiseJobs() {
        // Without it the limits below would hold per promise job only; the runtime needs the library's symbols.
        #expect(ScriptRuntime.boundsPromiseJobs)
    }

    @Test(arguments: [
        "function p() { return Promise.resolve().then(p); } p();",
        "async function f() { while (true) { await null; } } f();",
        "(async () => { for (;;) { await Promise.resolve(1); } })();",
        "for (let i = 0; i < 100; i++) { Promise.resolve().then(() => { for (;;) {} }); }",
        "const flood = () => { for (let i = 0; i < 1000; i++) Promise.resolve().then(flood); }; flood();",
        "new Promise(function loop(resolve) { resolve(); }).then(function again() { return new Promise((r) => r()).then(again); });",
    ])
    func promiseJobsCountAgainstTheTimeLimit(code: String) async {
        await offPool {
            // A memory limit high enough that only the time limit can stop these.
            let result = run(code, in: runtime(memoryMB: 4096))
            #expect(result == .failure(.timeout("script timed out after 200 ms")))
        }
    }

    @Test func aStoppedScriptLeavesNoJobsBehindForTheNextTurn() throws {
        // Jobs queued before the limit struck would otherwise run in the next turn's drain, in its context group.
        _ = run("for (let i = 0; i < 10; i++) Promise.resolve().then(() => { globalThis.leak = (globalThis.leak || 0) + 1; }); for (;;) {}")
        for _ in 0..<3 {
            let effects = try run("context.leak = typeof globalThis.leak;").get()
            #expect(effects.scope.context["leak"] == "undefined")
        }
    }

    @Test func wellBehavedAsyncCodeStillCompletes() throws {
        let effects = try run(
            """
            (async () => {
              const n = await Promise.resolve(41);
              const list = await Promise.all([1, 2, 3].map(async (x) => x * 2));
              context.answer = n + 1;
              context.list = list;
              for (let i = 0; i < 10000; i++) { await null; }
              context.done = true;
            })();
            """
        ).get()
        #expect(effects.scope.context["answer"] == 42)
        #expect(effects.scope.context["list"] == [2, 4, 6])
        #expect(effects.scope.context["done"] == true)
    }

    @Test(arguments: [
        "const kept = []; for (;;) { kept.push(new Array(100000).fill(1)); }",
        "const big = ['x'.repeat(2 ** 20)]; for (;;) { big.push(big[big.length - 1] + big.length); }",
        "const kept = []; for (;;) { kept.push({ a: [1, 2, 3], b: 'text' + kept.length }); }",
        "function p() { return Promise.resolve(new Array(10000).fill(0)).then(p); } p();",
    ])
    func aScriptThatGrowsTheProcessPastItsMemoryLimitIsStopped(code: String) async {
        await offPool {
            let before = Self.residentBytes()
            let result = run(code, in: runtime(timeLimit: .seconds(30), memoryMB: 64))
            #expect(result.failureMessage == "script used more than its memory limit of 64 MB")
            // Stopped near the limit, not gigabytes later (the watchdog looks every 10 ms of CPU time).
            #expect(Self.residentBytes() - before < 1 << 30)
        }
    }

    @Test func theRuntimeWorksAfterAStoppedScript() throws {
        _ = run("function p() { return Promise.resolve().then(p); } p();", in: runtime(memoryMB: 4096))
        _ = run("const kept = []; for (;;) { kept.push(new Array(100000).fill(1)); }")
        #expect(try run("context.after = [1, 2].map((x) => x + 1);").get().scope.context["after"] == [2, 3])
    }

    @Test func expressionsAndConditionsAreLimitedToo() async {
        await offPool {
            let js = runtime(memoryMB: 4096)
            #expect(js.evaluate("(function p() { return Promise.resolve().then(p); })() && 1", scope: scope) == .failure(.timeout("script timed out after 200 ms")))
            #expect(runtime(memoryMB: 4096).truthiness(of: "(async () => { for (;;) await null; })()", scope: scope) == .failure(.timeout("script timed out after 200 ms")))
        }
    }

    @Test func transformerHooksAreLimitedTheSameWay() async {
        await offPool {
            let chain = "createWebhookTransformer({ handleInput: async () => { function p() { return Promise.resolve().then(p); } await p(); } });"
            // A memory limit high enough that only the time limit can stop these (a promise chain allocates fast).
            #expect(
                runtime(memoryMB: 4096).callHook(source: chain, hook: "handleInput", argument: [:], storages: [:]).failureMessage
                    == "script timed out after 200 ms"
            )
            let flood = "createWebhookTransformer({ handleOutput: async () => { for (;;) { await null; } } });"
            #expect(
                runtime(memoryMB: 4096).callHook(source: flood, hook: "handleOutput", argument: [:], storages: [:]).failureMessage
                    == "script timed out after 200 ms"
            )
            let hog = "createWebhookTransformer({ handleInput: async () => { const kept = []; for (;;) { await null; kept.push(new Array(100000).fill(1)); } } });"
            #expect(
                runtime(timeLimit: .seconds(30), memoryMB: 64).callHook(source: hog, hook: "handleInput", argument: [:], storages: [:]).failureMessage
                    == "script used more than its memory limit of 64 MB"
            )
            // Every hook kind runs through the same call: each ends at the limit.
            for (factory, hook) in [
                ("createWebhookTransformer", "handleInject"), ("createWebhookTransformer", "handleNotify"),
                ("createRestTransformer", "handleExecutionFinished"), ("createVoiceCopilotTransformer", "handleInput"),
            ] {
                let spin = "\(factory)({ \(hook): async () => { function p() { return Promise.resolve().then(p); } await p(); } });"
                #expect(
                    runtime(memoryMB: 4096).callHook(source: spin, hook: hook, argument: [:], storages: [:]).failureMessage
                        == "script timed out after 200 ms",
                    "\(hook)"
                )
            }
            let fine = "createWebhookTransformer({ handleInput: async ({ request }) => { const s = await getSessionStorage('u', 's'); return { userId: 'u', sessionId: 's', text: String(s.n + 1) }; } });"
            let call = runtime().callHook(source: fine, hook: "handleInput", argument: ["request": [:]], storages: [SessionStorageKey(userId: "u", sessionId: "s"): ["n": 1]])
            #expect((try? call.get())?.value?["text"] == "2")
        }
    }

    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return fields.count > 1 ? (Int(fields[1]) ?? 0) * 4096 : 0
    }
}

extension Result where Failure == ScriptFailure {
    var failureMessage: String? {
        if case .failure(let failure) = self { return failure.message }
        return nil
    }
}
