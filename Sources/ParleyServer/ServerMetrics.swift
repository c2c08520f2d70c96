import ParleyStore
import Prometheus
import Synchronization

/// The server's Prometheus metrics (DESIGN §5.6 and issue 5): requests by endpoint and status, turn latency,
/// outbox depth and dead letters. Deliveries by outcome come from the delivery loop through swift-metrics, which
/// `parley serve` bootstraps onto the same registry.
public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let turnDuration: DurationHistogram
    let outboxDepth: Gauge
    let deadLetters: Gauge
    let deadInputs: Gauge

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        turnDuration = registry.makeDurationHistogram(
            name: "parley_turn_duration_seconds",
            buckets: [
                .microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(50),
                .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5),
            ],
            help: "Time from reading a session to committing its turn"
        )
        outboxDepth = registry.makeGauge(name: "parley_outbox_depth", help: "Messages waiting to be delivered")
        deadLetters = registry.makeGauge(name: "parley_dead_letters", help: "Messages that gave up (dead letters)")
        deadInputs = registry.makeGauge(name: "parley_dead_inputs", help: "Inputs whose turn failed too often (dead inputs)")
        // Both reload counters exist from the start, so a dashboard sees 0 rather than no series.
        _ = reloadCounter(.applied)
        _ = reloadCounter(.rejected)
    }

    /// What came of a flow reload (SIGHUP or `--watch`).
    public enum ReloadOutcome: String, Sendable, CaseIterable {
        /// The new flows serve new sessions.
        case applied
        /// The new flows did not validate or did not serve every endpoint; the previous ones keep serving.
        case rejected
    }

    /// Counts a reload by outcome: `parley_flow_reloads_total{outcome="applied|rejected"}`.
    func reload(_ outcome: ReloadOutcome) {
        reloadCounter(outcome).increment()
    }

    private func reloadCounter(_ outcome: ReloadOutcome) -> Counter {
        registry.makeCounter(
            name: "parley_flow_reloads_total",
            labels: [("outcome", outcome.rawValue)],
            help: "Flow reloads by outcome; a rejected reload leaves the previous flows serving"
        )
    }

    /// `parley_endpoint_paused{endpoint}`: 1 while the endpoint's deliveries are paused (a `410 Gone` or an operator),
    /// else 0.
    func paused(endpoint: String, _ paused: Bool) {
        registry.makeGauge(
            name: "parley_endpoint_paused",
            labels: [("endpoint", endpoint)],
            help: "1 while an endpoint's deliveries are paused (its messages are kept)"
        ).set(to: paused ? 1 : 0)
    }

    /// Counts a request to an endpoint route.
    func request(endpoint: String, status: Int) {
        registry.makeCounter(
            name: "parley_requests_total",
            labels: [("endpoint", endpoint), ("status", String(status))],
            help: "Endpoint requests by endpoint and status"
        ).increment()
    }

    /// Counts rows retention removed: `parley_retention_pruned_total{kind}`.
    func pruned(_ counts: PruneCounts) {
        let kinds = [
            ("inbox", counts.inbox), ("deadInputs", counts.deadInputs), ("delivered", counts.delivered),
            ("deadLetters", counts.deadMessages), ("transcripts", counts.transcripts), ("sessions", counts.sessions),
        ]
        for (kind, count) in kinds where count > 0 {
            registry.makeCounter(name: "parley_retention_pruned_total", labels: [("kind", kind)], help: "Rows removed by retention, by kind")
                .increment(by: Int64(count))
        }
    }

    /// Counts inputs whose turn failed: `parley_input_failures_total{outcome="retry|dead"}`.
    public func inputFailed(dead: Bool) {
        registry.makeCounter(
            name: "parley_input_failures_total",
            labels: [("outcome", dead ? "dead" : "retry")],
            help: "Inputs whose turn could not be loaded, run or committed, by what happens next"
        ).increment()
    }
}
