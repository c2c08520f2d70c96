import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ParleyFlows
import ParleyTestRandom
import ParleyTestSupport
import Synchronization
import Testing

/// A seeded random-body fuzzer over every route that takes input, against a real `parley serve` process: extreme
/// numbers (±1e308, 5e-324, -0, 2^63), lone surrogates, NUL bytes, deep nesting, huge strings, wrong types, bytes
/// that are not UTF-8 or not JSON. After every request the answer must be below 500 and the process alive.
///
/// A failure names the seed and the round; `HostileBody.make` with the same seed replays it.
@Suite(.serialized) struct HostileInputFuzzTests {
    static let seed: UInt64 = 20_261_201
    static let rounds = 1200

    @Test func randomBodiesOnEveryRouteNeverGetAServerErrorNorStopTheServer() async throws {
        let receiver = try await WebhookReceiver.start()
        let folder = try TestDeployment.prepare(receiverPort: receiver.port)
        defer { try? FileManager.default.removeItem(at: folder) }
        let server = try await ServeProcessTests.Server.start(folder: folder)
        var random = SeededGenerator(seed: Self.seed)
        var statuses: [Int: Int] = [:]
        for round in 0..<Self.rounds {
            let request = HostileBody.request(round: round, using: &random)
            let status: Int
            do {
                status = try await HTTP.sendBytes(request.method, "\(server.base)\(request.path)", body: request.body, headers: request.headers)
            } catch {
                // A body over the limit may be refused before it is read: a closed connection is an answer, as
                // long as the server lives.
                #expect(request.body.count > 16_384, "round \(round): \(request.summary): \(error)")
                status = 0
            }
            statuses[status, default: 0] += 1
            #expect(status < 500, "seed \(Self.seed) round \(round): \(request.summary) answered \(status)")
            guard server.process.isRunning else {
                Issue.record("seed \(Self.seed) round \(round): \(request.summary) stopped the server: \(server.errors.text.withLock { $0 })")
                return
            }
        }
        // The run exercised both sides of the checks: accepted inputs and every kind of rejection.
        #expect(statuses[202, default: 0] >= 40, "\(statuses)")
        #expect(statuses[400, default: 0] > 300, "\(statuses)")
        #expect(try await HTTP.send(.get, "\(server.base)/health").status == 200)
        #expect(server.terminate() == 0)
        await receiver.stop()
    }
}

/// Builds the fuzzer's requests.
enum HostileBody {
    struct Request {
        var method: HTTPMethod
        var path: String
        var headers: [String: String]
        var body: [UInt8]

        var summary: String {
            let text = String(decoding: body.prefix(300), as: UTF8.self)
            return "\(method) \(path) \(headers) \(body.count) bytes: \(text)"
        }
    }

    /// A route and the fields its body has.
    struct Route {
        var method: HTTPMethod
        var path: String
        var fields: [String]
        var admin = false
    }

    static let admin = ["Authorization": "Bearer \(TestDeployment.adminToken)"]
    static let speech = ["call_sid", "from", "to", "direction", "speech", "channel_tag"]
    static let routes: [Route] = [
        Route(method: .POST, path: "/\(TestDeployment.webhookToken)", fields: ["userId", "sessionId", "text", "data"]),
        Route(method: .POST, path: "/\(TestDeployment.restToken)", fields: ["userId", "sessionId", "text", "data"]),
        Route(method: .POST, path: "/\(TestDeployment.keyedToken)", fields: ["userId", "sessionId", "text", "data"]),
        Route(method: .POST, path: "/\(TestDeployment.disabledToken)", fields: ["userId", "sessionId", "text"]),
        Route(method: .POST, path: "/\(TestDeployment.voiceToken)", fields: ["userId", "sessionId", "text", "speaker", "final", "data"]),
        Route(method: .POST, path: "/\(TestDeployment.voiceToken)", fields: speech),
        Route(method: .POST, path: "/inject/\(TestDeployment.webhookToken)", fields: ["userId", "sessionId", "text", "data"], admin: true),
        Route(method: .POST, path: "/notify/\(TestDeployment.webhookToken)", fields: ["userId", "sessionId", "text", "data"], admin: true),
        Route(method: .POST, path: "/handover/\(TestDeployment.agentToken)/message", fields: ["userId", "sessionId", "text", "data"], admin: true),
        Route(method: .POST, path: "/handover/\(TestDeployment.agentToken)/end", fields: ["userId", "sessionId", "status"], admin: true),
        Route(method: .POST, path: "/\(TestDeployment.deskToken)", fields: ["userId", "sessionId", "text", "data"]),
        Route(method: .POST, path: "/api/v1/endpoints/web/keys", fields: ["name"], admin: true),
        Route(method: .POST, path: "/api/v1/outbox/retry", fields: ["ids"], admin: true),
        Route(method: .GET, path: "/api/v1/sessions", fields: ["limit", "endpoint"], admin: true),
        Route(method: .GET, path: "/api/v1/outbox", fields: ["limit", "status"], admin: true),
        Route(method: .GET, path: "/copilot/state", fields: ["userId", "sessionId", "URLToken"], admin: true),
    ]

    static func request(round: Int, using random: inout SeededGenerator) -> Request {
        let route = routes[round % routes.count]
        var headers = route.admin ? admin : [:]
        switch Int.random(in: 0..<20, using: &random) {
        case 0: break  // no content type
        case 1: headers["Content-Type"] = "text/plain"
        case 2: headers["Content-Type"] = "Application/JSON ; charset=latin1"
        default: headers["Content-Type"] = "application/json"
        }
        if Int.random(in: 0..<8, using: &random) == 0 { headers["X-Webhook-Key"] = "pk_" + randomWord(using: &random) }
        if route.method == .GET {
            let query = route.fields.map { "\($0)=\(queryValue(using: &random))" }.joined(separator: "&")
            return Request(method: .GET, path: "\(route.path)?\(query)", headers: headers, body: [])
        }
        return Request(method: .POST, path: route.path, headers: headers, body: body(fields: route.fields, using: &random))
    }

    /// A body: mostly a JSON object of the route's fields with hostile values, sometimes bytes that are not JSON.
    static func body(fields: [String], using random: inout SeededGenerator) -> [UInt8] {
        switch Int.random(in: 0..<20, using: &random) {
        case 0: return Array((0..<Int.random(in: 0...64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) })
        case 1: return Array(#"{"userId":"u","sessionId":"s","text":"\#u{FF}"#.utf8) + [0xFF, 0xFE, 0x22, 0x7D]
        case 2: return Array(#"{"userId":"u","sessionId":"#.utf8)
        case 3: return Array(String(repeating: "[", count: Int.random(in: 400...4000, using: &random)).utf8)
        case 4: return Array(("{\"userId\":\"u\",\"sessionId\":\"s\",\"text\":\"" + String(repeating: "x", count: 20_000) + "\"}").utf8)
        default:
            var members: [String] = []
            for field in fields where Int.random(in: 0..<8, using: &random) > 0 {
                members.append("\"\(field)\":\(value(for: field, depth: 0, using: &random))")
            }
            if Int.random(in: 0..<6, using: &random) == 0 {
                members.append("\"\(randomWord(using: &random))\":\(value(for: "", depth: 0, using: &random))")
            }
            return Array(("{" + members.joined(separator: ",") + "}").utf8)
        }
    }

    static let numbers = [
        "1e308", "-1e308", "5e-324", "-5e-324", "-0", "0", "9223372036854775808", "-9223372036854775809", "18446744073709551616", "1e300",
        "-1e300", "1", "2", "1.5", "1e400", "123456789012345678901234567890",
    ]
    static let strings = [
        #""\ud800""#, #""\udfff x""#, #""\u0000""#, #""a\u0000b""#, #""""#, #"" ""#, #""customer""#, #""agent""#, #""completed""#,
        #""dead""#, #""pending""#, #""u1""#, #""s1""#, #""😀""#, #""\n\t""#, #""{{input.text}}""#, #""'; DROP TABLE inbox; --""#,
    ]

    /// A JSON value as text: plausible for the field five times in six, anything the sixth.
    static func value(for field: String, depth: Int, using random: inout SeededGenerator) -> String {
        if Int.random(in: 0..<6, using: &random) > 0 {
            switch field {
            case "userId", "sessionId", "call_sid", "from", "to", "name": return "\"\(randomWord(using: &random))\""
            case "text": return Int.random(in: 0..<8, using: &random) == 0 ? "\"\(String(repeating: "é", count: 8_001))\"" : "\"hello\""
            case "speaker": return Int.random(in: 0..<2, using: &random) == 0 ? "\"customer\"" : "\"agent\""
            case "status": return ["\"completed\"", "\"cancelled\"", "\"error\"", "\"done\""][Int.random(in: 0..<4, using: &random)]
            case "ids":
                return "["
                    + (0..<Int.random(in: 0...5, using: &random)).map { _ in numbers[Int.random(in: 0..<numbers.count, using: &random)] }.joined(
                        separator: ","
                    ) + "]"
            case "speech":
                let tag = numbers[Int.random(in: 0..<numbers.count, using: &random)]
                return #"{"is_final":true,"alternatives":[{"transcript":"hi","confidence":\#(tag)}],"channel_tag":\#(tag)}"#
            default: break
            }
        }
        switch Int.random(in: 0..<10, using: &random) {
        case 0, 1: return numbers[Int.random(in: 0..<numbers.count, using: &random)]
        case 2, 3: return strings[Int.random(in: 0..<strings.count, using: &random)]
        case 4: return ["true", "false", "null"][Int.random(in: 0..<3, using: &random)]
        case 5:
            let levels = Int.random(in: 1...700, using: &random)
            return String(repeating: "[", count: levels) + String(repeating: "]", count: levels)
        case 6:
            let levels = Int.random(in: 1...300, using: &random)
            return String(repeating: "{\"a\":", count: levels) + "1" + String(repeating: "}", count: levels)
        case 7 where depth < 3:
            return "["
                + (0..<Int.random(in: 0...4, using: &random)).map { _ in value(for: "", depth: depth + 1, using: &random) }.joined(separator: ",")
                + "]"
        case 8 where depth < 3:
            let keys = ["x", "", "__proto__", "constructor", "handover", "copilot", randomWord(using: &random)]
            return "{"
                + (0..<Int.random(in: 0...4, using: &random)).map { _ in
                    "\"\(keys[Int.random(in: 0..<keys.count, using: &random)])\":\(value(for: "", depth: depth + 1, using: &random))"
                }.joined(separator: ",") + "}"
        default: return "\"\(String(repeating: "z", count: Int.random(in: 0...12_000, using: &random)))\""
        }
    }

    static func queryValue(using random: inout SeededGenerator) -> String {
        let values = ["1", "0", "-1", "1000", "1001", "1e300", "abc", "%00", "%FF", "", "9223372036854775808", "dead", "web", "%E2%82%AC"]
        return values[Int.random(in: 0..<values.count, using: &random)]
    }

    static func randomWord(using random: inout SeededGenerator) -> String {
        let letters = Array("abcxyz019-_.")
        return String((0..<Int.random(in: 1...12, using: &random)).map { _ in letters[Int.random(in: 0..<letters.count, using: &random)] })
    }
}

extension HTTP {
    /// Sends raw bytes and returns the status only.
    static func sendBytes(_ method: HTTPMethod, _ url: String, body: [UInt8], headers: [String: String]) async throws -> Int {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if method != .GET { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(20))
        _ = try await response.body.collect(upTo: 1 << 22)
        return Int(response.status.code)
    }
}
