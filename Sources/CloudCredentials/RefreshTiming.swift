import FoundationEssentials
import GatewayCore

/// When the refresher fetches: ahead of expiry, and after failures with exponential backoff and full jitter.
public struct RefreshTiming: Sendable, Equatable {
    /// Refresh this long before the credentials expire (`refresh_before`, default 5 min).
    public var refreshBefore: Duration
    /// `current()` refreshes first when the held credentials expire within this (default 1 min).
    public var minimumValidity: Duration
    /// The shortest wait after a failure, and between two refreshes (default 1 s).
    public var retryMinimum: Duration
    /// The longest wait after failures; permanent errors are retried at about this pace (default 5 min).
    public var retryMaximum: Duration
    /// The longest `Retry-After` honoured, so a server cannot silence the agent for hours (default 15 min).
    public var retryAfterLimit: Duration

    /// Timing with the defaults above.
    public init(
        refreshBefore: Duration = .seconds(300), minimumValidity: Duration = .seconds(60),
        retryMinimum: Duration = .seconds(1), retryMaximum: Duration = .seconds(300),
        retryAfterLimit: Duration = .seconds(900)
    ) {
        self.refreshBefore = refreshBefore
        self.minimumValidity = minimumValidity
        self.retryMinimum = retryMinimum
        self.retryMaximum = max(retryMaximum, retryMinimum)
        self.retryAfterLimit = retryAfterLimit
    }

    /// When credentials obtained at `obtained` and expiring at `expiration` are refreshed: `refreshBefore`
    /// ahead of expiry, but never before half their lifetime (nor sooner than `retryMinimum`) has passed, so
    /// that short-lived credentials cannot make the refresher spin.
    public func refreshTime(expiration: Date, obtained: Date) -> Date {
        let ahead = expiration.addingTimeInterval(-refreshBefore.secondsDouble)
        let lifetime = expiration.timeIntervalSince(obtained)
        let earliest = obtained.addingTimeInterval(max(lifetime / 2, retryMinimum.secondsDouble))
        return max(ahead, earliest)
    }

    /// The wait before attempt `failures + 1`: full jitter over an exponentially growing ceiling for errors
    /// that may pass, about `retryMaximum` for permanent ones; never less than `retryMinimum`, never less than
    /// the server's `Retry-After` (up to `retryAfterLimit`).
    public func retryDelay(
        failures: Int, error: CredentialError, using random: inout some RandomNumberGenerator
    ) -> Duration {
        let minimum = retryMinimum.milliseconds
        let maximum = retryMaximum.milliseconds
        let delay: Int64
        if error.isPermanent {
            delay = Int64.random(in: maximum / 2...maximum, using: &random)
        } else {
            let exponent = min(max(failures - 1, 0), 40)
            let (grown, overflow) = minimum.multipliedReportingOverflow(by: Int64(1) << exponent)
            let ceiling = overflow ? maximum : min(maximum, grown)
            delay = Int64.random(in: 0...ceiling, using: &random)
        }
        var wait = Duration.milliseconds(max(minimum, delay))
        if let retryAfter = error.retryAfter {
            wait = max(wait, min(retryAfter, retryAfterLimit))
        }
        return wait
    }
}
