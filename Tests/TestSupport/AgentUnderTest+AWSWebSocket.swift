/// How the agent under test reaches AWS IoT over `aws-websocket` with organization credentials: what an
/// operator configures (`organization_id`, `base_url`, `token_file`) plus what the test stack needs (its CA
/// files, the gateway's port, short timers).
public struct OrganizationAgentSettings: Sendable {
    /// `credentials.organization.organization_id`.
    public var organizationID: String
    /// `credentials.organization.base_url`.
    public var baseURL: String
    /// The Bearer token written to the agent's `token_file` (0600).
    public var token: String
    /// `credentials.organization.ca_file`: the CA of the fake organization endpoint.
    public var organizationCAFile: String
    /// `broker.ca_file`: the CA of the fake AWS IoT gateway.
    public var brokerCAFile: String
    /// `broker.port`: the gateway's port (the host comes from the organization endpoint's `iotEndpoint`).
    public var brokerPort: Int
    /// `credentials.organization.refresh_before`, when set.
    public var refreshBefore: String?
    /// `credentials.organization.request_timeout`, when set.
    public var requestTimeout: String?
    /// `proxy.url`, when set.
    public var proxyURL: String?
    /// Written to `proxy.credentials_file` (user:password) when set.
    public var proxyCredentials: String?

    /// Settings with the given values; the optional ones unset.
    public init(
        organizationID: String, baseURL: String, token: String, organizationCAFile: String, brokerCAFile: String,
        brokerPort: Int, refreshBefore: String? = nil, requestTimeout: String? = nil, proxyURL: String? = nil,
        proxyCredentials: String? = nil
    ) {
        self.organizationID = organizationID
        self.baseURL = baseURL
        self.token = token
        self.organizationCAFile = organizationCAFile
        self.brokerCAFile = brokerCAFile
        self.brokerPort = brokerPort
        self.refreshBefore = refreshBefore
        self.requestTimeout = requestTimeout
        self.proxyURL = proxyURL
        self.proxyCredentials = proxyCredentials
    }
}

extension AgentUnderTest {
    /// An agent whose configuration names no transport and no credential source, so that the defaults apply:
    /// organization credentials and `aws-websocket`. `identity` is the body of the `[identity]` table.
    public convenience init(moduleID: String = "gw1", organization: OrganizationAgentSettings, identity: String = "") throws {
        // The designated initializer lays out the directory and writes an mqtt-tls configuration; it is replaced
        // below, before anything reads it.
        try self.init(moduleID: moduleID, broker: AgentBrokerSettings(port: 1, caFile: organization.brokerCAFile))
        let tokenFile = try directory.file("org-token", contents: organization.token, mode: 0o600)
        var credentials = [
            "organization_id = \"\(organization.organizationID)\"", "base_url = \"\(organization.baseURL)\"",
            "token_file = \"\(tokenFile)\"", "ca_file = \"\(organization.organizationCAFile)\"",
        ]
        if let refreshBefore = organization.refreshBefore { credentials.append("refresh_before = \"\(refreshBefore)\"") }
        if let timeout = organization.requestTimeout { credentials.append("request_timeout = \"\(timeout)\"") }
        var proxy: [String] = []
        if let url = organization.proxyURL {
            proxy.append("url = \"\(url)\"")
            if let userColonPassword = organization.proxyCredentials {
                let file = try directory.file("proxy-credentials", contents: userColonPassword, mode: 0o600)
                proxy.append("credentials_file = \"\(file)\"")
            }
        }
        let config = """
            [agent]
            module_id = "\(moduleID)"
            state_dir = "\(stateDir)"
            control_socket = "\(socketPath)"
            identities_dir = "\(identitiesDir)"
            log_level = "debug"

            [credentials.organization]
            \(credentials.joined(separator: "\n"))

            [broker]
            ca_file = "\(organization.brokerCAFile)"
            port = \(organization.brokerPort)
            reconnect_min = "100ms"
            reconnect_max = "1s"
            connect_timeout = "5s"

            [identity]
            \(identity.contains("max_publish_rate") ? "" : "max_publish_rate = 0")
            \(identity)

            \(proxy.isEmpty ? "" : "[proxy]\n" + proxy.joined(separator: "\n"))
            """
        _ = try directory.file("gateway-agent.toml", contents: config, mode: 0o600)
    }
}
