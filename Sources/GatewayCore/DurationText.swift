/// Durations as operators write them: an integer and a unit, `"500ms"`, `"30s"`, `"5m"`, `"1h"`, `"2d"`.
public enum DurationText {
    /// nil when `text` is not `<digits><unit>` with unit `ms`, `s`, `m`, `h` or `d`.
    public static func parse(_ text: String) -> Duration? {
        let digits = text.prefix(while: { $0.isASCII && $0.isNumber })
        guard !digits.isEmpty, digits.count <= 12, let value = Int64(digits) else { return nil }
        switch text.dropFirst(digits.count) {
        case "ms": return .milliseconds(value)
        case "s": return .seconds(value)
        case "m": return .seconds(value * 60)
        case "h": return .seconds(value * 3600)
        case "d": return .seconds(value * 86400)
        default: return nil
        }
    }

    /// The shortest exact spelling of `duration`, e.g. `"90s"`, `"5m"`, `"1500ms"`.
    public static func format(_ duration: Duration) -> String {
        let ms = duration.milliseconds
        if ms % 1000 != 0 { return "\(ms)ms" }
        let seconds = ms / 1000
        for (unit, size) in [("d", Int64(86400)), ("h", 3600), ("m", 60)] where seconds != 0 && seconds % size == 0 {
            return "\(seconds / size)\(unit)"
        }
        return "\(seconds)s"
    }

    /// What `parse` accepts, for error messages.
    public static let expected = "a duration such as \"500ms\", \"30s\", \"5m\", \"1h\""
}

extension Duration {
    /// Whole milliseconds (truncated).
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Seconds as a Double, for timers and C APIs.
    public var secondsDouble: Double { Double(milliseconds) / 1000 }
}
