/// A reason the engine cannot run a turn at all: the caller passed something inconsistent.
///
/// Problems inside a turn (a script that throws, the loop guard) are not errors of this kind: they end the
/// turn with an `error` event and a trace entry.
public struct EngineError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of problem; stable, for programs.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate let name: String

        /// The session names a flow the flow set does not have.
        public static let unknownFlow = Code(name: "unknown_flow")
        /// The session was started on another version of the flows.
        public static let flowHashMismatch = Code(name: "flow_hash_mismatch")
        /// A stored session could not be read.
        public static let invalidSession = Code(name: "invalid_session")
        /// A conversation test file could not be read or parsed.
        public static let invalidTestFile = Code(name: "invalid_test_file")

        public var description: String { name }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
