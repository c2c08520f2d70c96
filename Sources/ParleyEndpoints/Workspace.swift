import ParleyEngine
import ParleyFlows
import ParleyRuntime

/// An agent's copilot workspace (DESIGN §5.5): the grid from `setGrid`, the latest content of every tile, and the
/// call transcript with speakers. A value; the runtime commits it with each turn of a voice copilot session.
///
/// The JSON form is what `GET /copilot/state` returns:
/// `{"grid": {...} | null, "tiles": {"<id>": {"type", "text"?, "data"?, ..., "updatedAt", "unknown"?}},
///   "transcript": [{"speaker", "text"}], "interim": {"customer"?: ..., "agent"?: ...}}`.
public struct Workspace: Sendable, Hashable {
    public var grid: JSONValue?
    public var tiles: [String: JSONValue]
    public var transcript: [JSONValue]
    /// The latest interim (not yet final) text per speaker.
    public var interim: [String: JSONValue]

    public init(grid: JSONValue? = nil, tiles: [String: JSONValue] = [:], transcript: [JSONValue] = [], interim: [String: JSONValue] = [:]) {
        self.grid = grid
        self.tiles = tiles
        self.transcript = transcript
        self.interim = interim
    }

    public init(json: JSONValue?) {
        self.init(
            grid: json?["grid"].flatMap { $0 == .null ? nil : $0 },
            tiles: json?["tiles"]?.objectValue ?? [:],
            transcript: json?["transcript"]?.arrayValue ?? [],
            interim: json?["interim"]?.objectValue ?? [:]
        )
    }

    public var json: JSONValue {
        ["grid": grid ?? .null, "tiles": .object(tiles), "transcript": .array(transcript), "interim": .object(interim)]
    }

    /// An utterance arrived: a final one joins the transcript, an interim one replaces the speaker's interim line.
    public mutating func hear(_ text: String, speaker: String, final: Bool) {
        if final {
            transcript.append(["speaker": .string(speaker), "text": .string(text)])
            interim[speaker] = nil
        } else {
            interim[speaker] = .string(text)
        }
    }

    /// Applies a copilot node's tile update at `time`.
    ///
    /// `setGrid` replaces the layout (and re-checks which tiles are in it); `sendData` merges its `data` into the
    /// tile's `data`, keeping the tile's type; every other type replaces the tile's content. A tile id that the
    /// grid does not place is kept and flagged `"unknown": true`, as Cognigy warns about unknown tiles.
    public mutating func apply(_ update: TileUpdate, at time: String) {
        switch update.type {
        case "setGrid":
            grid = update.fields["grid"] ?? .null
            for id in tiles.keys { tiles[id] = flagged(id, tiles[id]!) }
        case "sendData":
            guard let id = update.tile else { return }
            var tile = tiles[id]?.objectValue ?? ["type": "html"]
            var data = tile["data"]?.objectValue ?? [:]
            if let incoming = update.fields["data"]?.objectValue {
                for (key, value) in incoming { data[key] = value }
                tile["data"] = .object(data)
            } else if let incoming = update.fields["data"] {
                tile["data"] = incoming
            }
            tile["updatedAt"] = .string(time)
            tiles[id] = flagged(id, .object(tile))
        default:
            guard let id = update.tile else { return }
            var tile = update.fields
            tile["type"] = .string(update.type)
            tile["updatedAt"] = .string(time)
            tiles[id] = flagged(id, .object(tile))
        }
    }

    /// A copy whose transcript and interim lines are masked as transcripts are under `disableSensitiveLogging`
    /// (the speakers stay, so the agent still sees who spoke when).
    public func maskingTranscript() -> Workspace {
        var copy = self
        copy.transcript = transcript.map { line in
            guard var object = line.objectValue else { return line }
            object["text"] = .string(TranscriptEntry.mask)
            return .object(object)
        }
        copy.interim = interim.mapValues { _ in .string(TranscriptEntry.mask) }
        return copy
    }

    private func flagged(_ id: String, _ tile: JSONValue) -> JSONValue {
        guard var object = tile.objectValue else { return tile }
        let placed = grid?["tiles"]?.objectValue?[id] != nil
        object["unknown"] = grid == nil || placed ? nil : true
        return .object(object)
    }
}
