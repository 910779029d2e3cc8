import FoundationEssentials
import GatewayCore
import Testing

@testable import Agent

@Suite("Scheduler")
struct SchedulerTests {
    let settings = Scheduler.Settings(maxInflight: 100, ackTimeout: .seconds(10), maxAttempts: 3)
    let now = ContinuousClock.now
    var sequence: Int64 = 0

    mutating func request(_ action: IdentityAction, _ id: IdentityID, parent: IdentityID? = nil) -> IdentityRequest {
        sequence += 1
        return IdentityRequest(sequence: sequence, action: action, identity: id, parent: parent, publicKey: action == .delete ? nil : "K")
    }

    func identity(_ id: IdentityID, parent: IdentityID? = nil, _ state: IdentityCloudState) -> StoredIdentity {
        StoredIdentity(id: id, parent: parent, publicKey: "K", cloudState: state, origin: nil, createdAt: Date(), updatedAt: Date())
    }

    @Test("requests of one identity go out one at a time in acceptance order")
    mutating func perIdentityOrder() {
        let a = IdentityID.random()
        var scheduler = Scheduler(settings: settings)
        let create = request(.create, a), update = request(.update, a), delete = request(.delete, a)
        for r in [delete, create, update] { scheduler.enqueue(r) }
        let index = IdentityIndex([identity(a, .pending)])
        #expect(scheduler.plan(capacity: 10, index: index).send == [create.correlationID])
        _ = scheduler.markSent(create.correlationID, timestamp: "t", at: now)
        #expect(scheduler.plan(capacity: 10, index: index).send.isEmpty)
        scheduler.finish(create.correlationID)
        #expect(scheduler.plan(capacity: 10, index: index).send == [update.correlationID])
    }

    @Test("a child waits for its parent's create and fails with parent-failed when it failed")
    mutating func parentFirst() {
        let parent = IdentityID.random(), child = IdentityID.random()
        var scheduler = Scheduler(settings: settings)
        let childCreate = request(.create, child, parent: parent)
        scheduler.enqueue(childCreate)
        #expect(scheduler.plan(capacity: 10, index: IdentityIndex([identity(parent, .pending)])).send.isEmpty)
        #expect(scheduler.plan(capacity: 10, index: IdentityIndex([identity(parent, .present)])).send == [childCreate.correlationID])
        let failed = scheduler.plan(capacity: 10, index: IdentityIndex([identity(parent, .failed)]))
        #expect(failed.send.isEmpty)
        #expect(failed.fail.map(\.reason) == [FailureReason.parentFailed])
    }

    @Test("a delete waits until every live child is deleted")
    mutating func deleteWaitsForChildren() {
        let parent = IdentityID.random(), child = IdentityID.random()
        var scheduler = Scheduler(settings: settings)
        let childDelete = request(.delete, child, parent: parent), parentDelete = request(.delete, parent)
        scheduler.enqueue(childDelete)
        scheduler.enqueue(parentDelete)
        var index = IdentityIndex([identity(parent, .deleting), identity(child, parent: parent, .deleting)])
        #expect(scheduler.plan(capacity: 10, index: index).send == [childDelete.correlationID])
        scheduler.finish(childDelete.correlationID)
        index.set(identity(child, parent: parent, .deleted))
        #expect(scheduler.plan(capacity: 10, index: index).send == [parentDelete.correlationID])
    }

    @Test("a delete whose child was not deleted fails instead of waiting forever")
    mutating func stuckChild() {
        let parent = IdentityID.random(), child = IdentityID.random()
        var scheduler = Scheduler(settings: settings)
        scheduler.enqueue(request(.delete, parent))
        let index = IdentityIndex([identity(parent, .deleting), identity(child, parent: parent, .present)])
        #expect(scheduler.plan(capacity: 10, index: index).fail.map(\.reason) == [FailureReason.childNotDeleted])
    }

    @Test("capacity bounds the sends, oldest first")
    mutating func capacity() {
        var scheduler = Scheduler(settings: settings)
        var ids: [String] = []
        for _ in 0..<5 {
            let r = request(.create, IdentityID.random())
            ids.append(r.correlationID)
            scheduler.enqueue(r)
        }
        #expect(scheduler.plan(capacity: 2, index: IdentityIndex()).send == Array(ids.prefix(2)))
    }

    @Test("no ack: resend with the same timestamp and a doubled wait, then give up after max attempts")
    mutating func retries() {
        var scheduler = Scheduler(settings: settings)
        let r = request(.create, IdentityID.random())
        scheduler.enqueue(r)
        var sent = scheduler.markSent(r.correlationID, timestamp: "first", at: now)
        #expect(sent.attempts == 1)
        #expect(scheduler.expire(at: now + .seconds(9)).resend.isEmpty)
        #expect(scheduler.expire(at: now + .seconds(10)).resend == [r.correlationID])
        sent = scheduler.markSent(r.correlationID, timestamp: "second", at: now + .seconds(10))
        #expect(sent.attempts == 2)
        #expect(sent.timestamp == "first")
        #expect(scheduler.expire(at: now + .seconds(29)).resend.isEmpty)
        #expect(scheduler.expire(at: now + .seconds(30)).resend == [r.correlationID])
        _ = scheduler.markSent(r.correlationID, timestamp: "third", at: now + .seconds(30))
        let final = scheduler.expire(at: now + .seconds(70))
        #expect(final.giveUp == [r.correlationID])
    }

    @Test("a send lost with the connection is resent without counting an attempt")
    mutating func reconnect() {
        var scheduler = Scheduler(settings: settings)
        let r = request(.create, IdentityID.random())
        scheduler.enqueue(r)
        _ = scheduler.markSent(r.correlationID, timestamp: "t", at: now)
        scheduler.connectionLost()
        #expect(scheduler.inFlight.isEmpty)
        #expect(scheduler.plan(capacity: 10, index: IdentityIndex()).send == [r.correlationID])
        #expect(scheduler.markSent(r.correlationID, timestamp: "t2", at: now).attempts == 1)
    }
}

@Suite("Publish rate limit")
struct PublishRateLimiterTests {
    typealias Instant = ContinuousClock.Instant
    let start = ContinuousClock.now
    let interval = Duration.microseconds(10_050)

    /// An engine with an endless backlog on a simulated clock: it wakes at each next slot, `late(n)` after it
    /// (n = publishes so far), and publishes all that is available then. Returns the publish times.
    func drain(_ limiter: inout PublishRateLimiter, count: Int, late: (Int) -> Duration = { _ in .zero }) -> [Instant] {
        var sends: [Instant] = []
        var t = start
        while sends.count < count {
            t = (limiter.nextSlot(after: t) ?? t) + late(sends.count)
            let n = limiter.available(at: t)
            #expect(n > 0, "nothing available at the slot the limiter named")
            guard n > 0 else { break }
            for _ in 0..<min(n, count - sends.count) {
                limiter.record(at: t)
                sends.append(t)
            }
        }
        return sends
    }

    func busiestSecond(_ sends: [Instant]) -> Int {
        var best = 0
        var first = 0
        for (last, t) in sends.enumerated() {
            while t - sends[first] >= .seconds(1) { first += 1 }
            best = max(best, last - first + 1)
        }
        return best
    }

    func gaps(_ sends: [Instant]) -> [Duration] { zip(sends.dropFirst(), sends).map { $0 - $1 } }

    func near(_ a: Duration, _ b: Duration) -> Bool { abs((a - b) / .nanoseconds(1)) < 1000 }

    @Test("a backlog goes out one publish per interval (the rate's period plus 0.5 %), not in bursts")
    func evenSpacing() {
        var limiter = PublishRateLimiter(perSecond: 100)
        let sends = drain(&limiter, count: 500)
        #expect(gaps(sends).allSatisfy { near($0, interval) })
        #expect(busiestSecond(sends) == 100)
    }

    @Test("no sliding one-second window holds more than the rate, whatever the delays")
    func slidingWindowCap() {
        var limiter = PublishRateLimiter(perSecond: 100)
        var seed: UInt64 = 42
        let sends = drain(&limiter, count: 3000) { _ in
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return .milliseconds(Int64(seed >> 33) % 80)
        }
        #expect(busiestSecond(sends) <= 100)
    }

    @Test("polled at any moment, the limiter never lets a second hold more than the rate")
    func polling() {
        var limiter = PublishRateLimiter(perSecond: 100)
        var sends: [Instant] = []
        var t = start
        while t < start + .seconds(5) {
            for _ in 0..<min(limiter.available(at: t), 7) {
                limiter.record(at: t)
                sends.append(t)
            }
            t = t + .milliseconds(3)
        }
        #expect(sends.count >= 450)
        #expect(busiestSecond(sends) <= 100)
    }

    @Test("publishes that leave a few milliseconds late keep the schedule: the delays do not add up")
    func shortDelaysDoNotAccumulate() {
        var limiter = PublishRateLimiter(perSecond: 100)
        let sends = drain(&limiter, count: 1000) { n in .milliseconds(n % 2 == 0 ? 4 : 1) }
        #expect(near(sends.last! - sends.first!, interval * 999 + .milliseconds(1)))
        #expect(busiestSecond(sends) <= 100)
    }

    @Test("a delay within the tolerance is made up at once, and the schedule goes on as before")
    func shortDelayCaughtUp() {
        var limiter = PublishRateLimiter(perSecond: 100)
        let sends = drain(&limiter, count: 300) { n in n == 150 ? .milliseconds(30) : .zero }
        let first = sends[0]
        // Publish 150 left 30 ms late; 151 and 152 were due by then and go with it, 153 is due on the old schedule.
        #expect(sends[150] == sends[151] && sends[151] == sends[152])
        #expect(near(sends[153] - first, interval * 153))
        #expect(near(sends[299] - first, interval * 299))
        #expect(busiestSecond(sends) <= 100)
    }

    @Test("a stall longer than the tolerance is not made up: the schedule restarts from the late publish")
    func noCatchUpAfterStall() {
        var limiter = PublishRateLimiter(perSecond: 100)
        let sends = drain(&limiter, count: 300) { n in n == 150 ? .milliseconds(500) : .zero }
        #expect(gaps(sends)[150...].allSatisfy { near($0, interval) })
        #expect(busiestSecond(sends) <= 100)
    }

    @Test("the first publish after an idle spell starts a fresh schedule: no burst")
    func idleThenBacklog() {
        var limiter = PublishRateLimiter(perSecond: 100)
        limiter.record(at: start)
        let later = start + .seconds(60)
        #expect(limiter.available(at: later) == 1)
        limiter.record(at: later)
        #expect(limiter.available(at: later) == 0)
        #expect(limiter.nextSlot(after: later) == later + interval)
    }

    @Test("fractional rates round down: 150.5 per second allows 150 in any second")
    func fractionalRate() {
        var limiter = PublishRateLimiter(perSecond: 150.5)
        let sends = drain(&limiter, count: 600)
        #expect(busiestSecond(sends) == 150)
    }

    @Test("rates below one per second space publishes out")
    func slowRate() {
        var limiter = PublishRateLimiter(perSecond: 0.5)
        let t = start
        #expect(limiter.available(at: t) == 1)
        limiter.record(at: t)
        #expect(limiter.available(at: t + .milliseconds(2009)) == 0)
        #expect(limiter.available(at: t + .milliseconds(2010)) == 1)
        #expect(limiter.nextSlot(after: t) == t + .milliseconds(2010))
    }

    @Test("zero means unlimited")
    func unlimited() {
        var limiter = PublishRateLimiter(perSecond: 0)
        limiter.record(at: start)
        #expect(limiter.available(at: start) == Int.max)
        #expect(limiter.nextSlot(after: start) == nil)
    }
}

@Suite("Reconnect backoff")
struct BackoffTests {
    @Test("full jitter stays within the doubling ceiling and the maximum")
    func bounds() {
        var backoff = Backoff(minimum: .seconds(1), maximum: .seconds(8))
        let ceilings = (0..<6).map { _ -> Duration in
            let ceiling = backoff.ceiling
            let wait = backoff.next()
            #expect(wait <= ceiling)
            #expect(wait >= .milliseconds(10))
            return ceiling
        }
        #expect(ceilings == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(8), .seconds(8)])
        backoff.reset()
        #expect(backoff.ceiling == .seconds(1))
    }
}

@Suite("Control socket access")
struct AccessPolicyTests {
    let policy = AccessPolicy(agentUID: 990, controlGID: 990, readersGID: 991)

    @Test("root, the agent's user and the control group may write; readers may only read; others nothing")
    func decisions() {
        #expect(policy.access(uid: 0, groups: [0]) == .write)
        #expect(policy.access(uid: 990, groups: [990]) == .write)
        #expect(policy.access(uid: 1000, groups: [1000, 990]) == .write)
        #expect(policy.access(uid: 1001, groups: [1001, 991]) == .read)
        #expect(policy.access(uid: 1002, groups: [1002]) == .deny)
        #expect(AccessPolicy(agentUID: 990, controlGID: 990, readersGID: nil).access(uid: 1001, groups: [991]) == .deny)
    }
}

@Suite("Cascade order")
struct CascadeOrderTests {
    func identity(_ id: IdentityID, parent: IdentityID? = nil, _ state: IdentityCloudState) -> StoredIdentity {
        StoredIdentity(id: id, parent: parent, publicKey: "K", cloudState: state, origin: nil, createdAt: Date(), updatedAt: Date())
    }

    @Test("a cascade sends a level only when every deeper level of the same cascade is deleted")
    func levelByLevel() {
        let root = IdentityID.random(), a = IdentityID.random(), b = IdentityID.random(), a1 = IdentityID.random()
        var scheduler = Scheduler(settings: .init(maxInflight: 10, ackTimeout: .seconds(1), maxAttempts: 1))
        var sequence: Int64 = 0
        var ids: [IdentityID: String] = [:]
        for (id, parent) in [(a1, a), (a, root), (b, root), (root, nil)] as [(IdentityID, IdentityID?)] {
            sequence += 1
            let request = IdentityRequest(sequence: sequence, action: .delete, identity: id, parent: parent)
            ids[id] = request.correlationID
            scheduler.enqueue(request)
        }
        var index = IdentityIndex([
            identity(root, .deleting), identity(a, parent: root, .deleting), identity(b, parent: root, .deleting),
            identity(a1, parent: a, .deleting),
        ])
        #expect(scheduler.plan(capacity: 10, index: index).send == [ids[a1]!], "b waits for a1 although it has no children")
        scheduler.finish(ids[a1]!)
        index.set(identity(a1, parent: a, .deleted))
        #expect(Set(scheduler.plan(capacity: 10, index: index).send) == [ids[a]!, ids[b]!])
    }
}
