import AgentConfig
import CloudCredentials
import FoundationEssentials
import GatewayCore
import Glibc

/// `gateway-agent check`: every check a field technician needs, within one time limit.
///
/// Network, store and agent checks run at the same time, each bounded by the deadline; a check still running
/// then is reported as timed out, so the whole run ends within `timeout` even when endpoints hang.
public enum GatewayCheck {
    /// Kept back from `timeout` for printing the report.
    static let margin: Duration = .milliseconds(300)
    /// Where systemd puts the service's `LoadCredential=` files while it runs: what `credential:NAME` means
    /// to the agent when `check` runs from a shell without `$CREDENTIALS_DIRECTORY`.
    static let serviceCredentialsDirectory = "/run/credentials/gateway-agent.service"

    /// Runs every check of the configuration at `configPath`; `environment` supplies `CREDENTIALS_DIRECTORY` and
    /// `HTTPS_PROXY`/`NO_PROXY` as the agent would see them.
    public static func run(
        configPath: String, timeout: Duration,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async -> CheckReport {
        let started = ContinuousClock.now
        var environment = environment
        if environment["CREDENTIALS_DIRECTORY"] == nil, access(serviceCredentialsDirectory, X_OK) == 0 {
            environment["CREDENTIALS_DIRECTORY"] = serviceCredentialsDirectory
        }
        let loaded = ConfigLoader.check(path: configPath, environment: environment)
        var report = CheckReport(
            results: ConfigurationChecks.config(loaded), facts: CheckFacts(), configurationInvalid: !loaded.isValid)
        guard let configuration = loaded.configuration, loaded.isValid else { return report }
        report.results += ConfigurationChecks.secrets(configuration)

        let limit = max(.milliseconds(200), timeout - margin)
        let deadline = started + limit
        func left() -> Duration { max(.milliseconds(1), deadline - ContinuousClock.now) }

        var proxy = ProxyCheck.decide(configuration)
        let stateDir = configuration.agent.stateDir
        let socketPath = configuration.agent.controlSocket
        async let store = BoundedWork.run(limit: left()) { await BoundedWork.thread { StoreCheck.run(stateDir: stateDir) } }
        async let agent = BoundedWork.run(limit: left()) { await BoundedWork.thread { AgentCheck.run(socketPath: socketPath) } }

        let broker = BrokerChecks(configuration: configuration, proxy: proxy.tunnel)
        broker.checkClientCertificate()
        let configuredHost = configuration.broker.host
        // With a configured host the broker steps need not wait for the organization endpoint.
        async let early = probe(broker, host: configuredHost.isEmpty ? nil : configuredHost, limit: left(), deadline: deadline)
        let credentials = await CredentialChecks.run(configuration, limit: left(), timeout: timeout)
        var brokerFinished = await early
        var brokerHost: String? = configuredHost.isEmpty ? nil : configuredHost
        var brokerResults: [CheckResult] = []
        if configuredHost.isEmpty {
            if let host = credentials.session?.iotEndpoint, !host.isEmpty {
                brokerHost = host
                brokerFinished = await probe(broker, host: host, limit: left(), deadline: deadline)
            } else {
                brokerResults.append(
                    CheckResult(
                        "broker.dns", .fail,
                        "no broker host: broker.endpoint is unset and the credential source gave no iotEndpoint "
                            + "(see the organization line)"))
            }
        }
        let probed = broker.snapshot(timedOutAfter: brokerFinished ? nil : timeout)
        brokerResults = probed.results + brokerResults

        let organizationHost =
            configuration.credentials.source == .organization
            ? CredentialChecks.hostOf(configuration.credentials.organization.baseURL, withPort: false) : nil
        ProxyCheck.line(
            &proxy, configuration: configuration, environment: environment, organizationHost: organizationHost,
            brokerHost: brokerHost)

        let storeOutcome = await store
        let agentOutcome = await agent
        let timedOut = "timed out: no outcome within --timeout \(DurationText.format(timeout))"

        report.results += proxy.results
        report.results += credentials.results.filter { $0.check.hasPrefix("clock.") }
        report.results += brokerResults.filter { $0.check.hasPrefix("clock.") }
        report.results += credentials.results.filter { !$0.check.hasPrefix("clock.") }
        report.results += brokerResults.filter { !$0.check.hasPrefix("clock.") }
        report.results += storeOutcome?.0 ?? [CheckResult("store", .fail, "\(timedOut): the disk or the database hangs")]
        report.results +=
            agentOutcome?.0 ?? [CheckResult("agent", .warn, "\(timedOut): the agent does not answer on \(socketPath)")]

        report.facts.clock.organizationOffsetSeconds = credentials.skew.map { rounded($0.seconds) }
        report.facts.clock.brokerOffsetSeconds = probed.skew.map { rounded($0.seconds) }
        report.facts.credentials = credentials.credentials
        report.facts.broker = probed.facts
        report.facts.proxy = proxy.facts
        report.facts.store = storeOutcome?.1 ?? CheckFacts.Store(path: stateDir + "/identities.sqlite3")
        report.facts.agent = agentOutcome?.1 ?? CheckFacts.Agent()
        return report
    }

    /// Runs the broker steps against `host` (nothing when nil); false when the deadline passed first.
    private static func probe(
        _ broker: BrokerChecks, host: String?, limit: Duration, deadline: ContinuousClock.Instant
    ) async -> Bool {
        guard let host else { return true }
        return await BoundedWork.run(limit: limit) {
            await BoundedWork.thread { broker.probe(host: host, deadline: deadline) }
            return true
        } != nil
    }

    private static func rounded(_ seconds: Double) -> Double { (seconds * 10).rounded() / 10 }
}
