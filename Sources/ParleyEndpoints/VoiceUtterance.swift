import Foundation
import ParleyFlows

/// One transcript event posted to a voice copilot endpoint (DESIGN §5.5), in either accepted form:
///
/// - normalized: `{userId, sessionId, text, speaker: customer|agent, final?: bool (default true), data?}`;
/// - a voice gateway transcription hook, jambonz style: `{call_sid, from, to, direction?, speech: {is_final,
///   alternatives: [{transcript}], channel_tag?}, channel_tag?}`. The session is the call (`call_sid`), the user
///   is the caller on inbound calls (`from`) and the called party on outbound ones (`to`); channel 1 is the calling
///   party — the customer on inbound calls, the agent on outbound — channel 2 the other; no channel means the
///   customer. `docs/voice.md` documents the mapping.
public struct VoiceUtterance: Sendable, Hashable {
    public var userId: String
    public var sessionId: String
    public var text: String
    /// `customer` or `agent`.
    public var speaker: String
    /// Interim results update the transcript only; final ones run the flow.
    public var final: Bool
    public var data: [String: JSONValue]?

    public init(userId: String, sessionId: String, text: String, speaker: String, final: Bool = true, data: [String: JSONValue]? = nil) {
        self.userId = userId
        self.sessionId = sessionId
        self.text = text
        self.speaker = speaker
        self.final = final
        self.data = data
    }

    /// Parses and checks either form from raw bytes.
    public init(body: [UInt8]) throws(APIError) {
        try self.init(object: try UserMessage.object(body))
    }

    /// Parses and checks either form.
    init(object: [String: JSONValue]) throws(APIError) {
        if object["call_sid"] != nil || object["speech"] != nil {
            try self.init(jambonz: object)
        } else {
            try self.init(normalized: object)
        }
    }

    private init(normalized object: [String: JSONValue]) throws(APIError) {
        let (userId, sessionId) = try UserMessage.session(object)
        guard let text = object["text"]?.stringValue else { throw .invalidField("text", "must be a string") }
        guard UserMessage.textFits(text) else { throw .invalidField("text", "must be at most \(UserMessage.maxTextLength) characters (code points)") }
        guard let speaker = object["speaker"]?.stringValue, speaker == "customer" || speaker == "agent" else {
            throw .invalidField("speaker", "must be customer or agent")
        }
        var final = true
        switch object["final"] {
        case nil, .null?: break
        case .bool(let value)?: final = value
        default: throw .invalidField("final", "must be true or false")
        }
        var data: [String: JSONValue]?
        switch object["data"] {
        case nil, .null?: break
        case .object(let value)?: data = value
        default: throw .invalidField("data", "must be a JSON object")
        }
        if text.trimmingCharacters(in: .whitespaces).isEmpty, data == nil { throw .missingTextOrData }
        self.init(userId: userId, sessionId: sessionId, text: text, speaker: speaker, final: final, data: data)
    }

    private init(jambonz object: [String: JSONValue]) throws(APIError) {
        let call = try UserMessage.identifier(object, "call_sid")
        let outbound = object["direction"]?.stringValue?.lowercased() == "outbound"
        let party = outbound ? "to" : "from"
        let userId = try UserMessage.identifier(object, party)
        guard case .object(let speech)? = object["speech"] else { throw .invalidField("speech", "must be an object") }
        guard let alternatives = speech["alternatives"]?.arrayValue, let first = alternatives.first?.objectValue,
            let text = first["transcript"]?.stringValue
        else { throw .invalidField("speech.alternatives", "must hold at least one {transcript}") }
        guard UserMessage.textFits(text) else {
            throw .invalidField("speech.alternatives", "the transcript must be at most \(UserMessage.maxTextLength) characters")
        }
        if text.trimmingCharacters(in: .whitespaces).isEmpty { throw .missingTextOrData }
        let final: Bool
        switch speech["is_final"] {
        case nil, .null?: final = true
        case .bool(let value)?: final = value
        default: throw .invalidField("speech.is_final", "must be true or false")
        }
        let channel: Int?
        switch (speech["channel_tag"], object["channel_tag"]) {
        case (nil, nil), (.null?, _), (nil, .null?): channel = nil
        case (let tag?, _), (nil, let tag?):
            // A wire number: 1e300 or 2.5 is a bad request, not a trap.
            guard let whole = tag.integer(in: 0...Int(Int32.max)) else {
                throw .invalidField(speech["channel_tag"] == nil ? "channel_tag" : "speech.channel_tag", "must be a whole number (1 or 2)")
            }
            channel = whole
        }
        let callingParty = outbound ? "agent" : "customer"
        let otherParty = outbound ? "customer" : "agent"
        let speaker = channel == 2 ? otherParty : (channel == 1 ? callingParty : "customer")
        var data: [String: JSONValue] = ["callSid": .string(call)]
        if let confidence = first["confidence"] { data["confidence"] = confidence }
        self.init(userId: userId, sessionId: call, text: text, speaker: speaker, final: final, data: data)
    }
}
