import Logging

/// The agent's swift-log backend: one line per event on standard error, as `text` or `json`.
///
/// The level comes from a shared ``LogLevelControl`` so that SIGHUP can change it for every logger at once.
/// Setting `logLevel` on one logger pins that logger (swift-log's value semantics) and detaches it from the control.
public struct AgentLogHandler: LogHandler {
    /// The component name written in every line (`agent`, `mqtt`, `store`…).
    public let label: String
    /// Metadata attached to every event of this logger.
    public var metadata: Logger.Metadata = [:]
    /// Adds task-local or constant metadata at each event.
    public var metadataProvider: Logger.MetadataProvider?

    private let renderer: LogLineRenderer
    private let levelControl: LogLevelControl
    private var pinnedLevel: Logger.Level?
    private let output: any LogOutput
    private let now: @Sendable () -> LogTimestamp

    /// A handler for `label` writing `format` lines to `output`; `journal` selects the journald text form
    /// (priority prefix, no timestamp) and is normally ``JournalStream/isConnected(descriptor:environment:)``.
    public init(
        label: String,
        format: LogLineFormat,
        journal: Bool,
        levelControl: LogLevelControl,
        output: any LogOutput = FileDescriptorLogOutput(),
        metadataProvider: Logger.MetadataProvider? = nil,
        now: @escaping @Sendable () -> LogTimestamp = LogTimestamp.now
    ) {
        self.label = label
        self.renderer = LogLineRenderer(format: format, journal: journal)
        self.levelControl = levelControl
        self.output = output
        self.metadataProvider = metadataProvider
        self.now = now
    }

    /// The shared level, unless this logger was given its own.
    public var logLevel: Logger.Level {
        get { pinnedLevel ?? levelControl.level }
        set { pinnedLevel = newValue }
    }

    /// One metadata value of this logger.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Renders `event` and writes it as one line.
    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            merged.merge(provided) { _, provided in provided }
        }
        if let explicit = event.metadata, !explicit.isEmpty {
            merged.merge(explicit) { _, explicit in explicit }
        }
        if let error = event.error, merged["error"] == nil {
            merged["error"] = .string(String(describing: error))
        }
        output.write(
            line: renderer.render(
                timestamp: now(), level: event.level, label: label, message: event.message.description,
                metadata: merged))
    }
}
