import AgentLogging
import Logging
import Synchronization

/// A log output that keeps lines in memory for assertions.
final class CapturedLines: LogOutput {
    private let stored = Mutex<[String]>([])

    func write(line: String) {
        stored.withLock { $0.append(line) }
    }

    var lines: [String] { stored.withLock { $0 } }
}

/// A fixed instant: 2024-02-29T12:34:56.789Z.
let fixedTimestamp = LogTimestamp(seconds: 1_709_210_096, nanoseconds: 789_000_000)

func makeLogger(
    _ label: String = "agent", format: LogLineFormat, journal: Bool = false, level: LogLevelControl,
    output: CapturedLines
) -> Logger {
    Logger(label: label) { label in
        AgentLogHandler(
            label: label, format: format, journal: journal, levelControl: level, output: output,
            now: { fixedTimestamp })
    }
}
