/// The engine settings of `parley.yaml` (`engine: { codeTimeoutMs, maxStepsPerTurn }`).
public struct EngineConfiguration: Sendable, Hashable {
    /// How long one script call may run (1 s by default).
    public var codeTimeout: Duration
    /// How many nodes one turn may execute (1000 by default).
    public var maxStepsPerTurn: Int
    /// How many `goto`/`execute` hops one turn may make (4).
    public var maxHopsPerTurn: Int
    /// How many `api` calls one code node may make (100).
    public var maxAPICallsPerNode: Int

    public init(codeTimeout: Duration = .seconds(1), maxStepsPerTurn: Int = 1000, maxHopsPerTurn: Int = 4, maxAPICallsPerNode: Int = 100) {
        self.codeTimeout = codeTimeout
        self.maxStepsPerTurn = maxStepsPerTurn
        self.maxHopsPerTurn = maxHopsPerTurn
        self.maxAPICallsPerNode = maxAPICallsPerNode
    }
}
