import Foundation
import ParleyEndpoints
import ParleyEngine
import ParleyFlows
import ParleyRuntime
import ParleyScript
import ParleyStore
import Testing

/// The channels' mappings as values: request body → input, turn → deliveries and workspace, with no server.
@Suite struct ChannelMappingTests {
    static let token = String(repeating: "a", count: 64)
    static let hook = Endpoint.Target(url: "http://127.0.0.1:9/hook")

    static func endpoint(_ kind: Endpoint.Kind, handover: Bool = false, sensitive: Bool = false) -> Endpoint {
        Endpoint(
            name: "e",
            kind: kind,
            urlToken: token,
            flow: "f",
            webhook: kind == .rest ? nil : hook,
            handover: handover ? Endpoint.Target(url: "http://127.0.0.1:9/agent") : nil,
            dataProtection: Endpoint.DataProtection(disableSensitiveLogging: sensitive)
        )
    }

    static func body(_ text: String) throws -> JSONObjectBody {
        try JSONObjectBody(bytes: Array(text.utf8))
    }

    static func outcome(
        _ endpoint: Endpoint,
        action: TurnAction = .runFlow,
        channel: String? = nil,
        text: String = "hi",
        outputs: [Output] = [Output(text: "hello")],
        events: [Event] = []
    ) -> TurnOutcome {
        let input = Input(
            text: text,
            userId: "u",
            sessionId: "s",
            channel: channel ?? endpoint.kind.rawValue,
            endpoint: endpoint.name,
            traceId: "t-1",
            currentTime: "2026-01-01T00:00:00Z",
            speaker: endpoint.kind == .voiceCopilot ? "customer" : nil
        )
        let session = Session(flowHash: "h", flow: "f")
        return TurnOutcome(
            action: action,
            endpoint: endpoint,
            input: input,
            before: session,
            turn: Turn(session: session, profile: [:], outputs: outputs, events: events, trace: [])
        )
    }

    static let tile = Event.copilot(TileUpdate(tile: "next", type: "nextAction", fields: ["text": "Offer a refund"]))

    @Test func theWebhookChannelMapsTheCognigyBodyAndChecksItsFields() throws {
        let channel = WebhookChannel()
        let input = try channel.input(try Self.body(#"{"userId":"u","sessionId":"s","text":"hi","data":{"a":1}}"#), endpoint: Self.endpoint(.webhook))
        #expect(input.userId == "u")
        #expect(input.payload.text == "hi")
        #expect(input.payload.data == ["a": 1])
        #expect(input.payload.channel == "webhook")
        #expect(input.kind == .message)
        #expect(throws: APIError.missingTextOrData) {
            try channel.input(try Self.body(#"{"userId":"u","sessionId":"s"}"#), endpoint: Self.endpoint(.webhook))
        }
        #expect(throws: APIError.invalidJSON("the body is not valid JSON")) { try JSONObjectBody(bytes: Array("nope".utf8)) }
    }

    /// Issue 25: limits count UTF-8 bytes (ids) and code points (texts), never grapheme clusters.
    @Test func lengthLimitsCountBytesAndCodePoints() throws {
        let channel = WebhookChannel()
        func body(user: String = "u", text: String) throws -> JSONObjectBody {
            try JSONObjectBody(bytes: Array(JSONValue.object(["userId": .string(user), "sessionId": "s", "text": .string(text)]).canonicalJSON.utf8))
        }
        let accents = String(repeating: "\u{301}", count: 400_000)
        #expect(throws: APIError.invalidField("userId", "must be at most 256 bytes (UTF-8)")) {
            try channel.input(try body(user: "a" + accents, text: "hi"), endpoint: Self.endpoint(.webhook))
        }
        #expect(throws: APIError.invalidField("text", "must be at most 10000 characters (code points)")) {
            try channel.input(try body(text: "b" + accents), endpoint: Self.endpoint(.webhook))
        }
        let fits = try channel.input(try body(user: String(repeating: "é", count: 128), text: String(repeating: "ü", count: 10_000)), endpoint: Self.endpoint(.webhook))
        #expect(fits.payload.text.unicodeScalars.count == 10_000)
        #expect(UserMessage.hasControlCharacters("a\u{202E}b"))
        #expect(UserMessage.hasControlCharacters("a\u{85}b"))
        #expect(!UserMessage.hasControlCharacters("Zoë 李"))
    }

    @Test func eachRouteHasItsChannel() throws {
        let directory = ChannelDirectory(endpoints: [Self.endpoint(.webhook)])
        let endpoint = try #require(directory.endpoint(token: Self.token.uppercased()))
        let names = ChannelRoute.allCases.map { directory.channel(for: $0, on: endpoint).name }
        #expect(names == ["webhook", "inject", "notify", "agent", "handover", "copilot"])
        #expect(directory.channel(of: Self.endpoint(.rest)).name == "rest")
        #expect(directory.channel(of: Self.endpoint(.voiceCopilot)).name == "voiceCopilot")
        #expect(directory.endpoint(named: "e")?.urlToken == Self.token)
        #expect(directory.endpoint(token: String(repeating: "b", count: 64)) == nil)
    }

    @Test func notifyHandoverAndActionInputsHaveTheirKinds() throws {
        let endpoint = Self.endpoint(.webhook)
        let message = try Self.body(#"{"userId":"u","sessionId":"s","text":"hi"}"#)
        #expect(try NotifyChannel().input(message, endpoint: endpoint).kind == .notify)
        #expect(try InjectChannel().input(message, endpoint: endpoint).payload.channel == "inject")
        #expect(try HandoverChannel().input(message, endpoint: endpoint).kind == .agentMessage)
        #expect(throws: APIError.invalidField("text", "is required for an agent's message")) {
            try HandoverChannel().input(try Self.body(#"{"userId":"u","sessionId":"s","data":{}}"#), endpoint: endpoint)
        }
        let end = try HandoverEndChannel().input(try Self.body(#"{"userId":"u","sessionId":"s","status":"completed"}"#), endpoint: endpoint)
        #expect(end.kind == .handoverEnd)
        #expect(end.payload.handover == .completed)
        let action = try CopilotActionChannel().input(
            CopilotActionChannel.withSession(
                try Self.body(#"{"tile":"offer","data":{"amount":"25","tile":"spoofed"}}"#),
                userId: "u",
                sessionId: "s"
            ),
            endpoint: endpoint
        )
        #expect(action.kind == .action)
        #expect(action.payload.channel == "copilot")
        #expect(action.payload.text == "")
        #expect(action.payload.data == ["tile": "offer", "amount": "25"])
        #expect(TurnAction(kind: InboxEntry.Kind.action.rawValue, handedOver: true) == .runFlow)
    }

    @Test func aWebhookTurnDeliversItsOutputsButNeverItsTiles() {
        let router = ChannelRouter(directory: ChannelDirectory(endpoints: []))
        let outcome = Self.outcome(Self.endpoint(.webhook), events: [Self.tile])
        let deliveries = router.deliveries(for: outcome)
        #expect(deliveries.map(\.destination) == [.webhook])
        #expect(deliveries.first?.body["AIOutput"]?["text"] == "hello")
        #expect(router.changesWorkspace(outcome))
        let workspace = router.workspace(after: outcome, previous: nil)
        #expect(workspace?.live["tiles"]?["next"]?["text"] == "Offer a refund")
        // A chat turn hears nothing: the transcript is the voice channel's.
        #expect(workspace?.live["transcript"] == .array([]))
        #expect(!router.changesWorkspace(Self.outcome(Self.endpoint(.webhook))))
    }

    @Test func aRESTTurnDeliversNothingAndAnswersWithTheStack() {
        let router = ChannelRouter(directory: ChannelDirectory(endpoints: []))
        let outcome = Self.outcome(
            Self.endpoint(.rest),
            outputs: [Output(text: "a", data: ["x": 1]), Output(text: "b", data: ["x": 2])],
            events: [Self.tile]
        )
        #expect(router.deliveries(for: outcome).isEmpty)
        let answer = RESTChannel().answer(to: outcome)
        #expect(answer["text"] == "a b")
        #expect(answer["data"] == ["x": 2])
        #expect(answer["outputStack"]?.arrayValue?.count == 2)
    }

    @Test func aVoiceTurnCopiesTilesToTheWebhookAndHearsTheUtterance() {
        let router = ChannelRouter(directory: ChannelDirectory(endpoints: []))
        let outcome = Self.outcome(Self.endpoint(.voiceCopilot), text: "my card is 4111", outputs: [], events: [Self.tile])
        let deliveries = router.deliveries(for: outcome)
        #expect(deliveries.count == 1)
        #expect(deliveries.first?.body["AIOutput"]?["data"]?["copilot"]?["tile"] == "next")
        let workspace = router.workspace(after: outcome, previous: nil)
        #expect(workspace?.live["transcript"] == [["speaker": "customer", "text": "my card is 4111"]])
        #expect(workspace?.stored == workspace?.live)
        // Under disableSensitiveLogging the stored copy is masked; the live one is not.
        let quiet = router.workspace(
            after: Self.outcome(Self.endpoint(.voiceCopilot, sensitive: true), text: "my card is 4111", outputs: []),
            previous: nil
        )
        #expect(quiet?.live["transcript"] == [["speaker": "customer", "text": "my card is 4111"]])
        #expect(quiet?.stored["transcript"] == [["speaker": "customer", "text": "***"]])
    }

    @Test func messagesDuringAHandoverGoToTheAgentSide() {
        let router = ChannelRouter(directory: ChannelDirectory(endpoints: []))
        let forwarded = router.deliveries(for: Self.outcome(Self.endpoint(.webhook, handover: true), action: .forwardToAgent))
        #expect(forwarded.map(\.destination) == [.handover])
        #expect(forwarded.first?.body["source"] == "user")
        let announced = router.deliveries(for: Self.outcome(Self.endpoint(.webhook), action: .forwardToAgent))
        #expect(announced.first?.body["AIOutput"]?["data"]?["handover"]?["status"] == "active")
        // A REST caller sent the message itself: no copy.
        #expect(router.deliveries(for: Self.outcome(Self.endpoint(.rest), action: .forwardToAgent)).isEmpty)
        let request = Event.handover(HandoverRequest(text: "Connecting", data: nil, address: NodeAddress(flow: "f", node: "h")))
        let handingOver = router.deliveries(
            for: Self.outcome(Self.endpoint(.webhook, handover: true), outputs: [Output(text: "Connecting")], events: [request])
        )
        #expect(handingOver.map(\.destination) == [.webhook, .handover])
        let notify = router.deliveries(for: Self.outcome(Self.endpoint(.webhook), action: .deliver(source: "agent"), channel: "agent"))
        #expect(notify.first?.body["AIOutput"]?["source"] == "agent")
        // An input of a channel this version does not know still delivers what it carries.
        let stray = router.deliveries(for: Self.outcome(Self.endpoint(.webhook), action: .deliver(source: "bot"), channel: "somethingNew"))
        #expect(stray.first?.body["AIOutput"]?["text"] == "hello")
    }

    @Test func clientAddressesAreMaskedToTheirNetwork() {
        #expect(ClientAddress.describe("203.0.113.7", masked: true) == "203.0.113.x")
        #expect(ClientAddress.describe("203.0.113.7", masked: false) == "203.0.113.7")
        #expect(ClientAddress.describe("2001:db8:85a3:8d3:1319:8a2e:370:7348", masked: true) == "2001:db8:85a3::x")
        #expect(ClientAddress.describe("::ffff:198.51.100.4", masked: true) == "::ffff:198.51.100.x")
        #expect(ClientAddress.describe("2001:db8::1", masked: true) == "2001:db8:0::x")
        #expect(ClientAddress.describe("::1", masked: true) == "0:0:0::x")
        #expect(ClientAddress.describe(nil, masked: true) == "-")
    }

    @Test func workspaceLinksAreBoundToTheirSessionAndExpire() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let access = WorkspaceLink.access(secret: "k", endpoint: "e", userId: "u", sessionId: "s", expiry: 1_800_000_060)
        #expect(access.hasPrefix("1800000060."))
        #expect(WorkspaceLink.expiry(of: access) == Date(timeIntervalSince1970: 1_800_000_060))
        #expect(WorkspaceLink.expiry(of: "soon.x") == nil)
        #expect(WorkspaceLink.accepts(access, secret: "k", endpoint: "e", userId: "u", sessionId: "s", now: now))
        #expect(!WorkspaceLink.accepts(access, secret: "k", endpoint: "e", userId: "u", sessionId: "other", now: now))
        #expect(!WorkspaceLink.accepts(access, secret: "other", endpoint: "e", userId: "u", sessionId: "s", now: now))
        #expect(!WorkspaceLink.accepts(access, secret: "k", endpoint: "e", userId: "u", sessionId: "s", now: now.addingTimeInterval(61)))
        // A changed expiry invalidates the signature.
        let stretched = "1900000000." + access.split(separator: ".")[1]
        #expect(!WorkspaceLink.accepts(stretched, secret: "k", endpoint: "e", userId: "u", sessionId: "s", now: now))
        for junk in ["", ".", "abc", "1.", "99999999999999999999.AAAA", "-5.AAAA"] {
            #expect(!WorkspaceLink.accepts(junk, secret: "k", endpoint: "e", userId: "u", sessionId: "s", now: now), "\(junk)")
        }
        #expect(
            WorkspaceLink.pageURL(baseURL: "http://h:1/", urlToken: "t", userId: "a b", sessionId: "s&1", access: "9.x")
                == "http://h:1/copilot/?userId=a%20b&sessionId=s%261&URLToken=t&access=9.x"
        )
    }
}
