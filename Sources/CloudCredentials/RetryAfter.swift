import FoundationEssentials

/// The `Retry-After` response header: a number of seconds or an HTTP date.
enum RetryAfter {
    /// How long `value` asks to wait from `now`; nil when absent or unreadable, zero for a date already past.
    static func parse(_ value: String?, now: Date) -> Duration? {
        guard let value = value.map({ $0.trimmingSpaces() }), !value.isEmpty else { return nil }
        if value.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
            // More than nine digits is no sensible delay; the refresher caps what it honours anyway.
            guard value.utf8.count <= 9, let seconds = Int64(value) else { return nil }
            return .seconds(seconds)
        }
        guard let date = Timestamps.httpDate(value) else { return nil }
        let milliseconds = Int64((date.timeIntervalSince(now) * 1000).rounded(.up))
        return .milliseconds(max(0, milliseconds))
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
