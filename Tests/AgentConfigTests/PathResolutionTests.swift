import AgentConfig
import TestSupport
import Testing

@Suite("Path resolution")
struct PathResolutionTests {
    @Test("credential:NAME resolves to $CREDENTIALS_DIRECTORY/NAME")
    func credentialResolves() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        let password = try fixture.secret("credentials/mqtt-password")
        try fixture.main(minimal(setting: "username = \"gw\"\npassword_file = \"credential:mqtt-password\"", in: "[broker]"))
        let config = try fixture.load(environment: ["CREDENTIALS_DIRECTORY": fixture.directory.path("credentials")])
        #expect(config.broker.passwordFile == SecretFile(path: password, key: "broker.password_file"))
    }

    @Test("credential:NAME without $CREDENTIALS_DIRECTORY is an error saying so")
    func credentialWithoutDirectory() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(setting: "username = \"gw\"\npassword_file = \"credential:mqtt-password\"", in: "[broker]"))
        let problems = fixture.problems(environment: [:])
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix("\(fixture.mainPath):broker.password_file: credential:mqtt-password needs $CREDENTIALS_DIRECTORY, which is not set") == true)
    }

    @Test("a credential name with a slash is refused", arguments: ["credential:", "credential:../x", "credential:a/b"])
    func credentialNameMustBePlain(value: String) throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(setting: "username = \"gw\"\npassword_file = \"\(value)\"", in: "[broker]"))
        let problems = fixture.problems(environment: ["CREDENTIALS_DIRECTORY": fixture.directory.path])
        #expect(problems.count == 1)
        #expect(problems.first?.contains("broker.password_file: expected credential:NAME with a plain file name") == true)
    }

    @Test("a missing credential names the credential and the resolved path")
    func missingCredential() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(setting: "username = \"gw\"\npassword_file = \"credential:mqtt-password\"", in: "[broker]"))
        let problems = fixture.problems(environment: ["CREDENTIALS_DIRECTORY": "/run/credentials/gateway-agent.service"])
        #expect(problems == [
            "\(fixture.mainPath):broker.password_file: secret file /run/credentials/gateway-agent.service/mqtt-password "
                + "(from credential:mqtt-password) does not exist; create it holding only the secret, then run: "
                + "chmod 600 /run/credentials/gateway-agent.service/mqtt-password"
        ])
    }

    @Test("relative paths are relative to the file that names them, drop-ins included")
    func relativeToNamingFile() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.directory.file("ca/main.pem", contents: "ca", mode: 0o644)
        let dropInCA = try fixture.directory.file("gateway-agent.d/certs/broker-ca.pem", contents: "ca", mode: 0o644)
        try fixture.main(minimal(setting: "ca_file = \"ca/main.pem\"", in: "[broker]"))
        #expect(try fixture.load().broker.caFile == fixture.directory.path("ca/main.pem"))
        try fixture.dropIn("40-ca.toml", "[broker]\nca_file = \"./certs/broker-ca.pem\"\n[agent]\nstate_dir = \"state\"\n")
        let config = try fixture.load()
        #expect(config.broker.caFile == dropInCA)
        #expect(config.agent.stateDir == fixture.directory.path("gateway-agent.d/state"))
    }

    @Test("absolute paths are kept, and a relative --config path is made absolute")
    func absolutePaths() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(setting: "state_dir = \"/srv/gateway//state/\"", in: "[agent]"))
        let config = try fixture.load()
        #expect(config.agent.stateDir == "/srv/gateway/state")
        let report = ConfigLoader.check(path: "config/../config/gateway-agent.toml", environment: [:])
        #expect(report.mainFile.hasPrefix("/"))
    }

    @Test("a missing CA file is an error, an existing world-readable one is fine")
    func caFileChecks() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(setting: "ca_file = \"missing-ca.pem\"", in: "[broker]"))
        #expect(fixture.problems() == [
            "\(fixture.mainPath):broker.ca_file: file \(fixture.directory.path("missing-ca.pem")) does not exist"
        ])
        try fixture.directory.file("missing-ca.pem", contents: "ca", mode: 0o644)
        #expect(fixture.problems().isEmpty)
    }
}
