import AgentConfig
import AgentLogging
import CloudCredentials
import CryptoSupport
import FoundationEssentials
import GatewayCore
import IdentityStore
import Logging
import Synchronization
import SystemdNotify

#if canImport(Glibc)
import Glibc
#endif

/// `gateway-agent run`: loads the configuration and the store, starts the engine, the control
/// socket and the connection manager, and stops them in order on SIGTERM/SIGINT.
public enum AgentService {
    /// Exit code when the configuration is invalid (same as invalid input on the command line).
    public static let invalidConfiguration: Int32 = 2

    /// Runs until SIGTERM or SIGINT; returns the process exit code.
    public static func run(configPath: String) -> Int32 {
        // Before any thread exists, so that only the signal thread receives these.
        SignalWatcher.blockSignals()

        let configuration: AgentConfiguration
        do {
            configuration = try ConfigLoader.load(path: configPath)
        } catch {
            for problem in error.problems { writeStderr("\(problem)\n") }
            writeStderr("gateway-agent: configuration invalid; fix it and check with `gateway-agent check-config --config \(configPath)`\n")
            return invalidConfiguration
        }
        let levels = AgentLogging.bootstrap(
            format: LogLineFormat(rawValue: configuration.agent.logFormat.rawValue) ?? .text,
            level: Logger.Level(rawValue: configuration.agent.logLevel.rawValue) ?? .info)
        let logger = Logger(label: "agent")
        logger.notice(
            "gateway-agent \(AgentVersion.current) starting",
            metadata: [
                "config": "\(configPath)", "module": "\(configuration.agent.moduleID?.rawValue ?? "")",
                "transport": "\(configuration.broker.transport.rawValue)",
                "credentials": "\(configuration.credentials.source.rawValue)",
            ])

        do {
            let runtime = try AgentRuntime(configuration: configuration, configPath: configPath, levels: levels, logger: logger)
            return runtime.runUntilSignalled()
        } catch {
            logger.critical("cannot start: \(error)")
            return 1
        }
    }

    static func writeStderr(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}

/// The running parts of one agent, in the order they start and stop.
final class AgentRuntime: Sendable {
    private let configuration: AgentConfiguration
    private let configPath: String
    private let levels: LogLevelControl
    private let logger: Logger
    private let store: IdentityStore.Handle
    private let engine: Engine
    private let control: ControlServer
    private let connection: ConnectionManager
    private let refresher: CredentialRefresher?
    private let metrics: MetricsExport?
    private let notifier: SystemdNotifier
    private let stopRequest = ConditionLock()
    private let stopSignal = Mutex<Int32?>(nil)

    init(configuration: AgentConfiguration, configPath: String, levels: LogLevelControl, logger: Logger) throws {
        self.configuration = configuration
        self.configPath = configPath
        self.levels = levels
        self.logger = logger
        let moduleID = configuration.agent.moduleID!
        let notifier = SystemdNotifier.fromProcessEnvironment()
        self.notifier = notifier

        let opened = try IdentityStore.open(stateDir: configuration.agent.stateDir)
        store = IdentityStore.Handle(opened)
        let lastPing = Mutex(ContinuousClock.now)
        let watchdog = notifier.watchdogInterval
        let settings = Engine.Settings(
            moduleID: moduleID,
            scheduler: .init(
                maxInflight: configuration.identity.maxInflight, ackTimeout: configuration.identity.ackTimeout,
                maxAttempts: configuration.identity.maxAttempts),
            maxPublishRate: configuration.identity.maxPublishRate, defaultAck: configuration.identity.defaultAck,
            limits: OutboxLimits(maxQueue: configuration.identity.maxQueue, maxRequestAge: configuration.identity.maxRequestAge),
            publishesStatus: !configuration.metrics.listen.isEmpty || !configuration.metrics.textfile.isEmpty,
            transport: configuration.broker.transport.rawValue,
            credentialSource: configuration.credentials.source.rawValue, version: AgentVersion.current,
            heartbeat: {
                guard let watchdog else { return }
                let due = lastPing.withLock { last -> Bool in
                    guard ContinuousClock.now - last >= watchdog else { return false }
                    last = .now
                    return true
                }
                if due { _ = notifier.watchdog() }
            },
            maxSleep: min(.seconds(1), (watchdog ?? .seconds(2)) / 2),
            statusChanged: { _ = notifier.status($0) }, logRepeatInterval: configuration.agent.logRepeatInterval)
        let validator = RequestValidator(moduleID: moduleID) { (pem: String) throws(ValidationError) in
            try PublicKeyInspector.check(pem)
        }
        engine = try Engine(store: opened, settings: settings, validator: validator, logger: Logger(label: "engine"))
        if engine.backlog > 0 {
            logger.notice("requests waiting from before", metadata: ["backlog": "\(engine.backlog)"])
        }

        // Before the control socket: a listen address that cannot be bound stops the start leaving nothing behind.
        metrics = try MetricsExport(settings: configuration.metrics, engine: engine, logger: Logger(label: "metrics"))

        let agentGroup = getegid()
        let controlGID: UInt32
        if configuration.agent.controlGroup.isEmpty {
            controlGID = agentGroup
        } else if let gid = AccessPolicy.gid(ofGroup: configuration.agent.controlGroup) {
            controlGID = gid
        } else {
            throw ControlSocketError(description: "agent.control_group: no group named '\(configuration.agent.controlGroup)' on this system")
        }
        var readersGID: UInt32?
        if !configuration.agent.readersGroup.isEmpty {
            guard let gid = AccessPolicy.gid(ofGroup: configuration.agent.readersGroup) else {
                throw ControlSocketError(description: "agent.readers_group: no group named '\(configuration.agent.readersGroup)' on this system")
            }
            readersGID = gid
        }
        let repeatInterval = configuration.agent.logRepeatInterval
        control = try ControlServer(
            path: configuration.agent.controlSocket,
            policy: AccessPolicy(agentUID: geteuid(), controlGID: controlGID, readersGID: readersGID),
            readersGID: readersGID, inbox: engine.inbox,
            quota: ClientQuota(maxRequests: configuration.agent.controlMaxRequestsPerClient),
            failures: RepeatedFailureLog(logger: Logger(label: "control"), interval: repeatInterval),
            logger: Logger(label: "control"))

        let inbox = engine.inbox
        refresher = CloudCredentialsSetup.source(for: configuration).map { source in
            CredentialRefresher(
                source: source, timing: CloudCredentialsSetup.timing(for: configuration), logger: Logger(label: "credentials"),
                logRepeatInterval: repeatInterval, onChange: { session in inbox.post(.credentialsExpiry(session.expiration)) })
        }
        let connectionFailures = RepeatedFailureLog(logger: Logger(label: "connection"), interval: repeatInterval)
        connection = ConnectionManager(
            source: BrokerTargets.source(
                for: configuration, refresher: refresher, logger: Logger(label: "tunnel"), failures: connectionFailures),
            inbox: engine.inbox, ackSubscription: engine.ackSubscription,
            reconnectMin: configuration.broker.reconnectMin, reconnectMax: configuration.broker.reconnectMax,
            logger: Logger(label: "connection"), failures: connectionFailures)
    }

    /// Starts everything, blocks until SIGTERM/SIGINT, then stops in order; returns the exit code.
    func runUntilSignalled() -> Int32 {
        engine.start()
        control.start()
        metrics?.start()
        reloadIdentities()
        SignalWatcher.start { [self] signal in
            switch signal {
            case .reload: reload()
            case .terminate(let number):
                stopRequest.withLock {
                    stopSignal.withLock { $0 = number }
                    stopRequest.broadcast()
                }
            }
        }
        // READY once the store is open and the control socket listens; the cloud may come later.
        _ = notifier.ready()
        logger.notice("ready", metadata: ["control": "\(control.path)", "pending": "\(engine.backlog)"])
        let connectionTask = Task { await connection.run() }
        let refreshTask = refresher.map { refresher in Task { await refresher.run() } }

        let signal = stopRequest.withLock { () -> Int32 in
            while true {
                if let signal = stopSignal.withLock({ $0 }) { return signal }
                stopRequest.wait(timeout: nil)
            }
        }
        logger.notice("stopping", metadata: ["signal": "\(signal)"])
        _ = notifier.stopping()
        control.stop()
        metrics?.stop()
        let engineDone = ConditionLock()
        let finished = Mutex(false)
        engine.inbox.post(
            .stop(done: {
                engineDone.withLock {
                    finished.withLock { $0 = true }
                    engineDone.broadcast()
                }
            }))
        engineDone.withLock {
            let deadline = ContinuousClock.now + .seconds(3)
            while !finished.withLock({ $0 }) && ContinuousClock.now < deadline {
                engineDone.wait(timeout: .milliseconds(100))
            }
        }
        connectionTask.cancel()
        refreshTask?.cancel()
        connection.stop()
        store.close()
        logger.notice("stopped")
        return 0
    }

    /// SIGHUP: log level from the configuration, and identities.d again.
    private func reload() {
        _ = notifier.reloading()
        switch Result(catching: { () throws(ConfigErrors) in try ConfigLoader.load(path: configPath) }) {
        case .success(let fresh):
            if let level = Logger.Level(rawValue: fresh.agent.logLevel.rawValue) {
                levels.setLevel(level)
                logger.notice("reloaded", metadata: ["log_level": "\(level)"])
            }
        case .failure(let error):
            logger.error(
                "reload: configuration invalid, keeping the running one",
                metadata: ["problems": "\(error.problems.map(\.description).joined(separator: "; "))"])
        }
        reloadIdentities()
        _ = notifier.ready()
    }

    private func reloadIdentities() {
        let report = IdentityFiles.load(directory: configuration.agent.identitiesDir, publicKeyCheck: PublicKeyInspector.check)
        for problem in report.problems {
            logger.error("identities.d: file skipped", metadata: ["problem": "\(problem)"])
        }
        engine.inbox.post(
            .declared(
                DeclaredIdentities(
                    identities: report.identities, prune: configuration.agent.pruneIdentities,
                    skippedFiles: Set(report.skippedFiles), isComplete: report.isComplete)))
    }
}

extension IdentityStore {
    /// Lets the runtime close the store after the engine thread stopped using it.
    final class Handle: @unchecked Sendable {
        private let store: IdentityStore
        init(_ store: IdentityStore) { self.store = store }
        func close() { store.close() }
    }
}
