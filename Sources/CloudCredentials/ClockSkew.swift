import FoundationEssentials
import Synchronization

/// How far this gateway's wall clock is from a server's, measured from the server's `Date` header.
///
/// Positive: the server is ahead of this gateway. The header has one-second resolution and is stamped while
/// the response is made, so a measurement is good to about a second plus the round trip.
public struct ClockSkew: Sendable, Equatable, CustomStringConvertible {
    /// Server time minus local time, in seconds.
    public let seconds: Double

    public init(seconds: Double) {
        self.seconds = seconds
    }

    /// The skew a `Date` header shows against `receivedAt` (local time when the response arrived); nil when
    /// the header is absent or not an HTTP date.
    public init?(serverDate: String?, receivedAt: Date) {
        guard let serverDate, let date = Timestamps.httpDate(serverDate) else { return nil }
        // The header drops the fraction: on average the server stamped half a second later than it says.
        seconds = date.timeIntervalSince(receivedAt) + 0.5
    }

    /// `20 min 3 s behind`, `1 h 2 min 0 s ahead of`, `0 s off`: this gateway's clock relative to the server's.
    public var description: String {
        let size = Self.size(abs(seconds))
        if abs(seconds) < 1 { return "less than 1 s off" }
        return seconds > 0 ? "\(size) behind" : "\(size) ahead of"
    }

    /// `3 s`, `20 min 3 s`, `1 h 2 min 0 s`, `3 d 4 h`: a duration as an operator reads it.
    public static func size(_ seconds: Double) -> String {
        let whole = Int64(seconds.rounded(.toNearestOrEven))
        let (days, hours, minutes, rest) = (whole / 86_400, whole / 3600 % 24, whole / 60 % 60, whole % 60)
        if days > 0 { return "\(days) d \(hours) h" }
        if hours > 0 { return "\(hours) h \(minutes) min \(rest) s" }
        if minutes > 0 { return "\(minutes) min \(rest) s" }
        return "\(rest) s"
    }
}

/// The time SigV4 signatures are made with: the wall clock, corrected by the skew a refusing server's `Date`
/// header showed. Only signatures use it; every timer stays on the monotonic clock.
public final class SigningClock: Sendable {
    /// Corrections smaller than this are noise of the one-second `Date` header, not a wrong clock.
    public static let threshold: Double = 5

    private let correction = Mutex<Double>(0)
    private let wallClock: @Sendable () -> Date

    /// A clock that adds the current correction to `wallClock`.
    public init(wallClock: @escaping @Sendable () -> Date = { Date() }) {
        self.wallClock = wallClock
    }

    /// The corrected time to sign with.
    public func now() -> Date {
        wallClock().addingTimeInterval(correction.withLock { $0 })
    }

    /// The correction in force (server time minus local time, seconds).
    public var offset: ClockSkew { ClockSkew(seconds: correction.withLock { $0 }) }

    /// Adopts the skew a refusal's `Date` header shows when signatures made with the current correction are off
    /// by more than `threshold`; returns the new skew then (log it once), nil when nothing changed.
    public func correct(serverDate: String?) -> ClockSkew? {
        guard let measured = ClockSkew(serverDate: serverDate, receivedAt: wallClock()) else { return nil }
        return correction.withLock { current in
            guard abs(measured.seconds - current) > Self.threshold else { return nil }
            current = measured.seconds
            return measured
        }
    }
}
