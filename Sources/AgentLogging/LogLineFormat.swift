/// How one log event is written as one line.
public enum LogLineFormat: String, Sendable, CaseIterable {
    /// `info agent: message key=value`, for people and journald.
    case text
    /// One JSON object per line, for log collectors.
    case json
}
