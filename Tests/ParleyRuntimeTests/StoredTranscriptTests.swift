import Foundation
import ParleyEngine
import ParleyFlows
import ParleyRuntime
import Testing

/// Transcripts are files users edit and rows the store returns: impossible numbers in them are errors, not traps.
@Suite struct StoredTranscriptTests {
    static let header = #"{"endpoint":"e","flow":"f","flowHash":"sha256:x","parley":"transcript","sessionId":"s","userId":"u","version":1}"#

    static func row(turn: String, execution: String) -> String {
        #"{"events":[],"flow":"f","flowHash":"sha256:x","input":{"currentTime":"2025-01-01T00:00:00.000Z","execution":"#
            + execution + #","sessionId":"s","text":"hi","userId":"u"},"outputs":[],"profileBefore":{},"redacted":false,"#
            + #""sessionDigest":"sha256:y","trace":[],"traceId":"t","turn":"# + turn + "}"
    }

    @Test func aPlainRowReads() throws {
        let transcript = try Transcript(jsonLines: Self.header + "\n" + Self.row(turn: "1", execution: "1"))
        #expect(transcript.turns.map(\.turn) == [1])
        #expect(transcript.turns.map(\.input.execution) == [1])
    }

    /// Lines end at "\n" or "\r\n" only: a raw line or paragraph separator inside a JSON string is part of it, and
    /// blank lines are skipped.
    @Test func linesEndAtLineFeedsOnly() throws {
        let row = Self.row(turn: "1", execution: "1").replacingOccurrences(of: #""text":"hi""#, with: "\"text\":\"a\u{2028}b\u{2029}c\u{85}d\"")
        let text = Self.header + "\r\n\n  \n" + row + "\r\n" + Self.row(turn: "2", execution: "2") + "\n"
        let transcript = try Transcript(jsonLines: text)
        #expect(transcript.turns.map(\.turn) == [1, 2])
        #expect(transcript.turns.first?.input.text == "a\u{2028}b\u{2029}c\u{85}d")
    }

    @Test(arguments: [("1e300", "1"), ("-1", "1"), ("1.5", "1"), ("1", "1e300"), ("1", "-5"), ("1", "9223372036854775808")])
    func impossibleNumbersAreTranscriptErrors(turn: String, execution: String) {
        #expect(throws: TranscriptError.self) { try Transcript(jsonLines: Self.header + "\n" + Self.row(turn: turn, execution: execution)) }
    }
}
