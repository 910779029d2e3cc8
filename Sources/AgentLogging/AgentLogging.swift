import Glibc
import Logging

/// Sets up swift-log for the agent process.
public enum AgentLogging {
    /// Installs ``AgentLogHandler`` as the process's swift-log backend, writing `format` lines to standard error
    /// at `level`, and returns the control that changes the level later (SIGHUP).
    ///
    /// swift-log allows one bootstrap per process: call this once, early in `main`. Tests build handlers directly
    /// with ``makeHandler(label:format:journal:levelControl:output:)`` instead.
    public static func bootstrap(format: LogLineFormat, level: Logger.Level) -> LogLevelControl {
        let control = LogLevelControl(level: level)
        let journal = JournalStream.isConnected(descriptor: STDERR_FILENO, environment: processEnvironment())
        let output = FileDescriptorLogOutput(descriptor: STDERR_FILENO)
        LoggingSystem.bootstrap { label in
            AgentLogHandler(label: label, format: format, journal: journal, levelControl: control, output: output)
        }
        return control
    }

    /// A handler like the ones ``bootstrap(format:level:)`` installs, writing to `output`.
    public static func makeHandler(
        label: String, format: LogLineFormat, journal: Bool, levelControl: LogLevelControl,
        output: any LogOutput
    ) -> AgentLogHandler {
        AgentLogHandler(label: label, format: format, journal: journal, levelControl: levelControl, output: output)
    }

    /// The variables this module reads (`JOURNAL_STREAM`), from the process environment.
    static func processEnvironment() -> [String: String] {
        guard let value = getenv("JOURNAL_STREAM") else { return [:] }
        return ["JOURNAL_STREAM": String(cString: value)]
    }
}
