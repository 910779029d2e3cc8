import AgentConfig
import TestSupport
import Testing

@Suite("Contradictions")
struct ContradictionTests {
    @Test("aws-websocket without credentials is a contradiction naming both keys")
    func awsWebSocketNeedsCredentials() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(setting: "transport = \"aws-websocket\"", in: "[broker]"))
        let problems = fixture.problems()
        #expect(problems.count == 1)
        let line = try #require(problems.first)
        #expect(line.hasPrefix("\(fixture.mainPath):broker.transport: "))
        #expect(line.contains("credentials.source = \"none\""))
    }

    @Test("a contradiction created by a drop-in names the drop-in")
    func contradictionFromDropIn() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimalConfig)
        let dropIn = try fixture.dropIn("60-aws.toml", "[broker]\ntransport = \"aws-websocket\"\n")
        let problems = fixture.problems()
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix("\(dropIn):broker.transport: ") == true)
    }

    @Test("the organization source needs base_url, organization_id and token_file")
    func organizationNeedsItsKeys() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main("[agent]\nmodule_id = \"line-3\"\n")
        let problems = fixture.check().problems
        #expect(problems.map(\.key) == [
            "credentials.organization.base_url", "credentials.organization.organization_id",
            "credentials.organization.token_file",
        ])
        #expect(problems.allSatisfy {
            $0.message.hasPrefix("required key is missing (required when credentials.source = \"organization\" (the default))")
        })
    }

    @Test("the static source needs its key files and region")
    func staticNeedsItsKeys() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main("""
            [agent]
            module_id = "line-3"
            [credentials]
            source = "static"
            [broker]
            endpoint = "example-ats.iot.eu-west-1.amazonaws.com"
            """)
        #expect(fixture.check().problems.map(\.key) == [
            "credentials.static.access_key_id_file", "credentials.static.secret_access_key_file",
            "credentials.static.region",
        ])
    }

    @Test("the assume-role source needs role_arn, region and source key files")
    func assumeRoleNeedsItsKeys() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main("""
            [agent]
            module_id = "line-3"
            [credentials]
            source = "assume-role"
            [broker]
            endpoint = "example-ats.iot.eu-west-1.amazonaws.com"
            """)
        #expect(fixture.check().problems.map(\.key) == [
            "credentials.assume_role.role_arn", "credentials.assume_role.region",
            "credentials.assume_role.access_key_id_file", "credentials.assume_role.secret_access_key_file",
        ])
    }

    @Test("a complete static source loads, with its secret files resolved")
    func completeStaticSource() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.secret("keys/id")
        try fixture.secret("keys/secret")
        try fixture.main("""
            [agent]
            module_id = "line-3"
            [credentials]
            source = "static"
            [credentials.static]
            access_key_id_file = "keys/id"
            secret_access_key_file = "keys/secret"
            region = "eu-west-1"
            [broker]
            endpoint = "example-ats.iot.eu-west-1.amazonaws.com"
            """)
        let config = try fixture.load()
        #expect(config.broker.transport == .awsWebSocket)
        #expect(config.broker.port == 443)
        #expect(config.credentials.staticKeys.accessKeyIDFile
            == SecretFile(path: fixture.directory.path("keys/id"), key: "credentials.static.access_key_id_file"))
    }

    @Test("AWS credentials with mqtt-tls are a contradiction")
    func awsCredentialsWithMQTTTLS() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.secret("id")
        try fixture.secret("secret")
        try fixture.main("""
            [agent]
            module_id = "line-3"
            [credentials]
            source = "static"
            [credentials.static]
            access_key_id_file = "id"
            secret_access_key_file = "secret"
            region = "eu-west-1"
            [broker]
            transport = "mqtt-tls"
            endpoint = "broker.example"
            """)
        let problems = fixture.check().problems
        #expect(problems.map(\.key) == ["broker.transport"])
        #expect(problems.first?.message.contains("only broker.transport = \"aws-websocket\" uses") == true)
    }

    @Test("mqtt-tls needs both cert_file and key_file, or neither")
    func certificateNeedsKey() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.directory.file("client.crt", contents: "-----BEGIN CERTIFICATE-----\n", mode: 0o644)
        try fixture.secret("client.key")
        try fixture.main(minimal(setting: "cert_file = \"client.crt\"", in: "[broker]"))
        #expect(fixture.check().problems.map(\.key) == ["broker.key_file"])
        try fixture.main(minimal(setting: "key_file = \"client.key\"", in: "[broker]"))
        #expect(fixture.check().problems.map(\.key) == ["broker.cert_file"])
        try fixture.main(minimal(setting: "cert_file = \"client.crt\"\nkey_file = \"client.key\"", in: "[broker]"))
        let config = try fixture.load()
        #expect(config.broker.certFile == fixture.directory.path("client.crt"))
        #expect(config.broker.keyFile?.path == fixture.directory.path("client.key"))
    }

    @Test("password_file needs a username")
    func passwordNeedsUsername() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.secret("password")
        try fixture.main(minimal(setting: "password_file = \"password\"", in: "[broker]"))
        let problems = fixture.check().problems
        #expect(problems.map(\.key) == ["broker.username"])
        try fixture.main(minimal(setting: "password_file = \"password\"\nusername = \"gw\"", in: "[broker]"))
        #expect(try fixture.load().broker.username == "gw")
    }

    @Test("client authentication keys with aws-websocket are contradictions")
    func clientAuthWithWebSocket() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.secret("token")
        try fixture.main("""
            [agent]
            module_id = "line-3"
            [credentials.organization]
            base_url = "https://api.example.com/v1"
            organization_id = "org-1"
            token_file = "token"
            [broker]
            username = "gw"
            cert_file = "client.crt"
            """)
        let problems = fixture.check().problems
        #expect(Set(problems.map(\.key)) == ["broker.username", "broker.cert_file"])
        #expect(problems.allSatisfy { $0.message.hasPrefix("is used only with broker.transport = \"mqtt-tls\"") })
    }

    @Test("a source other than organization needs broker.endpoint")
    func endpointNeededWithoutOrganization() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main("[agent]\nmodule_id = \"line-3\"\n[credentials]\nsource = \"none\"\n")
        let problems = fixture.check().problems
        #expect(problems.map(\.key) == ["broker.endpoint"])
        #expect(problems.first?.message.contains("only the organization endpoint can supply one") == true)
    }

    @Test("broker.port that differs from the endpoint's port is a contradiction")
    func portDiffersFromEndpoint() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimalConfig.replacingLocalhost(with: "localhost:8883") + "port = 1883\n")
        #expect(fixture.check().problems.map(\.key) == ["broker.port"])
        try fixture.main(minimalConfig.replacingLocalhost(with: "localhost:8883") + "port = 8883\n")
        #expect(fixture.problems().isEmpty)
    }

    @Test("reconnect_min longer than reconnect_max is a contradiction")
    func backoffBounds() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(adding: "reconnect_min = \"5m\"\n"))
        let problems = fixture.check().problems
        #expect(problems.map(\.key) == ["broker.reconnect_min"])
        #expect(problems.first?.message.contains("broker.reconnect_max = \"2m\" (the default)") == true)
    }

    @Test("readers_group may not be the control group")
    func readersGroupDiffersFromControlGroup() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(setting: "control_group = \"gateway\"\nreaders_group = \"gateway\"", in: "[agent]"))
        #expect(fixture.check().problems.map(\.key) == ["agent.readers_group"])
    }

    @Test("a bad value in one key does not cause follow-on contradictions")
    func noFollowOnErrors() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(setting: "source = \"nothing\"", in: "[credentials]"))
        #expect(fixture.check().problems.map(\.key) == ["credentials.source"])
        try fixture.main(minimal(adding: "reconnect_min = \"5 minutes\"\nreconnect_max = \"1s\"\n"))
        #expect(fixture.check().problems.map(\.key) == ["broker.reconnect_min"])
    }

    @Test("an unused credentials source is checked for types but not for files")
    func unusedSourceFilesNotChecked() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(adding: """
            [credentials.organization]
            token_file = "credential:organization-token"
            [credentials.static]
            access_key_id_file = "/nonexistent/id"
            region = 5
            """))
        #expect(fixture.check().problems.map(\.key) == ["credentials.static.region"])
    }
}
