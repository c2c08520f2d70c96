import ParleyFlows

/// A message for the user (`{text, data}`), from `say`, a question prompt, a handover's text or `api.say`.
public struct Output: Sendable, Hashable, Codable {
    public var text: String?
    public var data: JSONValue?

    public init(text: String? = nil, data: JSONValue? = nil) {
        self.text = text
        self.data = data
    }

    /// `{text?, data?}`.
    public var json: JSONValue {
        var object: [String: JSONValue] = [:]
        if let text { object["text"] = .string(text) }
        if let data { object["data"] = data }
        return .object(object)
    }
}
