import ParleyFlows
import ParleyScript

/// Checks an endpoint transformer at load (DESIGN §5.7): its syntax, and that it calls the factory of its endpoint's
/// type (`createWebhookTransformer` on a webhook endpoint...). Errors point into the JavaScript file.
enum TransformerCheck {
    static func factory(of kind: Endpoint.Kind) -> String {
        switch kind {
        case .webhook: "createWebhookTransformer"
        case .rest: "createRestTransformer"
        case .voiceCopilot: "createVoiceCopilotTransformer"
        }
    }

    static func problems(_ transformer: Endpoint.Transformer, endpoint: Endpoint) -> [Diagnostic] {
        let file = SourceLocation(file: transformer.file, line: 1, column: 1)
        let site = ScriptSite(kind: .statements, source: transformer.source, nodeId: "transformer", origin: TextOrigin(start: file, indent: 0))
        if let error = JavaScriptSyntaxChecker().syntaxError(in: site) {
            return [
                Diagnostic(.error, .scriptSyntax, error.message, at: SourceLocation(file: transformer.file, line: error.line, column: error.column))
            ]
        }
        // Running the file registers its hooks and nothing else: the sandbox has no network, files or clock.
        let runtime = ScriptRuntime(limits: ScriptLimits(timeLimit: .seconds(1)), randomSeed: 0, currentTime: "1970-01-01T00:00:00Z")
        let expected = factory(of: endpoint.kind)
        switch runtime.callHook(source: transformer.source, hook: "", argument: .null, storages: [:]) {
        case .failure(let failure):
            return [Diagnostic(.error, .invalidValue, "the transformer fails when it loads: \(failure.message)", at: file)]
        case .success(let call):
            guard call.kind == endpoint.kind.rawValue else {
                let called = call.kind.map { "calls the \($0) factory" } ?? "calls no transformer factory"
                return [
                    Diagnostic(
                        .error,
                        .invalidValue,
                        "endpoint '\(endpoint.name)' is \(endpoint.kind.rawValue): its transformer must call \(expected)({...}), but it \(called)",
                        at: transformer.location
                    )
                ]
            }
            return []
        }
    }
}
