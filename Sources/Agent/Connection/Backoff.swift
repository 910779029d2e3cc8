import GatewayCore

/// Exponential backoff with full jitter: attempt n waits a random time in [0, min(max, min·2ⁿ)].
struct Backoff {
    let minimum: Duration
    let maximum: Duration
    private(set) var attempt = 0

    init(minimum: Duration, maximum: Duration) {
        self.minimum = minimum
        self.maximum = max(minimum, maximum)
    }

    /// The ceiling of the next wait, before jitter.
    var ceiling: Duration {
        let factor = Int64(1) << Int64(min(attempt, 30))
        let ms = minimum.milliseconds.multipliedReportingOverflow(by: factor)
        return ms.overflow ? maximum : min(maximum, .milliseconds(ms.partialValue))
    }

    /// The next wait, and counts the attempt. Never less than 10 ms, so a loop can never spin.
    mutating func next() -> Duration {
        let cap = ceiling.milliseconds
        attempt += 1
        return .milliseconds(max(10, Int64.random(in: 0...max(0, cap))))
    }

    mutating func reset() { attempt = 0 }
}
