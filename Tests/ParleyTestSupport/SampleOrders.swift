import ParleyEngine
import ParleyFlows
import ParleyRuntime

/// The sample orders API's answers (`Samples/orders_api.py`), in process: an effect performer for runtime tests
/// and crash drills that run the sample flows without a network. `http` effects on the `orders` connection get the
/// order as JSON or a 404; every other effect fails, as it would without connections.
public struct SampleOrders: EffectPerformer {
    public static let orders: [String: JSONValue] = [
        "AB123456": ["orderId": "AB123456", "status": "shipped", "label": "on its way", "carrier": "DHL", "eta": "2024-06-14", "items": 2],
        "CD654321": ["orderId": "CD654321", "status": "packing", "label": "being packed", "carrier": nil, "eta": "2024-06-17", "items": 1],
        "EF111222": ["orderId": "EF111222", "status": "delivered", "label": "delivered", "carrier": "UPS", "eta": nil, "items": 3],
    ]

    public init() {}

    public func perform(_ effect: Effect, traceId: String) async -> PerformedEffect {
        let result: EffectResult
        if effect.kind == .http, effect.connection == "orders", effect.path.hasPrefix("/orders/") {
            let id = String(effect.path.dropFirst("/orders/".count)).uppercased()
            result =
                Self.orders[id].map { .response(status: 200, headers: ["content-type": "application/json"], body: $0) }
                ?? .response(status: 404, headers: ["content-type": "application/json"], body: ["error": "no such order"])
        } else {
            result = .failure("connection '\(effect.connection)' is unknown here")
        }
        return PerformedEffect(
            result: result,
            record: EffectRecord(effect: effect, url: "http://127.0.0.1:9100/api\(effect.path)", headers: [], result: result, ms: 1)
        )
    }
}
