import CJavaScriptCore
import ParleyFlows

/// What a transformer hook call came to (DESIGN §5.7).
public struct HookCall: Sendable, Hashable {
    /// Which factory the script called: `webhook`, `rest` or `voiceCopilot`; nil when it called none.
    public var kind: String?
    /// Whether the script defines the hook; when it does not, Parley behaves as without a transformer.
    public var defined: Bool
    /// The hook's (awaited) result; nil for `undefined`.
    public var value: JSONValue?
    /// The session storages as the hook left them, by session (``SessionStorageKey``).
    public var storages: [SessionStorageKey: JSONValue]
    /// A session whose storage the hook asked for but was not given: load it and call again.
    public var wanted: SessionStorageKey?
}

/// A session of `getSessionStorage(userId, sessionId)`.
public struct SessionStorageKey: Sendable, Hashable {
    public var userId: String
    public var sessionId: String

    public init(userId: String, sessionId: String) {
        self.userId = userId
        self.sessionId = sessionId
    }

    fileprivate var joined: String { userId + "\n" + sessionId }
}

extension ScriptRuntime {
    /// Runs a transformer file and calls one of its hooks with `argument`, awaiting a returned promise.
    ///
    /// The file runs as the body of a function in this runtime's sandbox (seeded `Math.random`, fixed clock,
    /// the time limit), with `createWebhookTransformer`, `createRestTransformer`, `createVoiceCopilotTransformer`
    /// and `getSessionStorage(userId, sessionId)` in scope. `getSessionStorage` resolves to the stored object of
    /// a session in `storages`, which the hook may change in place; for any other session the hook is left
    /// pending and ``HookCall/wanted`` names the session, so the caller can load it and call again (the sandbox is
    /// deterministic, so the second call sees what the first did).
    ///
    /// - Returns: the call, or why the script threw, timed out or left its promise pending.
    public func callHook(
        source: String,
        hook: String,
        argument: JSONValue,
        storages: [SessionStorageKey: JSONValue]
    ) -> Result<HookCall, ScriptFailure> {
        guard let context = prepare() else { return .failure(.exception(setupFailure ?? "JavaScript is unavailable")) }
        let function: JSObjectRef
        switch compile(Self.hookWrapper(source)) {
        case .success(let compiled): function = compiled
        case .failure(let failure): return .failure(failure)
        }
        var byKey: [String: JSONValue] = [:]
        var keys: [String: SessionStorageKey] = [:]
        for (key, value) in storages {
            byKey[key.joined] = value
            keys[key.joined] = key
        }
        let arguments: [JSValueRef?] = [
            JavaScriptValues.make(argument, in: context), JavaScriptValues.make(byKey, in: context), JavaScriptValues.makeString(hook, in: context),
        ]
        var exception: JSValueRef?
        // The runner drains the promise jobs before the call returns, so `state` is settled unless the hook waits on
        // something that never resolves; those jobs count against the time limit (``ScriptBudget``).
        let result = invoke(function, arguments, exception: &exception)
        guard let result, exception == nil else { return .failure(failure(exception, lineOffset: Self.hookHeaderLines)) }
        let state: JSONValue?
        do throws(JavaScriptValues.ConversionError) {
            state = try JavaScriptValues.json(result, in: context, ownKeys: ownKeys)
        } catch {
            return .failure(limitFailure ?? .exception(error.message))
        }
        if let limitFailure { return .failure(limitFailure) }
        guard let state else { return .failure(.exception("the transformer's state was lost")) }
        var call = HookCall(kind: state["kind"]?.stringValue, defined: state["defined"] == .bool(true), value: nil, storages: [:], wanted: nil)
        for (joined, value) in state["stores"]?.objectValue ?? [:] {
            if let key = keys[joined] { call.storages[key] = value }
        }
        guard call.defined else { return .success(call) }
        if let error = state["error"]?.stringValue { return .failure(.exception(error)) }
        if state["done"] == .bool(true) {
            call.value = state["value"].flatMap { $0 == .null ? nil : $0 }
            return .success(call)
        }
        if let wanted = state["wanted"]?.arrayValue, wanted.count == 2, let userId = wanted[0].stringValue, let sessionId = wanted[1].stringValue {
            call.wanted = SessionStorageKey(userId: userId, sessionId: sessionId)
            return .success(call)
        }
        return .failure(.exception("the transformer's \(hook) returned a promise that never settled"))
    }

    /// Lines before the transformer's first line in ``hookWrapper(_:)``.
    static let hookHeaderLines = 12

    /// The transformer file as the body of `function (argument, stores, hook)`, returning its state object.
    static func hookWrapper(_ source: String) -> String {
        """
        (function (__argument, __stores, __hook) {
        var __hooks = null, __state = { kind: null, defined: false, done: false };
        function __register(kind) { return function (hooks) { __state.kind = kind; __hooks = hooks; return hooks; }; }
        var createWebhookTransformer = __register("webhook");
        var createRestTransformer = __register("rest");
        var createVoiceCopilotTransformer = __register("voiceCopilot");
        function getSessionStorage(userId, sessionId) {
          var key = String(userId) + "\\n" + String(sessionId);
          if (Object.prototype.hasOwnProperty.call(__stores, key)) return Promise.resolve(__stores[key]);
          if (!__state.wanted) __state.wanted = [String(userId), String(sessionId)];
          return new Promise(function () {});
        }
        \(source)
        ;
        __state.stores = __stores;
        if (!__hooks || typeof __hooks[__hook] !== "function") return __state;
        __state.defined = true;
        Promise.resolve().then(function () { return __hooks[__hook](__argument); }).then(
          function (value) { __state.done = true; __state.value = value === undefined ? null : value; },
          function (error) { __state.done = true; __state.error = String(error); });
        return __state;
        })
        """
    }
}
