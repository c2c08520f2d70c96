import ParleyEngine
import ParleyFlows
import ParleyStore

/// A session's recorded conversation, as `parley sessions export` writes it: JSON Lines, a header line
/// `{"parley":"transcript","version":1,"endpoint","flow","userId","sessionId","flowHash"}` and one line per turn.
public struct Transcript: Sendable, Hashable {
    public var endpoint: String
    /// The flow the session started in.
    public var flow: String
    public var userId: String
    public var sessionId: String
    /// The flow hash of the first turn.
    public var flowHash: String
    public var turns: [TranscriptEntry]

    public init(endpoint: String, flow: String, userId: String, sessionId: String, flowHash: String, turns: [TranscriptEntry]) {
        self.endpoint = endpoint
        self.flow = flow
        self.userId = userId
        self.sessionId = sessionId
        self.flowHash = flowHash
        self.turns = turns
    }

    /// Builds a transcript from stored rows; the start flow is the first turn's.
    public init(key: SessionKey, records: [TranscriptRecord]) throws(TranscriptError) {
        var turns: [TranscriptEntry] = []
        for record in records {
            guard let json = try? JSONValue.parse(record.entry) else { throw TranscriptError("turn \(record.turn) is not valid JSON") }
            turns.append(try TranscriptEntry(json: json))
        }
        self.init(
            endpoint: key.endpoint,
            flow: turns.first?.flow ?? "",
            userId: key.userId,
            sessionId: key.sessionId,
            flowHash: turns.first?.flowHash ?? "",
            turns: turns
        )
    }

    /// The JSON Lines text, ending with a newline.
    public var jsonLines: String {
        let header: JSONValue = [
            "parley": "transcript", "version": 1, "endpoint": .string(endpoint), "flow": .string(flow), "userId": .string(userId),
            "sessionId": .string(sessionId), "flowHash": .string(flowHash),
        ]
        return ([header] + turns.map(\.json)).map(\.canonicalJSON).joined(separator: "\n") + "\n"
    }

    /// Reads JSON Lines text.
    public init(jsonLines text: String) throws(TranscriptError) {
        // Lines end at "\n" (and "\r\n"): split on the bytes, not on Characters, which cost a grapheme walk
        // over every line, and which would also have split a line at a raw U+2028 inside a JSON string.
        let lines = text.utf8.split(separator: UInt8(ascii: "\n"))
            .map { line in Substring(line.last == UInt8(ascii: "\r") ? line.dropLast() : line) }
            .filter { !$0.allSatisfy(\.isWhitespace) }
        guard let first = lines.first, let header = try? JSONValue.parse(String(first)), header["parley"] == "transcript" else {
            throw TranscriptError("line 1: not a Parley transcript (expected a header with \"parley\":\"transcript\")")
        }
        guard header["version"] == 1 else {
            throw TranscriptError("line 1: unsupported transcript version \(header["version"]?.canonicalJSON ?? "null")")
        }
        guard let flow = header["flow"]?.stringValue else { throw TranscriptError("line 1: the header has no flow") }
        var turns: [TranscriptEntry] = []
        for (index, line) in lines.dropFirst().enumerated() {
            guard let json = try? JSONValue.parse(String(line)) else { throw TranscriptError("line \(index + 2): not valid JSON") }
            do {
                turns.append(try TranscriptEntry(json: json))
            } catch {
                throw TranscriptError("line \(index + 2): \(error)")
            }
        }
        self.init(
            endpoint: header["endpoint"]?.stringValue ?? "",
            flow: flow,
            userId: header["userId"]?.stringValue ?? "",
            sessionId: header["sessionId"]?.stringValue ?? "",
            flowHash: header["flowHash"]?.stringValue ?? "",
            turns: turns
        )
    }
}
