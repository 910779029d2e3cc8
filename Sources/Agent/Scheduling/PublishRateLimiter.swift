import GatewayCore

/// Publish-rate limit as AWS IoT counts it: no sliding window of `window` holds more than `limit` publishes.
///
/// A token bucket whose burst equals the rate lets 2× the rate through a window straddling a refill;
/// remembering the last `limit` send times cannot. The window is `margin` longer than a second because
/// the cloud counts arrivals, and network and broker queues can bring publishes closer together.
struct PublishRateLimiter {
    private let limit: Int
    private let window: Duration
    /// Send times of the last `limit` publishes, oldest first (ring buffer).
    private var sent: [ContinuousClock.Instant] = []
    private var oldest = 0

    /// Slack for publishes that leave later than recorded and arrive closer together.
    static let margin: Duration = .milliseconds(100)

    /// `perSecond` 0 = unlimited. Rates below 1/s become one publish per `1/perSecond` seconds;
    /// fractional rates above round down, so a 1-second window never exceeds the configured rate.
    init(perSecond: Double) {
        if perSecond <= 0 {
            limit = 0
            window = .zero
        } else if perSecond < 1 {
            limit = 1
            window = .milliseconds(Int64((1000 / perSecond).rounded(.up))) + Self.margin
        } else {
            limit = Int(perSecond.rounded(.down))
            window = .seconds(1) + Self.margin
        }
    }

    var isUnlimited: Bool { limit == 0 }

    /// How many publishes may go out at `now`.
    func available(at now: ContinuousClock.Instant) -> Int {
        guard limit > 0 else { return Int.max }
        if sent.count < limit { return limit - sent.count + expiredCount(at: now) }
        return expiredCount(at: now)
    }

    /// When the next publish becomes possible (nil when one is possible now or the limit is off).
    func nextSlot(after now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        guard limit > 0, sent.count == limit else { return nil }
        let slot = sent[oldest] + window
        return slot > now ? slot : nil
    }

    mutating func record(at now: ContinuousClock.Instant) {
        guard limit > 0 else { return }
        if sent.count < limit {
            sent.append(now)
        } else {
            sent[oldest] = now
            oldest = (oldest + 1) % limit
        }
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
