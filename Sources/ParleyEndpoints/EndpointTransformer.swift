import Foundation
import ParleyEngine
import ParleyFlows
import ParleyRuntime
import ParleyScript
import ParleyStore

/// An endpoint's JavaScript transformer (DESIGN §5.7), Cognigy's endpoint transformers: input hooks map a foreign
/// request body to Parley's `{userId, sessionId, text?, data?}`, `handleOutput` maps each delivery body, and
/// `handleExecutionFinished` maps a REST answer.
///
/// Hooks run in the code nodes' sandbox (no network, the time limit, seeded `Math.random`, a fixed clock), each
/// call in a fresh JavaScript global object, with `await getSessionStorage(userId, sessionId)`: a JSON object kept
/// with the session in the store.
public struct EndpointTransformer: Sendable {
    /// The hooks that map a request of a route.
    public enum InputHook: String, Sendable {
        case handleInput, handleInject, handleNotify

        /// The hook of a route: the endpoint URL, inject and notify have one; handover and copilot routes do not.
        public init?(route: ChannelRoute) {
            switch route {
            case .endpoint: self = .handleInput
            case .inject: self = .handleInject
            case .notify: self = .handleNotify
            case .handoverMessage, .handoverEnd, .copilotAction: return nil
            }
        }
    }

    /// What an input hook made of a request.
    public enum Mapped: Sendable, Hashable {
        /// The body to validate and store, as if the client had sent it, and the session storages the hook changed:
        /// save them (``save(_:to:)``) only once the input is accepted, so a rejected request changes nothing.
        case body(JSONObjectBody, changed: [SessionKey: JSONValue])
        /// The hook returned a falsy value: the request is answered `202` and nothing runs (its storage changes are
        /// kept: ignoring a request is a valid answer).
        case ignored(changed: [SessionKey: JSONValue])
        /// The transformer has no such hook: the request is taken as it is.
        case untransformed
    }

    /// Where the storages of `getSessionStorage` live.
    public struct Storage: Sendable {
        public var load: @Sendable (SessionKey) async throws -> JSONValue?
        public var save: @Sendable (SessionKey, JSONValue) async throws -> Void

        public init(
            load: @escaping @Sendable (SessionKey) async throws -> JSONValue?,
            save: @escaping @Sendable (SessionKey, JSONValue) async throws -> Void
        ) {
            self.load = load
            self.save = save
        }

        /// The store's session storage, as JSON text.
        public static func store(_ store: any Store) -> Storage {
            Storage(
                load: { key in try await store.sessionStorage(key).flatMap { try? JSONValue.parse($0) } },
                save: { key, value in try await store.saveSessionStorage(key, value.canonicalJSON, at: Date()) }
            )
        }
    }

    public let endpoint: Endpoint
    let source: String
    let limits: ScriptLimits

    public init(endpoint: Endpoint, source: String, limits: ScriptLimits) {
        self.endpoint = endpoint
        self.source = source
        self.limits = limits
    }

    /// How many times an input hook may ask for a session storage it was not given before it fails.
    static let maxStorageLoads = 4

    /// The `endpoint` argument of every hook.
    var endpointJSON: JSONValue {
        [
            "name": .string(endpoint.name), "type": .string(endpoint.kind.rawValue), "URLToken": .string(endpoint.urlToken),
            "flow": .string(endpoint.flow),
        ]
    }

    // MARK: Input hooks

    /// Runs an input hook on a request: `hook({endpoint, request: {body, headers, query}})`.
    ///
    /// - Throws: `500 transformer_failed` when the hook throws, times out or never settles; `400
    ///   invalid_transformer_result` when it returns something that is not an object.
    public func input(
        _ hook: InputHook,
        body: JSONValue,
        headers: [String: String],
        query: [String: String],
        now: Date,
        storage: Storage
    ) async throws -> Mapped {
        let argument: JSONValue = [
            "endpoint": endpointJSON,
            "request": ["body": body, "headers": .object(headers.mapValues(JSONValue.string)), "query": .object(query.mapValues(JSONValue.string))],
        ]
        var given: [SessionStorageKey: JSONValue] = [:]
        for _ in 0...Self.maxStorageLoads {
            let (limits, source, storages) = (limits, source, given)
            // JavaScript runs off the cooperative threads (``ScriptWork``).
            let result = await ScriptWork.run {
                ScriptRuntime(limits: limits, randomSeed: Self.seed(argument.canonicalJSON), currentTime: Runtime.timestamp(now))
                    .callHook(source: source, hook: hook.rawValue, argument: argument, storages: storages)
            }
            let call: HookCall
            switch result {
            case .success(let made): call = made
            case .failure(let failure): throw APIError.transformerFailed(hook.rawValue, failure.message)
            }
            guard call.defined else { return .untransformed }
            if let wanted = call.wanted {
                given[wanted] = try await storage.load(key(wanted)) ?? .emptyObject
                continue
            }
            var changed: [SessionKey: JSONValue] = [:]
            for (session, value) in call.storages where given[session] != value { changed[key(session)] = value }
            guard let value = call.value, value.isTruthy else { return .ignored(changed: changed) }
            guard let object = value.objectValue else {
                throw APIError.invalidTransformerResult("\(hook.rawValue) must return {userId, sessionId, text?, data?} or a falsy value")
            }
            return .body(JSONObjectBody(object), changed: changed)
        }
        throw APIError.transformerFailed(hook.rawValue, "getSessionStorage was called for more than \(Self.maxStorageLoads) sessions")
    }

    /// Saves the session storages an input hook changed. Whole objects, last writer wins (docs/transformers.md).
    public static func save(_ changed: [SessionKey: JSONValue], to storage: Storage) async throws {
        for (key, value) in changed { try await storage.save(key, value) }
    }

    // MARK: Output hooks

    /// What `handleOutput` made of one delivery body.
    public enum OutputResult: Sendable, Hashable {
        /// Deliver this body instead.
        case body(JSONValue)
        /// A falsy result: the output is not sent.
        case dropped
        /// No `handleOutput`: deliver Parley's body.
        case untransformed
        /// The hook failed: the message becomes a dead letter with this reason.
        case failed(String)
    }

    /// Runs `handleOutput({output, processedOutput, endpoint, userId, sessionId})` on one delivery body of a
    /// turn. `storage` is the session's storage, changed in place; the turn commits it. Deterministic: the seed and
    /// clock come from the turn.
    public func output(_ body: JSONValue, index: Int, outcome: TurnOutcome, storage: inout JSONValue?) -> OutputResult {
        let input = outcome.input
        let argument: JSONValue = [
            "output": body["AIOutput"] ?? body, "processedOutput": body, "endpoint": endpointJSON,
            "userId": .string(input.userId), "sessionId": .string(input.sessionId),
        ]
        let session = SessionStorageKey(userId: input.userId, sessionId: input.sessionId)
        let runtime = ScriptRuntime(limits: limits, randomSeed: Self.seed("\(input.traceId)-\(index)"), currentTime: input.currentTime)
        switch runtime.callHook(source: source, hook: "handleOutput", argument: argument, storages: [session: storage ?? .emptyObject]) {
        case .failure(let failure):
            return .failed("transformer_failed: handleOutput: \(failure.message)")
        case .success(let call):
            guard call.defined else { return .untransformed }
            if call.wanted != nil { return .failed("transformer_failed: handleOutput may read only its own session's storage") }
            if let changed = call.storages[session], changed != (storage ?? .emptyObject) { storage = changed }
            guard let value = call.value, value.isTruthy else { return .dropped }
            return .body(value)
        }
    }

    /// Runs a REST endpoint's `handleExecutionFinished({outputs, processedOutput, endpoint, userId, sessionId})`:
    /// the response body instead of Parley's answer (a falsy result keeps Parley's).
    public func executionFinished(_ answer: JSONValue, outcome: TurnOutcome, storage: Storage) async throws -> JSONValue {
        let input = outcome.input
        let argument: JSONValue = [
            "outputs": answer["outputStack"] ?? .array([]), "processedOutput": answer, "endpoint": endpointJSON,
            "userId": .string(input.userId), "sessionId": .string(input.sessionId),
        ]
        let session = SessionStorageKey(userId: input.userId, sessionId: input.sessionId)
        let before = try await storage.load(key(session)) ?? .emptyObject
        let (limits, source) = (limits, source)
        let result = await ScriptWork.run {
            ScriptRuntime(limits: limits, randomSeed: Self.seed(input.traceId), currentTime: input.currentTime)
                .callHook(source: source, hook: "handleExecutionFinished", argument: argument, storages: [session: before])
        }
        switch result {
        case .failure(let failure):
            throw APIError.transformerFailed("handleExecutionFinished", failure.message)
        case .success(let call):
            guard call.defined else { return answer }
            if call.wanted != nil { throw APIError.transformerFailed("handleExecutionFinished", "it may read only its own session's storage") }
            if let changed = call.storages[session], changed != before { try await storage.save(key(session), changed) }
            guard let value = call.value, value.isTruthy else { return answer }
            return value
        }
    }

    private func key(_ session: SessionStorageKey) -> SessionKey {
        SessionKey(endpoint: endpoint.name, userId: session.userId, sessionId: session.sessionId)
    }

    /// A 32-bit FNV-1a hash: the seed of `Math.random` for a call, fixed by what the call is about.
    static func seed(_ text: String) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return hash
    }
}

extension JSONValue {
    /// JavaScript truthiness of a JSON value (`null`, `false`, `0`, `""` are falsy).
    var isTruthy: Bool {
        switch self {
        case .null: false
        case .bool(let value): value
        case .string(let text): !text.isEmpty
        case .number(let number): number != 0 && !number.isNaN
        case .array, .object: true
        }
    }
}

extension APIError {
    /// A transformer hook returned something that is not a valid input (DESIGN §5.7).
    public static func invalidTransformerResult(_ problem: String) -> APIError {
        APIError(status: 400, code: "invalid_transformer_result", message: "the transformer's result is invalid: \(problem)")
    }

    /// A transformer input hook threw or timed out.
    public static func transformerFailed(_ hook: String, _ problem: String) -> APIError {
        APIError(status: 500, code: "transformer_failed", message: "the endpoint's transformer failed in \(hook): \(problem)")
    }
}
