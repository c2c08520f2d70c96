import Metrics

/// The service's swift-metrics handles; the server's Prometheus factory exports them.
///
/// - `parley_deliveries_total{outcome="delivered|retry|dead|paused"}`: attempts by what came of them (`paused`: the
///   receiver answered `410 Gone` and paused its endpoint).
/// - `parley_delivery_duration_seconds{outcome=...}`: how long one attempt took.
/// - `parley_delivery_lag_seconds`: from a message's commit to its delivery (retries included).
struct DeliveryMetrics: Sendable {
    enum Outcome: String, Sendable, CaseIterable {
        case delivered, retry, dead, paused
    }

    private let counters: [Outcome: Counter]
    private let durations: [Outcome: Metrics.Timer]
    private let lag: Metrics.Timer

    /// Creates the handles; bootstrap the metrics system before, or they record nothing.
    init() {
        var counters: [Outcome: Counter] = [:]
        var durations: [Outcome: Metrics.Timer] = [:]
        for outcome in Outcome.allCases {
            counters[outcome] = Counter(label: "parley_deliveries_total", dimensions: [("outcome", outcome.rawValue)])
            durations[outcome] = Metrics.Timer(label: "parley_delivery_duration_seconds", dimensions: [("outcome", outcome.rawValue)])
        }
        self.counters = counters
        self.durations = durations
        self.lag = Metrics.Timer(label: "parley_delivery_lag_seconds")
    }

    func record(_ outcome: Outcome, attemptNanoseconds: Int64, lagSeconds: Double?) {
        counters[outcome]?.increment()
        durations[outcome]?.recordNanoseconds(attemptNanoseconds)
        if let lagSeconds, lagSeconds >= 0 { lag.recordNanoseconds(Int64(min(lagSeconds, 1e9) * 1e9)) }
    }
}
