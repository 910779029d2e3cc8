import AgentConfig
import GatewayCore
import Testing

@Suite("Defaults")
struct DefaultsTests {
    @Test("a minimal file gets every default of DESIGN.md section 5")
    func minimalFileGetsDefaults() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        let token = try fixture.secret("token")
        try fixture.main("""
            [agent]
            module_id = "line-3"
            [credentials.organization]
            base_url = "https://api.example.com/v1"
            organization_id = "org-1"
            token_file = "token"
            """)
        let config = try fixture.load()
        #expect(config.credentials.organization.baseURL == "https://api.example.com/v1")
        #expect(config.credentials.organization.organizationID == "org-1")
        #expect(config.credentials.organization.tokenFile
            == SecretFile(path: token, key: "credentials.organization.token_file"))
        #expect(config.credentials.organization.caFile == "")
        #expect(config.agent.moduleID?.rawValue == "line-3")
        #expect(config.agent.stateDir == "/var/lib/gateway-agent")
        #expect(config.agent.controlSocket == "/run/gateway-agent/control.sock")
        #expect(config.agent.controlGroup == "")
        #expect(config.agent.readersGroup == "")
        #expect(config.agent.identitiesDir == "/etc/gateway-agent/identities.d")
        #expect(config.agent.pruneIdentities == false)
        #expect(config.agent.logLevel == .info)
        #expect(config.agent.logFormat == .text)
        #expect(config.agent.logRepeatInterval == .seconds(600))
        #expect(config.agent.controlMaxRequestsPerClient == 16)
        #expect(config.credentials.source == .organization)
        #expect(config.credentials.organization.refreshBefore == .seconds(300))
        #expect(config.credentials.organization.requestTimeout == .seconds(30))
        #expect(config.credentials.assumeRole.sessionName == "gateway-agent")
        #expect(config.credentials.assumeRole.duration == .seconds(3600))
        #expect(config.broker.transport == .awsWebSocket)
        #expect(config.broker.host == "")
        #expect(config.broker.port == 443)
        #expect(config.broker.clientID == "gateway-agent-line-3")
        #expect(config.broker.protocolVersion == .mqtt5)
        #expect(config.broker.keepalive == .seconds(60))
        #expect(config.broker.connectTimeout == .seconds(10))
        #expect(config.broker.reconnectMin == .seconds(1))
        #expect(config.broker.reconnectMax == .seconds(120))
        #expect(config.identity.ackTimeout == .seconds(30))
        #expect(config.identity.maxAttempts == 5)
        #expect(config.identity.maxInflight == 100)
        #expect(config.identity.maxPublishRate == 100)
        #expect(config.identity.defaultAck == .all)
        #expect(config.proxy.url == "")
        #expect(config.proxy.credentialsFile == nil)
        #expect(config.proxy.noProxy == "")
        #expect(config.sources == [fixture.mainPath])
    }

    @Test("without credentials the transport defaults to mqtt-tls on port 8883")
    func sourceNoneDefaultsToMQTTTLS() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimalConfig)
        let config = try fixture.load()
        #expect(config.broker.transport == .mqttTLS)
        #expect(config.broker.port == 8883)
        #expect(config.broker.endpoint == "localhost:8883")
    }

    @Test("broker.port applies when the endpoint has no port, and the endpoint's port wins otherwise")
    func brokerPortAndEndpointPort() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(adding: "port = 1883\n"))
        #expect(try fixture.load().broker.port == 1883)
        try fixture.main(minimalConfig.replacingLocalhost(with: "broker.example:9883"))
        let config = try fixture.load()
        #expect(config.broker.host == "broker.example")
        #expect(config.broker.port == 9883)
    }

    @Test("an IPv6 endpoint keeps its brackets when printed")
    func ipv6Endpoint() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimalConfig.replacingLocalhost(with: "[::1]:8884"))
        let config = try fixture.load()
        #expect(config.broker.host == "::1")
        #expect(config.broker.endpoint == "[::1]:8884")
    }

    @Test("max_publish_rate takes an integer or a decimal, and 0 means unlimited")
    func publishRateAcceptsIntegerAndFloat() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        for (text, value) in [("0", 0.0), ("12.5", 12.5), ("250", 250.0)] {
            try fixture.main(minimal(adding: "[identity]\nmax_publish_rate = \(text)\n"))
            #expect(try fixture.load().identity.maxPublishRate == value)
        }
    }

    @Test("every key of DESIGN.md section 5 is accepted, under exactly its name")
    func everyDesignKeyIsKnown() {
        let design = [
            "agent.module_id", "agent.state_dir", "agent.control_socket", "agent.control_group",
            "agent.readers_group", "agent.identities_dir", "agent.prune_identities", "agent.log_level",
            "agent.log_format", "credentials.source", "credentials.organization.base_url",
            "credentials.organization.organization_id", "credentials.organization.token_file",
            "credentials.organization.ca_file", "credentials.organization.refresh_before",
            "credentials.organization.request_timeout", "credentials.assume_role.role_arn",
            "credentials.assume_role.external_id", "credentials.assume_role.session_name",
            "credentials.assume_role.duration", "credentials.assume_role.region",
            "credentials.assume_role.sts_endpoint", "credentials.assume_role.access_key_id_file",
            "credentials.assume_role.secret_access_key_file", "credentials.assume_role.session_token_file",
            "credentials.static.access_key_id_file", "credentials.static.secret_access_key_file",
            "credentials.static.session_token_file", "credentials.static.region", "broker.transport",
            "broker.endpoint", "broker.port", "broker.client_id", "broker.protocol", "broker.keepalive",
            "broker.connect_timeout", "broker.reconnect_min", "broker.reconnect_max", "broker.ca_file",
            "broker.cert_file", "broker.key_file", "broker.username", "broker.password_file",
            "identity.ack_timeout", "identity.max_attempts", "identity.max_inflight",
            "identity.max_publish_rate", "identity.default_ack", "proxy.url", "proxy.credentials_file",
            "proxy.no_proxy",
            // Issue 9: bounded outbox and metrics.
            "identity.max_queue", "identity.max_request_age", "metrics.listen", "metrics.textfile", "metrics.interval",
        ]
        // Keys of later issues: DESIGN.md section 5 allows adding keys, never renaming them.
        let added = ["agent.log_repeat_interval", "agent.control_max_requests_per_client"]
        #expect(Set(ConfigLoader.keys) == Set(design + added))
        #expect(ConfigLoader.keys.count == design.count + added.count)
    }
}

extension String {
    /// `minimalConfig` with another broker endpoint.
    func replacingLocalhost(with endpoint: String) -> String {
        split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0 == "endpoint = \"localhost\"" ? "endpoint = \"\(endpoint)\"" : String($0) }
            .joined(separator: "\n")
    }
}
