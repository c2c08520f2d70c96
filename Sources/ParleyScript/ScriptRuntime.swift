import CJavaScriptCore
import Foundation
import ParleyFlows

/// Runs the JavaScript of one turn: `code` bodies, conditions, switch values and `{{ }}` expressions.
///
/// A runtime owns a fresh JavaScriptCore global object, created on first use and discarded with the runtime, so
/// nothing a script leaves in the JavaScript heap reaches another turn. Inside the turn, scripts share that
/// global object (and the `Math.random` sequence), which keeps a turn deterministic: the same scripts in the
/// same order see the same values.
///
/// The sandbox (DESIGN §3): no timers, network, files or processes; `Math.random` is seeded from the
/// `randomSeed`; `Date.now()` and `new Date()` return `currentTime`, and local time is UTC; every script call
/// is stopped after ``ScriptLimits/timeLimit``. Scripts see `input`, `context`, `profile` and the shortcuts
/// `ci`, `cc`, `cp`; `code` bodies also get `api`.
///
/// Every script call runs through the sandbox's runner, which drains the promise jobs the call queued before it
/// returns, so the time and memory limits (``ScriptBudget``) cover them too.
///
/// Not thread-safe and not `Sendable`: create one per turn, on the thread that runs the turn.
///
/// ```swift
/// let runtime = ScriptRuntime(randomSeed: 42, currentTime: "2025-01-01T12:00:00Z")
/// let scope = ScriptScope(input: ["text": "hi"], context: ["n": 1], profile: [:])
/// let value = runtime.evaluate("context.n + 1", scope: scope)  // .success(.number(2))
/// ```
public final class ScriptRuntime {
    let limits: ScriptLimits
    private let randomSeed: UInt32
    private let currentTime: String
    let budget: ScriptBudget

    private var group: JSContextGroupRef?
    private var context: JSGlobalContextRef?
    private var makeApi: JSObjectRef?
    private var host: JSObjectRef?
    /// `run(f, args)`: calls `f` and drains the promise jobs it queued, within the call (``ContextPool``).
    private var runner: JSObjectRef?
    /// `Object.keys` as the sandbox was made (``PreparedContext/ownKeys``).
    private(set) var ownKeys: JSObjectRef?
    private var protected: [JSValueRef] = []
    private var compiled: [String: JSObjectRef] = [:]
    private(set) var setupFailure: String?

    /// The `api` calls of the code node that is running, if any.
    private var pending: CodeEffects?
    private var nodeExists: ((String) -> Bool)?

    /// - Parameters:
    ///   - limits: the time limit per script call and the api call limit per code node.
    ///   - randomSeed: the seed of `Math.random`; the engine derives it from (sessionId, execution).
    ///   - currentTime: an ISO 8601 time that `Date.now()` and `new Date()` return.
    public init(limits: ScriptLimits = ScriptLimits(), randomSeed: UInt32, currentTime: String) {
        self.limits = limits
        self.randomSeed = randomSeed
        self.currentTime = currentTime
        self.budget = ScriptBudget(limits: limits)
    }

    deinit {
        guard let context else { return }
        // Jobs still queued (by a getter read after a call) belong to the context group, which the next turn
        // reuses: they are stopped here, with the api host cut off, so none runs in another turn.
        if let host { JSObjectSetPrivate(host, nil) }
        purge()
        for value in protected { JSValueUnprotect(context, value) }
        JSGlobalContextRelease(context)
        if let group { ContextGroupPool.shared.give(group, reuse: !stopped) }
    }

    /// Whether the promise jobs a script queues run within its limits on this JavaScriptCore (``MicrotaskControl``).
    public static var boundsPromiseJobs: Bool { MicrotaskControl.isAvailable }

    // MARK: Public calls

    /// Evaluates an expression; `nil` when it is `undefined` (or a function or symbol, which are not JSON).
    ///
    /// Changes the expression makes to `input`, `context` or `profile` are not kept.
    public func evaluate(_ expression: String, scope: ScriptScope) -> Result<JSONValue?, ScriptFailure> {
        call(expression: expression, scope: scope) { context, value throws(ScriptFailure) in
            do throws(JavaScriptValues.ConversionError) {
                return try JavaScriptValues.json(value, in: context, ownKeys: self.ownKeys)
            } catch {
                throw .exception(error.message)
            }
        }
    }

    /// Evaluates an expression to JavaScript truthiness (`!!value`), as `condition` nodes branch.
    public func truthiness(of expression: String, scope: ScriptScope) -> Result<Bool, ScriptFailure> {
        call(expression: expression, scope: scope) { context, value in JSValueToBoolean(context, value) }
    }

    /// Evaluates an expression to `String(value)`, as `switch` nodes compare.
    public func text(of expression: String, scope: ScriptScope) -> Result<String, ScriptFailure> {
        call(expression: expression, scope: scope) { context, value throws(ScriptFailure) in
            var exception: JSValueRef?
            guard let string = JSValueToStringCopy(context, value, &exception) else {
                throw .exception(self.describe(exception, lineOffset: 0))
            }
            defer { JSStringRelease(string) }
            return JavaScriptValues.swiftString(string)
        }
    }

    /// Runs the body of a `code` node.
    ///
    /// - Parameters:
    ///   - source: the node's JavaScript, run as the body of `function (input, context, profile, api, ci, cc, cp)`.
    ///   - nodeExists: whether `api.setNextNode` may name a node; an unknown node makes the call throw.
    /// - Returns: the memory after the script and its `api` calls, or why it failed. A failed script has no
    ///   effects at all: its changes and `api` calls are discarded.
    public func run(code source: String, scope: ScriptScope, nodeExists: (String) -> Bool) -> Result<CodeEffects, ScriptFailure> {
        withoutActuallyEscaping(nodeExists) { nodeExists in
            self.nodeExists = nodeExists
            defer { self.nodeExists = nil }
            return runCode(source, scope: scope)
        }
    }

    // MARK: Running

    private func runCode(_ source: String, scope: ScriptScope) -> Result<CodeEffects, ScriptFailure> {
        guard let context = prepare(), let makeApi else { return .failure(.exception(setupFailure ?? "JavaScript is unavailable")) }
        let function: JSObjectRef
        switch compile(ScriptWrapper.wrap(source, as: .statements)) {
        case .success(let compiled): function = compiled
        case .failure(let failure): return .failure(failure)
        }
        let input = JavaScriptValues.make(scope.input, in: context)
        let memory = JavaScriptValues.make(scope.context, in: context)
        let profile = JavaScriptValues.make(scope.profile, in: context)
        var exception: JSValueRef?
        budget.start()
        let apiArguments: [JSValueRef?] = [memory]
        guard
            let api = apiArguments.withUnsafeBufferPointer({ JSObjectCallAsFunction(context, makeApi, nil, 1, $0.baseAddress, &exception) }),
            exception == nil
        else { return .failure(.exception(describe(exception, lineOffset: 0))) }

        pending = CodeEffects(scope: scope)
        defer { pending = nil }
        let result = invoke(function, [input, memory, profile, api, input, memory, profile], exception: &exception)
        if result == nil || exception != nil {
            return .failure(failure(exception, lineOffset: ScriptWrapper.headerLines))
        }
        guard var effects = pending else { return .failure(.exception("code node state lost")) }
        do throws(JavaScriptValues.ConversionError) {
            effects.scope.input = try JavaScriptValues.json(input, in: context, ownKeys: ownKeys)?.objectValue ?? [:]
            effects.scope.context = try JavaScriptValues.json(memory, in: context, ownKeys: ownKeys)?.objectValue ?? [:]
            effects.scope.profile = try JavaScriptValues.json(profile, in: context, ownKeys: ownKeys)?.objectValue ?? [:]
        } catch {
            return .failure(limitFailure ?? .exception(error.message))
        }
        return .success(effects)
    }

    private func call<Value>(
        expression: String,
        scope: ScriptScope,
        convert: (JSContextRef, JSValueRef) throws(ScriptFailure) -> Value
    ) -> Result<Value, ScriptFailure> {
        guard let context = prepare() else { return .failure(.exception(setupFailure ?? "JavaScript is unavailable")) }
        let function: JSObjectRef
        switch compile("(function (input, context, profile, ci, cc, cp) { return (\n\(expression)\n); })") {
        case .success(let compiled): function = compiled
        case .failure(let failure): return .failure(failure)
        }
        let input = JavaScriptValues.make(scope.input, in: context)
        let memory = JavaScriptValues.make(scope.context, in: context)
        let profile = JavaScriptValues.make(scope.profile, in: context)
        var exception: JSValueRef?
        let result = invoke(function, [input, memory, profile, input, memory, profile], exception: &exception)
        guard let result, exception == nil else { return .failure(failure(exception, lineOffset: 1)) }
        do throws(ScriptFailure) {
            return .success(try convert(context, result))
        } catch {
            return .failure(limitFailure ?? error)
        }
    }

    /// Calls `function` through the runner, with a fresh budget: the promise jobs it queues run before it returns.
    /// The results' conversion that follows spends what is left of the same budget.
    func invoke(_ function: JSObjectRef, _ arguments: [JSValueRef?], exception: inout JSValueRef?) -> JSValueRef? {
        guard let context, let runner else { return nil }
        let list = arguments.withUnsafeBufferPointer { JSObjectMakeArray(context, arguments.count, $0.baseAddress, nil) }
        let pair: [JSValueRef?] = [function, list]
        budget.start()
        let result = pair.withUnsafeBufferPointer { JSObjectCallAsFunction(context, runner, nil, 2, $0.baseAddress, &exception) }
        if budget.exceeded != nil {
            stopped = true
            purge()
        }
        return result
    }

    /// Whether a call of this runtime was stopped by a limit: its context group is not reused.
    private(set) var stopped = false

    /// Stops the promise jobs still queued: a drain with no budget left, ended at the watchdog's next tick.
    private func purge() {
        guard let context, let runner else { return }
        let exceeded = budget.exceeded
        budget.exhaust()
        var exception: JSValueRef?
        _ = JSObjectCallAsFunction(context, runner, nil, 0, nil, &exception)
        budget.restore(exceeded)
    }

    /// Compiles a wrapped script to a function, once per turn.
    func compile(_ wrapped: String) -> Result<JSObjectRef, ScriptFailure> {
        if let function = compiled[wrapped] { return .success(function) }
        guard let context else { return .failure(.exception("JavaScript is unavailable")) }
        let script = JavaScriptValues.jsString(wrapped)
        let url = JSStringCreateWithUTF8CString(Self.scriptURL)
        defer {
            JSStringRelease(script)
            JSStringRelease(url)
        }
        var exception: JSValueRef?
        // Evaluating only makes the function, unless the script closes the wrapper early: limited all the same.
        budget.start()
        guard let value = JSEvaluateScript(context, script, nil, url, 1, &exception), exception == nil,
            let function = JSValueToObject(context, value, nil)
        else { return .failure(failure(exception, lineOffset: 1)) }
        JSValueProtect(context, function)
        protected.append(function)
        compiled[wrapped] = function
        return .success(function)
    }

    /// Takes a fresh global object with the prelude already run (``ContextPool``), on first use, and configures it
    /// for this turn: the time limit, the `api` host, the seed and the clock.
    func prepare() -> JSGlobalContextRef? {
        if let context { return context }
        if setupFailure != nil { return nil }
        let prepared: PreparedContext
        switch ContextPool.shared.take() {
        case .success(let made): prepared = made
        case .failure(let failure):
            setupFailure = failure.message
            return nil
        }
        group = prepared.group
        context = prepared.context
        host = prepared.host
        runner = prepared.runner
        ownKeys = prepared.ownKeys
        let context = prepared.context
        // The pool protected these for us; they are released with the context in deinit.
        protected += [prepared.host, prepared.configure, prepared.runner, prepared.ownKeys]
        budget.arm(prepared.group)
        budget.start()
        JSObjectSetPrivate(prepared.host, Unmanaged.passUnretained(self).toOpaque())
        let arguments: [JSValueRef?] = [
            JSValueMakeNumber(context, Double(randomSeed)), JavaScriptValues.makeString(currentTime, in: context),
            JSValueMakeNumber(context, Double(limits.maxAPICalls)),
        ]
        var exception: JSValueRef?
        guard
            let api = arguments.withUnsafeBufferPointer({
                JSObjectCallAsFunction(context, prepared.configure, nil, arguments.count, $0.baseAddress, &exception)
            }),
            exception == nil, let makeApi = JSValueToObject(context, api, nil)
        else {
            setupFailure = "sandbox setup failed: \(describe(exception, lineOffset: 0))"
            return nil
        }
        JSValueProtect(context, makeApi)
        protected.append(makeApi)
        self.makeApi = makeApi
        return context
    }

    // MARK: The api host

    /// Called by the prelude's `api` methods: `host('say', text, data)`, `host('next', id)`, `host('stop')`,
    /// `host('log', level, message)`.
    fileprivate func host(_ context: JSContextRef, arguments: [JSValueRef], exception: UnsafeMutablePointer<JSValueRef?>?) -> JSValueRef {
        let undefined = JSValueMakeUndefined(context)!
        func argument(_ index: Int) -> JSValueRef? {
            guard index < arguments.count, !JSValueIsUndefined(context, arguments[index]) else { return nil }
            return arguments[index]
        }
        func fail(_ message: String) -> JSValueRef {
            let text: [JSValueRef?] = [JavaScriptValues.makeString(message, in: context)]
            exception?.pointee = text.withUnsafeBufferPointer { JSObjectMakeError(context, 1, $0.baseAddress, nil) }
            return undefined
        }
        guard pending != nil, let operation = argument(0).flatMap({ JavaScriptValues.string($0, in: context) }) else {
            return fail("the api is only available while its code node runs")
        }
        switch operation {
        case "say":
            var text: String?
            if let value = argument(1), !JSValueIsNull(context, value) {
                text = JavaScriptValues.string(value, in: context)
            }
            var data: JSONValue?
            if let value = argument(2) {
                do {
                    data = try JavaScriptValues.json(value, in: context, ownKeys: ownKeys)
                } catch {
                    return fail("api.say: data is not JSON: \(error.message)")
                }
            }
            pending?.outputs.append(ScriptOutput(text: text, data: data))
        case "next":
            let node = argument(1).flatMap { JavaScriptValues.string($0, in: context) } ?? ""
            guard nodeExists?(node) == true else { return fail("api.setNextNode: there is no node '\(node)' in this flow") }
            pending?.nextNode = node
        case "stop":
            pending?.stopped = true
        case "log":
            let level = argument(1).flatMap { JavaScriptValues.string($0, in: context) } ?? "info"
            let message = argument(2).flatMap { JavaScriptValues.string($0, in: context) } ?? ""
            pending?.logs.append(ScriptLog(level: level, message: message))
        default:
            return fail("unknown api operation '\(operation)'")
        }
        return undefined
    }

    // MARK: Errors

    var timeoutMessage: String {
        let milliseconds = limits.timeLimit.components.seconds * 1000 + limits.timeLimit.components.attoseconds / 1_000_000_000_000_000
        return "script timed out after \(milliseconds) ms"
    }

    var memoryMessage: String {
        "script used more than its memory limit of \(limits.memoryLimitBytes >> 20) MB"
    }

    /// The limit that stopped the last call, if one did.
    var limitFailure: ScriptFailure? {
        switch budget.exceeded {
        case .time?: .timeout(timeoutMessage)
        case .memory?: .memory(memoryMessage)
        case nil: nil
        }
    }

    func failure(_ exception: JSValueRef?, lineOffset: Int) -> ScriptFailure {
        limitFailure ?? .exception(describe(exception, lineOffset: lineOffset))
    }

    /// The source URL flow scripts are compiled under, so stack frames tell them from the prelude's.
    private static let scriptURL = "parley-script"

    /// `String(error)`, with the line of the innermost flow-script frame when JavaScriptCore reports one.
    private func describe(_ exception: JSValueRef?, lineOffset: Int) -> String {
        guard let exception, let context else { return "script failed" }
        let message = JavaScriptValues.string(exception, in: context) ?? "script failed"
        guard lineOffset > 0, let line = scriptLine(of: exception, in: context) else { return message }
        let scriptLine = line - lineOffset
        return scriptLine >= 1 ? "\(message) (line \(scriptLine))" : message
    }

    /// The first `parley-script:LINE:COLUMN` frame of the error's stack, else its `line` property.
    private func scriptLine(of exception: JSValueRef, in context: JSContextRef) -> Int? {
        let key = JSStringCreateWithUTF8CString("stack")
        defer { JSStringRelease(key) }
        if let object = JSValueToObject(context, exception, nil), let stack = JSObjectGetProperty(context, object, key, nil),
            JSValueIsString(context, stack), let text = JavaScriptValues.string(stack, in: context)
        {
            for frame in text.split(separator: "\n") {
                guard let range = frame.range(of: Self.scriptURL + ":") else { continue }
                if let line = CheckedNumber.integer(frame[range.upperBound...].prefix(while: \.isNumber), in: 1...Int(Int32.max)) { return line }
            }
            return nil
        }
        // A script may throw any object, so `line` is whatever it says (`throw {line: 1e300}`): checked.
        return JavaScriptValues.number(property: "line", of: exception, in: context).flatMap { CheckedNumber.integer($0, in: 1...Int(Int32.max)) }
    }
}

/// The native function behind the prelude's `host(...)`.
private let hostCallback: JSObjectCallAsFunctionCallback = { context, function, _, count, arguments, exception in
    guard let context, let function, let pointer = JSObjectGetPrivate(function) else { return nil }
    let runtime = Unmanaged<ScriptRuntime>.fromOpaque(pointer).takeUnretainedValue()
    var values: [JSValueRef] = []
    for index in 0..<count {
        if let value = arguments?[index] { values.append(value) }
    }
    return runtime.host(context, arguments: values, exception: exception)
}

/// The class of the `host` function every sandbox calls its `api` through; its private data is the runtime.
/// Created once and never changed, so sharing it between threads is safe.
nonisolated(unsafe) private let hostClass: JSClassRef = {
    var definition = kJSClassDefinitionEmpty
    definition.className = nil
    definition.callAsFunction = hostCallback
    return JSClassCreate(&definition)
}()

/// Why a sandbox could not be made.
struct SandboxSetupError: Error {
    var message: String
}

/// A fresh global object with the prelude run: what a turn needs before its first script, minus the turn's own
/// seed, clock and host. Used by one runtime, once.
final class PreparedContext: @unchecked Sendable {
    let group: JSContextGroupRef
    let context: JSGlobalContextRef
    /// The `host` function object; its private data is set by the runtime that takes the context.
    let host: JSObjectRef
    /// `configure(seed, currentTime, maxCalls) -> makeApi`.
    let configure: JSObjectRef
    /// `run(f, args)`: `f(...args)`, then every promise job queued meanwhile, inside the same call (``ScriptBudget``).
    let runner: JSObjectRef
    /// The real `Object.keys`, whatever a script later does to the global: values are read back by their own keys.
    let ownKeys: JSObjectRef

    init(group: JSContextGroupRef, context: JSGlobalContextRef, host: JSObjectRef, configure: JSObjectRef, runner: JSObjectRef, ownKeys: JSObjectRef) {
        self.group = group
        self.context = context
        self.host = host
        self.configure = configure
        self.runner = runner
        self.ownKeys = ownKeys
    }

    /// The runner's source: made before any flow script runs, so it holds the real `Reflect.apply`; the drain
    /// function is reachable from no script.
    private static let runnerSource = """
        (function (drain) {
          'use strict';
          const apply = Reflect.apply;
          return function run(f, args) {
            try { if (f !== undefined) return apply(f, undefined, args); } finally { drain(); }
          };
        })
        """

    /// Creates a global object in a pooled group and runs the prelude on it.
    static func make() -> Result<PreparedContext, SandboxSetupError> {
        let group = ContextGroupPool.shared.take()
        guard let context = JSGlobalContextCreateInGroup(group, nil) else {
            ContextGroupPool.shared.give(group)
            return .failure(SandboxSetupError(message: "cannot create a JavaScript context"))
        }
        func fail(_ exception: JSValueRef?) -> Result<PreparedContext, SandboxSetupError> {
            let message = exception.flatMap { JavaScriptValues.string($0, in: context) } ?? "script failed"
            JSGlobalContextRelease(context)
            ContextGroupPool.shared.give(group)
            return .failure(SandboxSetupError(message: "sandbox setup failed: \(message)"))
        }
        guard let host = JSObjectMake(context, hostClass, nil) else { return fail(nil) }
        let script = JavaScriptValues.jsString(ScriptPrelude.source)
        defer { JSStringRelease(script) }
        var exception: JSValueRef?
        guard let value = JSEvaluateScript(context, script, nil, nil, 1, &exception), exception == nil,
            let factory = JSValueToObject(context, value, nil)
        else { return fail(exception) }
        let arguments: [JSValueRef?] = [host]
        guard
            let made = arguments.withUnsafeBufferPointer({ JSObjectCallAsFunction(context, factory, nil, 1, $0.baseAddress, &exception) }),
            exception == nil, let configure = JSValueToObject(context, made, nil)
        else { return fail(exception) }
        let runnerScript = JavaScriptValues.jsString(runnerSource)
        defer { JSStringRelease(runnerScript) }
        let drain: [JSValueRef?] = [JSObjectMakeFunctionWithCallback(context, nil, drainCallback)]
        guard let factory = JSEvaluateScript(context, runnerScript, nil, nil, 1, &exception).flatMap({ JSValueToObject(context, $0, nil) }),
            exception == nil,
            let made = drain.withUnsafeBufferPointer({ JSObjectCallAsFunction(context, factory, nil, 1, $0.baseAddress, &exception) }),
            exception == nil, let runner = JSValueToObject(context, made, nil)
        else { return fail(exception) }
        let keysScript = JavaScriptValues.jsString("Object.keys")
        defer { JSStringRelease(keysScript) }
        guard let ownKeys = JSEvaluateScript(context, keysScript, nil, nil, 1, &exception).flatMap({ JSValueToObject(context, $0, nil) }),
            exception == nil
        else { return fail(exception) }
        for value in [host, configure, runner, ownKeys] { JSValueProtect(context, value) }
        return .success(
            PreparedContext(group: group, context: context, host: host, configure: configure, runner: runner, ownKeys: ownKeys)
        )
    }
}

/// Fresh sandboxes made ahead of the turns that use them (issue 14): creating a global object and running the
/// prelude costs most of a JavaScript turn, so a thread of its own keeps a few ready, and a turn only configures
/// one. Every turn still gets a global object no script has run in, and gives it up after; nothing is reused,
/// so isolation is exactly as before. When none is ready (a burst), the turn makes its own.
final class ContextPool: @unchecked Sendable {
    static let shared = ContextPool()
    private let condition = NSCondition()
    private var ready: [PreparedContext] = []
    private var started = false
    /// How many sandboxes wait ready at most.
    private let capacity = 4

    /// A ready sandbox, or a new one made now.
    func take() -> Result<PreparedContext, SandboxSetupError> {
        condition.lock()
        if !started {
            started = true
            let thread = Thread { [self] in refill() }
            thread.name = "parley.js-pool"
            thread.stackSize = 1 << 20
            thread.start()
        }
        let made = ready.popLast()
        condition.signal()
        condition.unlock()
        if let made { return .success(made) }
        return PreparedContext.make()
    }

    private func refill() {
        while true {
            condition.lock()
            while ready.count >= capacity { condition.wait() }
            condition.unlock()
            switch PreparedContext.make() {
            case .success(let made):
                condition.lock()
                ready.append(made)
                condition.unlock()
            case .failure:
                // The turn that needs one reports the failure itself; do not spin.
                Thread.sleep(forTimeInterval: 1)
            }
        }
    }
}

/// Reuses JavaScriptCore virtual machines (context groups) across turns: creating one costs milliseconds,
/// a global object inside one a fraction of that. Each turn still gets a fresh global object, so no script
/// state is shared; a group is used by one runtime at a time.
private final class ContextGroupPool: @unchecked Sendable {
    static let shared = ContextGroupPool()
    private let lock = NSLock()
    private var idle: [JSContextGroupRef] = []
    private let capacity = 8

    func take() -> JSContextGroupRef {
        if let group = lock.withLock({ idle.popLast() }) { return group }
        let group: JSContextGroupRef = JSContextGroupCreate()
        // Promise jobs are drained by the runner of each call, never by JavaScriptCore (``MicrotaskControl``).
        MicrotaskControl.hold(group)
        return group
    }

    /// Takes a group back; one whose script was stopped by a limit (`reuse: false`) is released instead, and the
    /// memory it grew is given back with it.
    func give(_ group: JSContextGroupRef, reuse: Bool = true) {
        JSContextGroupClearExecutionTimeLimit(group)
        let kept = lock.withLock {
            guard reuse, idle.count < capacity else { return false }
            idle.append(group)
            return true
        }
        if !kept { JSContextGroupRelease(group) }
    }
}
