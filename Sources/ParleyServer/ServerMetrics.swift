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
    }

    /// Counts a request to an endpoint route.
    func request(endpoint: String, status: Int) {
        registry.makeCounter(
            name: "parley_requests_total",
            labels: [("endpoint", endpoint), ("status", String(status))],
            help: "Endpoint requests by endpoint and status"
        ).increment()
    }
}
