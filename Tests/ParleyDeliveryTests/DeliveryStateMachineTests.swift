import Foundation
import ParleyRuntime
import ParleyStore
import Testing

@testable import ParleyDelivery

/// The delivery loop's decisions, tested without a store, a receiver or a clock.
@Suite("Delivery state machine")
struct DeliveryStateMachineTests {
    typealias Machine = DeliveryService.StateMachine

    private static let t0 = DeliveryFixture.t0
    private static func time(_ seconds: TimeInterval) -> Date { t0.addingTimeInterval(seconds) }

    private static func message(
        _ id: Int64,
        _ session: String,
        endpoint: String = "web",
        createdAt: Date = t0,
        paused: TimeInterval = 0
    )
        -> OutgoingMessage
    {
        var message = DeliveryFixture.message(DeliveryFixture.key(session, endpoint: endpoint), Int(id), at: createdAt)
        message.id = id
        message.pausedSeconds = paused
        return message
    }

    private static func day(_ message: OutgoingMessage) -> TimeInterval { 86_400 }

    /// Claims `offered` as the store would return them and returns the ids the machine sends.
    private static func take(_ machine: inout Machine, _ offered: [OutgoingMessage], at now: Date = t0) -> [Int64] {
        guard let claim = machine.beginClaim(now: now) else { return [] }
        return machine.endClaim(claim, messages: offered.filter { !claim.excluding.contains($0.key.endpoint) }, now: now, expiry: Self.day)
            .actions.map(\.messageId)
    }

    @Test func neverTwoMessagesOfOneSessionInFlight() {
        var machine = Machine(limits: .init(total: 8, perEndpoint: 8))
        #expect(Self.take(&machine, [Self.message(1, "a"), Self.message(2, "b")]) == [1, 2])
        // A stale read still shows a's message 1 and offers b's next one while b's first is in flight.
        #expect(Self.take(&machine, [Self.message(1, "a"), Self.message(3, "b")]).isEmpty)
        machine.finish(Self.message(1, "a"), outcome: .delivered, now: Self.t0)
        #expect(Self.take(&machine, [Self.message(4, "a")]) == [4])
        #expect(machine.inFlight.count == 2)
    }

    @Test func aReleaseDuringAClaimIsNotUndoneByTheClaimsOlderRead() {
        var machine = Machine(limits: .init(total: 8, perEndpoint: 8))
        #expect(Self.take(&machine, [Self.message(1, "a")]) == [1])
        let claim = machine.beginClaim(now: Self.t0)!
        // Message 1 is delivered while the claim reads the store; the read still shows it as pending.
        machine.finish(Self.message(1, "a"), outcome: .delivered, now: Self.t0)
        #expect(machine.endClaim(claim, messages: [Self.message(1, "a")], now: Self.t0, expiry: Self.day) == ([], []))
        #expect(machine.isIdle)
    }

    @Test func oneEndpointNeverTakesMoreThanItsShare() {
        var machine = Machine(limits: .init(total: 4, perEndpoint: 2))
        let slow = (1...6).map { Self.message(Int64($0), "s\($0)", endpoint: "slow") }
        #expect(Self.take(&machine, slow) == [1, 2])
        // The slow endpoint is now excluded from claims, so the store fills them with the other endpoint's messages.
        let claim = machine.beginClaim(now: Self.t0)!
        #expect(claim.excluding == ["slow"])
        #expect(claim.limit == 2)
        machine.cancelClaim(claim)
        #expect(Self.take(&machine, slow + [Self.message(7, "f", endpoint: "fast"), Self.message(8, "g", endpoint: "fast")]) == [7, 8])
        #expect(machine.beginClaim(now: Self.t0) == nil, "every slot is taken")
    }

    @Test func messagesPassedOverForWantOfRoomAreReportedForRelease() {
        var machine = Machine(limits: .init(total: 4, perEndpoint: 2))
        #expect(Self.take(&machine, [Self.message(1, "a")]) == [1])
        let claim = machine.beginClaim(now: Self.t0)!
        let offered = [Self.message(1, "a")] + (2...5).map { Self.message(Int64($0), "s\($0)") }
        let (actions, passedOver) = machine.endClaim(claim, messages: offered, now: Self.t0, expiry: Self.day)
        // 1 is in flight (a stale read of it: kept as it is); 2 fills the endpoint's share; 3 to 5 go back to the store.
        #expect(actions.map(\.messageId) == [2])
        #expect(passedOver == [3, 4, 5])
    }

    @Test func aFailingEndpointIsHeldBackThenProbedWithOneMessage() {
        var machine = Machine(
            limits: .init(total: 8, perEndpoint: 4, endpointBackoff: RetryPolicy(baseDelay: 2, maxDelay: 8))
        )
        let messages = (1...4).map { Self.message(Int64($0), "s\($0)") }
        #expect(Self.take(&machine, messages) == [1, 2, 3, 4])
        machine.finish(messages[0], outcome: .retry(at: Self.time(60)), now: Self.t0)
        // Held for the shortest first backoff (1 s of 2 s): nothing of the endpoint is claimed until then.
        #expect(machine.heldUntil["web"] == Self.time(1))
        #expect(machine.beginClaim(now: Self.time(0.5))?.excluding == ["web"])
        machine.cancelClaim(machine.beginClaim(now: Self.time(0.5))!)
        for message in messages.dropFirst() { machine.finish(message, outcome: .retry(at: Self.time(60)), now: Self.t0) }
        #expect(machine.failures["web"] == 4)
        #expect(machine.heldUntil["web"] == Self.time(4), "the hold doubles per failure in a row (1, 2, 4 s), up to half its cap")

        // After the hold one probe goes, not one message per session.
        let next = (5...8).map { Self.message(Int64($0), "t\($0)") }
        #expect(Self.take(&machine, next, at: Self.time(3.9)).isEmpty)
        #expect(Self.take(&machine, next, at: Self.time(4)) == [5])
        #expect(Self.take(&machine, next, at: Self.time(4)).isEmpty)
        machine.finish(next[0], outcome: .delivered, now: Self.time(9))
        #expect(machine.failures["web"] == nil)
        #expect(Self.take(&machine, Array(next.dropFirst()), at: Self.time(9)) == [6, 7, 8], "a delivery restores the endpoint's share")
    }

    @Test func aMessageOlderThanItsExpiryIsExpiredNotSent() {
        var machine = Machine(limits: .init(total: 8, perEndpoint: 8))
        let claim = machine.beginClaim(now: Self.time(100))!
        let actions = machine.endClaim(
            claim,
            messages: [Self.message(1, "a"), Self.message(2, "b", paused: 50), Self.message(3, "c", createdAt: Self.time(50))],
            now: Self.time(100),
            expiry: { _ in 60 }
        ).actions
        #expect(
            actions == [
                .expire(Self.message(1, "a"), age: 100, limit: 60),
                // Paused for 50 of its 100 seconds: 50 s old.
                .send(Self.message(2, "b", paused: 50)),
                .send(Self.message(3, "c", createdAt: Self.time(50))),
            ]
        )
    }

    @Test func thePauseOutcomeKeepsTheEndpointsHealthAndAnUnrecordedOneCoolsTheSessionDown() {
        var machine = Machine(limits: .init(total: 8, perEndpoint: 8))
        #expect(Self.take(&machine, [Self.message(1, "a"), Self.message(2, "b")]) == [1, 2])
        machine.finish(Self.message(1, "a"), outcome: .paused, now: Self.t0)
        #expect(machine.failures.isEmpty && machine.heldUntil.isEmpty)
        machine.finish(Self.message(2, "b"), outcome: .unrecorded, now: Self.t0)
        #expect(Self.take(&machine, [Self.message(2, "b")], at: Self.time(0.5)).isEmpty)
        #expect(Self.take(&machine, [Self.message(2, "b")], at: Self.time(1)) == [2])
    }

    @Test func aStoreThatCannotRecordOutcomesGetsTheSameMessageSentLessAndLessOften() {
        var machine = Machine(limits: .init(total: 8, perEndpoint: 8))
        var now = Self.t0
        var sends: [TimeInterval] = []
        // Try every 100 ms for two minutes; every outcome fails to be recorded.
        while now < Self.time(120) {
            if Self.take(&machine, [Self.message(1, "a")], at: now) == [1] {
                sends.append(now.timeIntervalSince(Self.t0))
                machine.finish(Self.message(1, "a"), outcome: .unrecorded, now: now)
            }
            now = now.addingTimeInterval(0.1)
        }
        let gaps = zip(sends.dropFirst(), sends).map { ($0 - $1).rounded() }
        #expect(gaps.prefix(6) == [1, 2, 4, 8, 16, 30])
        #expect(gaps.dropFirst(5).allSatisfy { $0 == 30 }, "capped at 30 s")
        // Once an outcome is recorded again, the next failure starts at 1 s.
        #expect(Self.take(&machine, [Self.message(1, "a")], at: Self.time(200)) == [1])
        machine.finish(Self.message(1, "a"), outcome: .delivered, now: Self.time(200))
        #expect(machine.unrecordedInARow.isEmpty)
    }

    @Test func theLoopWakesForTheEarliestOfPollHorizonRetryAndHold() {
        var machine = Machine(limits: .init(total: 8, perEndpoint: 8, endpointBackoff: RetryPolicy(baseDelay: 20, maxDelay: 20)))
        #expect(machine.wakeDate(now: Self.t0, horizon: nil, claimedAt: Self.t0, pollInterval: 5) == Self.time(5))
        #expect(machine.wakeDate(now: Self.t0, horizon: Self.time(2), claimedAt: Self.t0, pollInterval: 5) == Self.time(2))
        // A horizon at or before the claim is in flight or held: not a reason to spin.
        #expect(machine.wakeDate(now: Self.time(1), horizon: Self.t0, claimedAt: Self.time(1), pollInterval: 5) == Self.time(6))
        #expect(Self.take(&machine, [Self.message(1, "a")]) == [1])
        machine.finish(Self.message(1, "a"), outcome: .retry(at: Self.time(3)), now: Self.t0)
        #expect(machine.wakeDate(now: Self.t0, horizon: nil, claimedAt: Self.t0, pollInterval: 60) == Self.time(3))
        #expect(
            machine.wakeDate(now: Self.time(4), horizon: nil, claimedAt: Self.time(4), pollInterval: 60) == Self.time(10),
            "the hold ends at 10 s"
        )
    }
}
