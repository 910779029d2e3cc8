import GatewayCore

/// Publish pacing within AWS IoT Core's per-connection limit (100 publishes per second, counted on arrival).
///
/// Publishes are spread evenly, one every `interval` (the rate's period plus `marginPerMille`), because the cloud
/// counts arrivals: a burst that queues up on its way arrives bunched, and two bursts can land in one second.
/// A publish that leaves up to `tolerance` after its slot keeps the schedule (the engine thread was busy with a
/// disk commit; the publishes it held up go together), so such delays do not add up over a long drain. One that
/// leaves later (a stall, a reconnect, the first after idle) restarts the schedule: the next is due one interval
/// after it, so what was missed is not made up in a burst. Whatever the schedule says, a hard cap holds: no
/// sliding `window` of the monotonic clock holds more than `limit` publishes (a token bucket whose burst equals
/// the rate cannot promise that).
struct PublishRateLimiter {
    private let limit: Int
    private let window: Duration
    private let interval: Duration
    /// Send times of the last `limit` publishes, oldest first (ring buffer).
    private var sent: [ContinuousClock.Instant] = []
    private var oldest = 0
    /// When the next publish is due on the even schedule; nil before the first.
    private var due: ContinuousClock.Instant?

    /// How much longer than the rate's period the spacing is, in thousandths (0.5 %): slack for publishes
    /// that leave or travel at slightly different speeds.
    static let marginPerMille = 5
    /// How late a publish may leave and still keep the schedule: longer than the engine thread's slowest usual
    /// turn (a few fsync'd commits on a slow disk), or a slow gateway would restart the schedule at every
    /// publish and send one per turn.
    static let tolerance: Duration = .milliseconds(100)

    /// `perSecond` 0 = unlimited. Rates below 1/s become one publish per `1/perSecond` seconds;
    /// fractional rates above round down, so a 1-second window never exceeds the configured rate.
    init(perSecond: Double) {
        if perSecond <= 0 {
            limit = 0
            window = .zero
        } else if perSecond < 1 {
            limit = 1
            window = .milliseconds(Int64((1000 / perSecond).rounded(.up)))
        } else {
            limit = Int(perSecond.rounded(.down))
            window = .seconds(1)
        }
        interval = limit == 0 ? .zero : window * (1000 + Self.marginPerMille) / (1000 * limit)
    }

    var isUnlimited: Bool { limit == 0 }

    /// How many publishes may go out at `now`.
    func available(at now: ContinuousClock.Instant) -> Int {
        guard limit > 0 else { return Int.max }
        let room = sent.count < limit ? limit - sent.count + expiredCount(at: now) : expiredCount(at: now)
        var count = 0
        var next = due
        while count < room, next.map({ now >= $0 }) ?? true {
            count += 1
            next = scheduled(after: now, due: next)
        }
        return count
    }

    /// When the next publish becomes possible (nil when one is possible now or the limit is off).
    func nextSlot(after now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        guard limit > 0 else { return nil }
        var slot = due ?? now
        if sent.count == limit { slot = max(slot, sent[oldest] + window) }
        return slot > now ? slot : nil
    }

    /// Records a publish that left at `now`.
    mutating func record(at now: ContinuousClock.Instant) {
        guard limit > 0 else { return }
        due = scheduled(after: now, due: due)
        if sent.count < limit {
            sent.append(now)
        } else {
            sent[oldest] = now
            oldest = (oldest + 1) % limit
        }
    }

    /// When the publish after one that left at `now` is due: one interval after the one it was due at, or,
    /// when it left more than `tolerance` late (or was the first), one interval after `now`.
    private func scheduled(after now: ContinuousClock.Instant, due: ContinuousClock.Instant?) -> ContinuousClock.Instant {
        guard let due, now - due <= Self.tolerance else { return now + interval }
        return due + interval
    }

    /// Recorded publishes that have left the window (a `window` ago or earlier).
    private func expiredCount(at now: ContinuousClock.Instant) -> Int {
        var count = 0
        for i in 0..<sent.count {
            let instant = sent[(oldest + i) % sent.count]
            if now - instant >= window { count += 1 } else { break }
        }
        return count
    }
}
