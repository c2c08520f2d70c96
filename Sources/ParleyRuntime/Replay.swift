import ParleyEngine
import ParleyFlows

/// Re-runs a recorded conversation against flows and compares, turn by turn, the outputs, the events and the
/// digest of the resulting session (DESIGN §4, `parley replay`).
///
/// The replay starts a fresh session on the transcript's flow and feeds each recorded input with its recorded
/// time, trace id and execution count, and the recorded profile, so a deterministic engine gives the same turn
/// unless the flows changed.
public struct Replay: Sendable {
    /// How a replay ended.
    public enum Result: Sendable, Hashable {
        /// Every turn matched.
        case identical(turns: Int)
        /// The first turn that differed.
        case diverged(Divergence)
        /// A turn was recorded with sensitive logging disabled: its input is masked and cannot be replayed.
        case redacted(turn: Int, replayed: Int)
    }

    /// The first difference found.
    public struct Divergence: Sendable, Hashable {
        public var turn: Int
        /// `outputs`, `events` or `session`.
        public var aspect: String
        public var input: String
        public var recorded: [String]
        public var replayed: [String]
    }

    public let engine: Engine

    public init(engine: Engine) {
        self.engine = engine
    }

    /// Replays every turn until the first difference.
    public func run(_ transcript: Transcript) throws -> Result {
        var session = try engine.startSession(flow: transcript.flow)
        for (index, recorded) in transcript.turns.enumerated() {
            if recorded.redacted { return .redacted(turn: recorded.turn, replayed: index) }
            // The session expired and started again under the same id: so does the replay.
            if index > 0, recorded.input.execution == 1 { session = try engine.startSession(flow: recorded.flow) }
            let turn = try engine.run(recorded.input, session: session, profile: recorded.profileBefore)
            let summary = Self.describe(recorded.input)
            let recordedOutputs = recorded.outputs.map { $0.json.canonicalJSON }
            let replayedOutputs = turn.outputs.map { $0.json.canonicalJSON }
            if recordedOutputs != replayedOutputs {
                return .diverged(
                    Divergence(turn: recorded.turn, aspect: "outputs", input: summary, recorded: recordedOutputs, replayed: replayedOutputs)
                )
            }
            let recordedEvents = recorded.events.map { $0.json.canonicalJSON }
            let replayedEvents = turn.events.map { $0.json.canonicalJSON }
            if recordedEvents != replayedEvents {
                return .diverged(
                    Divergence(turn: recorded.turn, aspect: "events", input: summary, recorded: recordedEvents, replayed: replayedEvents)
                )
            }
            if TranscriptEntry.digest(of: turn.session) != recorded.sessionDigest {
                return .diverged(
                    Divergence(
                        turn: recorded.turn,
                        aspect: "session",
                        input: summary,
                        recorded: ["digest \(recorded.sessionDigest)"],
                        replayed: [
                            "digest \(TranscriptEntry.digest(of: turn.session))", "context \(JSONValue.object(turn.session.context).canonicalJSON)",
                        ]
                    )
                )
            }
            session = turn.session
        }
        return .identical(turns: transcript.turns.count)
    }

    private static func describe(_ input: Input) -> String {
        if let handover = input.handover { return "handover \(handover.status.rawValue)" }
        var parts = ["user \(JSONValue.string(input.text).canonicalJSON)"]
        if !input.data.isEmpty { parts.append("data \(JSONValue.object(input.data).canonicalJSON)") }
        return parts.joined(separator: ", ")
    }
}

extension Replay.Result {
    /// What `parley replay` prints.
    public var report: String {
        switch self {
        case .identical(let turns):
            return "replayed \(turns) turns, identical"
        case .redacted(let turn, let replayed):
            return "turn \(turn) was recorded with sensitive logging disabled; its input is masked and cannot be replayed "
                + "(\(replayed) turns replayed identically before it)"
        case .diverged(let divergence):
            var lines = ["turn \(divergence.turn) (\(divergence.input)): \(divergence.aspect) differ"]
            let count = max(divergence.recorded.count, divergence.replayed.count)
            for index in 0..<count {
                let old = index < divergence.recorded.count ? divergence.recorded[index] : nil
                let new = index < divergence.replayed.count ? divergence.replayed[index] : nil
                if old == new, let old {
                    lines.append("  \(old)")
                    continue
                }
                if let old { lines.append("- \(old)") }
                if let new { lines.append("+ \(new)") }
            }
            return lines.joined(separator: "\n")
        }
    }
}
