/// How one log event is written as one line.
public enum LogLineFormat: String, Sendable, CaseIterable {
    /// `2025-01-31T23:59:59.123Z info agent: connected endpoint=host:8883 note="two words"`.
    ///
    /// When standard error is the journal, the timestamp (journald keeps its own) gives way to the sd-daemon(3)
    /// priority prefix, so journald records the level: `<6>info agent: connected endpoint=host:8883`.
    case text
    /// `{"ts":"2025-01-31T23:59:59.123Z","level":"info","component":"agent","msg":"connected","endpoint":"host:8883"}`.
    ///
    /// Always with `ts` and never with a priority prefix, so every line stays one valid JSON object.
    case json
}
