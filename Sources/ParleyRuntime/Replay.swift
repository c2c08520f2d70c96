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
        /// `outputs`, `events`, `session`, `effect N` (a request that differs) or `effects` (how many calls).
        public var aspect: String
        public var input: String
        public var recorded: [String]
        public var replayed: [String]
    }

    /// Where the replayed turns' effects get their answers.
    public enum Effects: Sendable {
        /// From the recording, in order, with no network; a request that differs from the recorded one diverges.
        case recorded
        /// Performed again through the deployment's connections (`parley replay --live --config F`).
        case live(any EffectPerformer)
    }

    public let engine: Engine

    public init(engine: Engine) {
        self.engine = engine
    }

    /// Replays every turn until the first difference.
    public func run(_ transcript: Transcript, effects: Effects = .recorded) async throws -> Result {
        var session = try engine.startSession(flow: transcript.flow)
        for (index, recorded) in transcript.turns.enumerated() {
            if recorded.redacted { return .redacted(turn: recorded.turn, replayed: index) }
            // The session expired and started again under the same id: so does the replay.
            if index > 0, recorded.input.execution == 1 { session = try engine.startSession(flow: recorded.flow) }
            let summary = Self.describe(recorded.input)
            var progress = try engine.start(recorded.input, session: session, profile: recorded.profileBefore)
            var used = 0
            while case .waiting(let effect, let pending) = progress {
                let result: EffectResult
                switch effects {
                case .live(let performer):
                    result = await performer.perform(effect, traceId: recorded.input.traceId).result
                case .recorded:
                    guard used < recorded.effects.count else {
                        return .diverged(
                            Divergence(
                                turn: recorded.turn,
                                aspect: "effects",
                                input: summary,
                                recorded: ["\(recorded.effects.count) calls"],
                                replayed: ["a call the recording does not have:"] + Self.requestLines(effect)
                            )
                        )
                    }
                    let record = recorded.effects[used]
                    if let difference = record.difference(from: effect) {
                        return .diverged(
                            Divergence(
                                turn: recorded.turn,
                                aspect: "effect \(used + 1) request",
                                input: summary,
                                recorded: difference.recorded,
                                replayed: difference.replayed
                            )
                        )
                    }
                    result = record.result
                }
                used += 1
                progress = pending.resume(with: result)
            }
            guard case .finished(let turn) = progress else { break }
            if case .recorded = effects, used < recorded.effects.count {
                return .diverged(
                    Divergence(
                        turn: recorded.turn,
                        aspect: "effects",
                        input: summary,
                        recorded: recorded.effects.map {
                            "\($0.kind.rawValue) \($0.connection) \($0.request["method"]?.stringValue ?? "") \($0.request["path"]?.stringValue ?? "")"
                        },
                        replayed: ["only \(used) of them"]
                    )
                )
            }
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

    static func requestLines(_ effect: Effect) -> [String] {
        JSONValue.object([
            "kind": .string(effect.kind.rawValue), "connection": .string(effect.connection), "method": .string(effect.method),
            "path": .string(effect.path), "body": effect.body ?? .null,
        ]).prettyLines
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
            let verb = divergence.aspect.hasSuffix("request") ? "differs" : "differ"
            var lines = ["turn \(divergence.turn) (\(divergence.input)): \(divergence.aspect) \(verb)"]
            lines += LineDiff.lines(from: divergence.recorded, to: divergence.replayed)
            return lines.joined(separator: "\n")
        }
    }
}

/// A line diff by longest common subsequence: `  ` kept, `- ` recorded only, `+ ` replayed only; unchanged runs
/// longer than the context around each change are folded into `  …`.
enum LineDiff {
    static func lines(from old: [String], to new: [String], context: Int = 3) -> [String] {
        let all = diff(from: old, to: new)
        let changed = all.indices.filter { !all[$0].hasPrefix("  ") }
        guard !changed.isEmpty, all.count > 2 * context + 1 else { return all }
        var keep = Set<Int>()
        for index in changed { keep.formUnion(max(0, index - context)...min(all.count - 1, index + context)) }
        var result: [String] = []
        var folded = false
        for index in all.indices {
            if keep.contains(index) {
                result.append(all[index])
                folded = false
            } else if !folded {
                result.append("  …")
                folded = true
            }
        }
        return result
    }

    private static func diff(from old: [String], to new: [String]) -> [String] {
        let n = old.count
        let m = new.count
        var table = Array(repeating: Array(repeating: 0, count: m + 1), count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                table[i][j] = old[i] == new[j] ? table[i + 1][j + 1] + 1 : max(table[i + 1][j], table[i][j + 1])
            }
        }
        var result: [String] = []
        var (i, j) = (0, 0)
        while i < n || j < m {
            if i < n, j < m, old[i] == new[j] {
                result.append("  " + old[i])
                i += 1
                j += 1
            } else if i < n, j == m || table[i + 1][j] >= table[i][j + 1] {
                result.append("- " + old[i])
                i += 1
            } else {
                result.append("+ " + new[j])
                j += 1
            }
        }
        return result
    }
}

extension Transcript {
    /// What the recorded model calls say of their connections (the model asked for), so that an offline replay shapes
    /// the same requests without the deployment's configuration.
    public var connectionProfiles: [String: ConnectionProfile] {
        var profiles: [String: ConnectionProfile] = [:]
        for turn in turns {
            for effect in turn.effects where profiles[effect.connection] == nil {
                let body = effect.request["body"]
                var profile = ConnectionProfile(kind: effect.kind.connectionKind, model: body?["model"]?.stringValue)
                if body?["max_completion_tokens"] != nil { profile.maxTokensField = "max_completion_tokens" }
                profiles[effect.connection] = profile
            }
        }
        return profiles
    }
}
