import AgentConfig
import Logging
import Metrics
import Synchronization

/// `[metrics]`: serves the engine's latest status snapshot on `/metrics` and/or rewrites the textfile.
/// Both read the snapshot only, so neither can hold up the engine.
final class MetricsExport: Sendable {
    private let listener: MetricsListener?
    private let textfile: TextfileWriter?
    private let interval: Duration
    private let snapshot: @Sendable () -> String
    private let logger: Logger
    private let wake = ConditionLock()
    private let stopped = Mutex(false)

    /// Binds the listener (throws when it cannot); nil when `[metrics]` enables nothing.
    init?(settings: MetricsSection, engine: Engine, logger: Logger) throws(MetricsListenerError) {
        guard !settings.listen.isEmpty || !settings.textfile.isEmpty else { return nil }
        let render: @Sendable () -> String = {
            engine.latestStatus.withLock { $0 }.map { PrometheusText.render(StatusMetrics.families($0)) } ?? ""
        }
        snapshot = render
        listener = settings.listen.isEmpty ? nil : try MetricsListener(host: settings.listenHost, port: settings.listenPort, render: render)
        textfile = settings.textfile.isEmpty ? nil : TextfileWriter(path: settings.textfile)
        interval = settings.interval
        self.logger = logger
    }

    func start() {
        if let listener {
            logger.notice("metrics listening", metadata: ["port": "\(listener.port)"])
            startThread(name: "metrics") { listener.run() }
        }
        if let textfile {
            startThread(name: "metrics-file") { self.rewriteUntilStopped(textfile) }
        }
    }

    func stop() {
        listener?.stop()
        wake.withLock {
            stopped.withLock { $0 = true }
            wake.broadcast()
        }
    }

    /// Rewrites the file every `interval`; a failure is logged when it first happens or changes, and when it ends.
    private func rewriteUntilStopped(_ writer: TextfileWriter) {
        var lastProblem: String?
        while !stopped.withLock({ $0 }) {
            let text = snapshot()
            if !text.isEmpty {
                do {
                    try writer.write(text)
                    if lastProblem != nil { logger.notice("metrics textfile written again", metadata: ["path": "\(writer.path)"]) }
                    lastProblem = nil
                } catch {
                    if error.description != lastProblem { logger.warning("metrics textfile not written", metadata: ["error": "\(error)"]) }
                    lastProblem = error.description
                }
            }
            wake.withLock {
                if !stopped.withLock({ $0 }) { wake.wait(timeout: text.isEmpty ? .milliseconds(100) : interval) }
            }
        }
    }
}
