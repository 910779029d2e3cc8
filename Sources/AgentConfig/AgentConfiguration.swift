import GatewayCore

/// The validated configuration of one agent: every key of DESIGN.md §5, with its default.
///
/// Built only by `ConfigLoader`, so a value of this type always passed every check.
/// Secrets are held as `SecretFile` references, never as their contents.
public struct AgentConfiguration: Sendable {
    public var agent = AgentSection()
    public var credentials = CredentialsSection()
    public var broker = BrokerSection()
    public var identity = IdentitySection()
    public var proxy = ProxySection()
    public var metrics = MetricsSection()
    /// The files that were read, main file first, then drop-ins in name order.
    public var sources: [String] = []

    public init() {}
}

/// A path to a secret (`*_file` keys), checked to exist and to be readable by its owner only.
/// `credential:NAME` in the TOML resolves to `$CREDENTIALS_DIRECTORY/NAME`.
public struct SecretFile: Sendable, Equatable, CustomStringConvertible {
    /// Absolute path after resolving `credential:` and relative paths.
    public let path: String
    /// The key path that named it, e.g. `credentials.organization.token_file` (for error messages).
    public let key: String

    public init(path: String, key: String) {
        self.path = path
        self.key = key
    }

    /// The path only: a secret's content is never printed.
    public var description: String { path }
}

public enum LogLevelSetting: String, Sendable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}

public enum LogFormat: String, Sendable, CaseIterable {
    case text, json
}

public struct AgentSection: Sendable {
    /// `{module_id}` of the topics. Required.
    public var moduleID: ModuleID?
    public var stateDir = "/var/lib/gateway-agent"
    public var controlSocket = "/run/gateway-agent/control.sock"
    /// "" = the agent's own group.
    public var controlGroup = ""
    /// "" = no read-only group.
    public var readersGroup = ""
    public var identitiesDir = "/etc/gateway-agent/identities.d"
    public var pruneIdentities = false
    public var logLevel = LogLevelSetting.info
    public var logFormat = LogFormat.text
    /// A failure that keeps repeating is logged once, then summarised at most once per this interval.
    public var logRepeatInterval: Duration = .seconds(600)
    /// Requests one client uid may have in progress at once on the control socket (`wait`s included).
    public var controlMaxRequestsPerClient = 16
    public init() {}
}

public enum CredentialSource: String, Sendable, CaseIterable {
    case organization
    case assumeRole = "assume-role"
    case `static`
    case none
}

public struct CredentialsSection: Sendable {
    public var source = CredentialSource.organization
    public var organization = OrganizationSettings()
    public var assumeRole = AssumeRoleSettings()
    public var staticKeys = StaticKeySettings()
    public init() {}
}

public struct OrganizationSettings: Sendable {
    /// e.g. `https://api.example.com/v1` (https only).
    public var baseURL = ""
    public var organizationID = ""
    public var tokenFile: SecretFile?
    /// "" = system trust store.
    public var caFile = ""
    public var refreshBefore: Duration = .seconds(300)
    public var requestTimeout: Duration = .seconds(30)
    public init() {}
}

public struct AssumeRoleSettings: Sendable {
    public var roleARN = ""
    public var externalID = ""
    public var sessionName = "gateway-agent"
    public var duration: Duration = .seconds(3600)
    public var region = ""
    /// "" = AWS's regional STS endpoint.
    public var stsEndpoint = ""
    public var accessKeyIDFile: SecretFile?
    public var secretAccessKeyFile: SecretFile?
    public var sessionTokenFile: SecretFile?
    public init() {}
}

public struct StaticKeySettings: Sendable {
    public var accessKeyIDFile: SecretFile?
    public var secretAccessKeyFile: SecretFile?
    public var sessionTokenFile: SecretFile?
    public var region = ""
    public init() {}
}

public enum BrokerTransport: String, Sendable, CaseIterable {
    case awsWebSocket = "aws-websocket"
    case mqttTLS = "mqtt-tls"
}

public enum MQTTProtocolVersion: String, Sendable, CaseIterable {
    case mqtt5, mqtt311
}

public struct BrokerSection: Sendable {
    /// Default: `aws-websocket`, or `mqtt-tls` when `credentials.source = "none"`.
    public var transport = BrokerTransport.awsWebSocket
    /// Host part of `broker.endpoint`; "" = the organization endpoint's `iotEndpoint`.
    public var host = ""
    /// Port from `broker.endpoint` or `broker.port`; default 443 (aws-websocket) / 8883 (mqtt-tls).
    public var port = 443
    /// Default `gateway-agent-{module_id}`.
    public var clientID = ""
    public var protocolVersion = MQTTProtocolVersion.mqtt5
    public var keepalive: Duration = .seconds(60)
    public var connectTimeout: Duration = .seconds(10)
    public var reconnectMin: Duration = .seconds(1)
    public var reconnectMax: Duration = .seconds(120)
    /// "" = system trust store.
    public var caFile = ""
    public var certFile = ""
    public var keyFile: SecretFile?
    public var username = ""
    public var passwordFile: SecretFile?
    public init() {}
}

public struct IdentitySection: Sendable {
    public var ackTimeout: Duration = .seconds(30)
    public var maxAttempts = 5
    /// 1–100.
    public var maxInflight = 100
    /// Publishes per second; 0 = unlimited.
    public var maxPublishRate: Double = 100
    public var defaultAck = AckMode.all
    /// Requests queued or in flight at most; a new one beyond it is refused at accept time.
    public var maxQueue = 100_000
    /// A request not acknowledged this long after its acceptance fails with `expired`; nil = no limit.
    public var maxRequestAge: Duration? = .seconds(7 * 86_400)
    public init() {}
}

public struct MetricsSection: Sendable {
    /// `host:port` of the Prometheus listener; "" = off.
    public var listen = ""
    /// Host and port of `listen`, once checked.
    public var listenHost = ""
    public var listenPort = 0
    /// File for node_exporter's textfile collector, rewritten atomically; "" = off.
    public var textfile = ""
    /// How often `textfile` is rewritten.
    public var interval: Duration = .seconds(15)
    public init() {}
}

public struct ProxySection: Sendable {
    /// "" = `HTTPS_PROXY` / `https_proxy` from the environment.
    public var url = ""
    public var credentialsFile: SecretFile?
    /// "" = `NO_PROXY` / `no_proxy` from the environment.
    public var noProxy = ""
    public init() {}
}
