import ParleyEngine
import ParleyFlows
import ParleyRuntime

/// `POST /copilot/action?userId=..&sessionId=..&URLToken=..` (DESIGN §5.5, *Actions*): an agent pressed an
/// Adaptive Card `Action.Submit` (or a button of an html tile) in the workspace. `{tile, data}` runs the
/// endpoint's flow with `channel: "copilot"`, `text: ""` and `data: {tile, ...data}`; the flow's answer goes the
/// endpoint's way.
public struct CopilotActionChannel: Channel {
    public init() {}

    public var name: String { "copilot" }

    /// The body's `tile` and `data`; the session comes from the query (``withSession(_:userId:sessionId:)``).
    public func input(_ body: JSONObjectBody, endpoint: Endpoint) throws(APIError) -> InboxRequest {
        let object = body.object
        let (userId, sessionId) = try UserMessage.session(object)
        guard case .string(let tile)? = object["tile"], !tile.isEmpty, UserMessage.idFits(tile),
            !UserMessage.hasControlCharacters(tile)
        else { throw .invalidField("tile", "must be a non-empty string of at most \(UserMessage.maxIdLength) bytes") }
        var data: [String: JSONValue] = [:]
        switch object["data"] {
        case nil, .null?: break
        case .object(let value)?: data = value
        default: throw .invalidField("data", "must be a JSON object")
        }
        data["tile"] = .string(tile)
        return InboxRequest(
            endpoint: endpoint.name,
            userId: userId,
            sessionId: sessionId,
            kind: .action,
            payload: InboxPayload(text: "", data: data, channel: name),
            traceIdPrefix: "endpoint-copilotAction"
        )
    }

    /// The action's body with the session of the workspace's query string (the page posts `{tile, data}` only).
    public static func withSession(_ body: JSONObjectBody, userId: String, sessionId: String) -> JSONObjectBody {
        var object = body.object
        object["userId"] = .string(userId)
        object["sessionId"] = .string(sessionId)
        return JSONObjectBody(object)
    }
}
