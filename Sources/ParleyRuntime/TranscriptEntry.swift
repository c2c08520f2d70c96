import ParleyEngine
import ParleyFlows

/// One recorded turn, as stored in the transcript and exported as a JSON Lines row (DESIGN §4).
///
/// Holds what replay needs to re-run the turn (the input, the profile before it, the flow hash) and what it
/// compares (outputs, events, the digest of the resulting session), plus the trace for people.
public struct TranscriptEntry: Sendable, Hashable {
    /// 1-based position in the session.
    public var turn: Int
    public var traceId: String
    /// The flow set hash the turn ran on.
    public var flowHash: String
    /// The session's entry flow before the turn (for turn 1: the flow the session started in).
    public var flow: String
    public var input: Input
    /// The user's profile before the turn.
    public var profileBefore: [String: JSONValue]
    public var outputs: [Output]
    public var events: [Event]
    public var trace: [TraceEntry]
    /// ``digest(of:)`` of the session after the turn.
    public var sessionDigest: String
    /// True when text and data are masked: such a turn cannot be replayed.
    public var redacted: Bool
    /// The calls the turn made, in order, with their answers (masked): replay answers from them.
    public var effects: [EffectRecord]

    public init(
        turn: Int,
        traceId: String,
        flowHash: String,
        flow: String,
        input: Input,
        profileBefore: [String: JSONValue],
        outputs: [Output],
        events: [Event],
        trace: [TraceEntry],
        sessionDigest: String,
        redacted: Bool = false,
        effects: [EffectRecord] = []
    ) {
        self.turn = turn
        self.traceId = traceId
        self.flowHash = flowHash
        self.flow = flow
        self.input = input
        self.profileBefore = profileBefore
        self.outputs = outputs
        self.events = events
        self.trace = trace
        self.sessionDigest = sessionDigest
        self.redacted = redacted
        self.effects = effects
    }

    /// The digest a transcript records for a session: ``Session/digest`` with the flow hash left out, since the
    /// hash is recorded beside it and a replay against changed flows compares what the session holds.
    public static func digest(of session: Session) -> String {
        var state = session
        state.flowHash = ""
        return state.digest
    }

    /// The text that stands in for masked content.
    public static let mask = "***"

    /// The entry with every user-provided or user-derived text and data masked, and script log lines dropped:
    /// what is stored when `disableSensitiveLogging` is set.
    public var redactedCopy: TranscriptEntry {
        var copy = self
        copy.redacted = true
        copy.input.text = input.text.isEmpty ? "" : Self.mask
        copy.input.data = input.data.isEmpty ? [:] : ["redacted": .string(Self.mask)]
        copy.profileBefore = [:]
        copy.outputs = outputs.map { Output(text: $0.text.map { _ in Self.mask }, data: $0.data.map { _ in .string(Self.mask) }) }
        copy.events = events.map(Self.redact)
        copy.trace = trace.map {
            var entry = $0
            entry.notes = []
            return entry
        }
        copy.effects = effects.map(\.redacted)
        return copy
    }

    private static func redact(_ event: Event) -> Event {
        switch event {
        case .handover(var request):
            request.text = request.text.map { _ in mask }
            request.data = request.data.map { _ in .string(mask) }
            return .handover(request)
        case .copilot(var update):
            update.fields = update.fields.mapValues { _ in .string(mask) }
            return .copilot(update)
        case .ended, .error:
            return event
        }
    }

    /// The JSON row; keys sorted, so the same entry is always the same text.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "turn": .number(Double(turn)), "traceId": .string(traceId), "flowHash": .string(flowHash), "flow": .string(flow),
            "input": input.transcriptJSON,
            "profileBefore": .object(profileBefore), "outputs": .array(outputs.map(\.json)), "events": .array(events.map(\.json)),
            "trace": .array(trace.map(\.json)), "sessionDigest": .string(sessionDigest), "redacted": .bool(redacted),
        ]
        // Turns without calls keep the form they had before effects existed.
        if !effects.isEmpty { object["effects"] = .array(effects.map(\.json)) }
        return .object(object)
    }

    /// Reads the form ``json`` writes.
    public init(json: JSONValue) throws(TranscriptError) {
        guard let turn = json["turn"]?.integer(in: 0...Int.max), let traceId = json["traceId"]?.stringValue,
            let flowHash = json["flowHash"]?.stringValue, let inputJSON = json["input"], let digest = json["sessionDigest"]?.stringValue
        else { throw TranscriptError("a transcript row needs turn (a whole number), traceId, flowHash, input and sessionDigest") }
        self.turn = turn
        self.traceId = traceId
        self.flowHash = flowHash
        self.flow = json["flow"]?.stringValue ?? ""
        self.input = try Input(transcriptJSON: inputJSON)
        self.profileBefore = json["profileBefore"]?.objectValue ?? [:]
        self.outputs = (json["outputs"]?.arrayValue ?? []).map { Output(text: $0["text"]?.stringValue, data: $0["data"]) }
        do {
            self.events = try (json["events"]?.arrayValue ?? []).map { try Event(json: $0) }
        } catch {
            throw TranscriptError("turn \(turn): \(error)")
        }
        self.trace = (json["trace"]?.arrayValue ?? []).map { TraceEntry(transcriptJSON: $0) }
        self.sessionDigest = digest
        self.redacted = json["redacted"]?.boolValue ?? false
        var effects: [EffectRecord] = []
        for (index, item) in (json["effects"]?.arrayValue ?? []).enumerated() {
            do {
                effects.append(try EffectRecord(json: item))
            } catch {
                throw TranscriptError("turn \(turn), effect \(index + 1): \(error)")
            }
        }
        self.effects = effects
    }
}

/// A transcript that cannot be read.
public struct TranscriptError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

extension Input {
    /// Every field, `handover` included, for transcripts.
    var transcriptJSON: JSONValue { .object(json) }

    init(transcriptJSON json: JSONValue) throws(TranscriptError) {
        guard let userId = json["userId"]?.stringValue, let sessionId = json["sessionId"]?.stringValue,
            let currentTime = json["currentTime"]?.stringValue
        else { throw TranscriptError("a recorded input needs userId, sessionId and currentTime") }
        guard let execution = (json["execution"] ?? 0).integer(in: 0...(Int.max - 1)) else {
            throw TranscriptError("a recorded input's execution must be a whole number from 0")
        }
        self.init(
            text: json["text"]?.stringValue ?? "",
            data: json["data"]?.objectValue ?? [:],
            userId: userId,
            sessionId: sessionId,
            channel: json["channel"]?.stringValue ?? "rest",
            endpoint: json["endpoint"]?.stringValue ?? "",
            urlToken: json["URLToken"]?.stringValue ?? "",
            mode: json["mode"]?.stringValue,
            traceId: json["traceId"]?.stringValue ?? "",
            execution: execution,
            currentTime: currentTime,
            speaker: json["speaker"]?.stringValue,
            handover: json["handover"]?["status"]?.stringValue.flatMap(HandoverEnd.Status.init(rawValue:)).map(HandoverEnd.init(status:))
        )
    }
}

extension TraceEntry {
    init(transcriptJSON json: JSONValue) {
        let target = json["target"].flatMap { target -> NodeAddress? in
            guard let flow = target["flow"]?.stringValue, let node = target["node"]?.stringValue else { return nil }
            return NodeAddress(flow: flow, node: node)
        }
        let notes = (json["notes"]?.arrayValue ?? []).map {
            TraceNote(level: $0["level"]?.stringValue ?? "info", message: $0["message"]?.stringValue ?? "")
        }
        self.init(
            flow: json["flow"]?.stringValue ?? "",
            node: json["node"]?.stringValue ?? "",
            kind: json["kind"]?.stringValue ?? "",
            outcome: json["outcome"]?.stringValue ?? "",
            target: target,
            error: json["error"]?.stringValue,
            notes: notes
        )
    }
}
