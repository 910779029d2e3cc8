import Logging
import Synchronization

/// The process-wide log level, shared by every handler and changeable while the agent runs (SIGHUP).
public final class LogLevelControl: Sendable {
    // Handlers read this on every log call, so it is an atomic rather than a lock.
    private let rawLevel: Atomic<UInt8>

    /// A control starting at `level`.
    public init(level: Logger.Level) {
        rawLevel = Atomic(Self.code(level))
    }

    /// The level below which events are dropped.
    public var level: Logger.Level {
        Self.level(rawLevel.load(ordering: .relaxed))
    }

    /// Changes the level for every handler that reads this control, from the next event on.
    public func setLevel(_ level: Logger.Level) {
        rawLevel.store(Self.code(level), ordering: .relaxed)
    }

    private static let order = Logger.Level.allCases

    private static func code(_ level: Logger.Level) -> UInt8 {
        UInt8(order.firstIndex(of: level) ?? 0)
    }

    private static func level(_ code: UInt8) -> Logger.Level {
        Int(code) < order.count ? order[Int(code)] : .trace
    }
}
