import AgentConfig
import Glibc
import TestSupport
import Testing

@Suite("Secret files")
struct SecretFileTests {
    private func fixtureWithToken(mode: UInt32, contents: String = "tok-SECRET-123\n") throws -> ConfigFixture {
        let fixture = try ConfigFixture()
        try fixture.secret("token", contents, mode: mode)
        try fixture.main("""
            [agent]
            module_id = "line-3"
            [credentials.organization]
            base_url = "https://api.example.com/v1"
            organization_id = "org-1"
            token_file = "token"
            """)
        return fixture
    }

    @Test("a secret readable by group or others is refused with chmod 600 advice", arguments: [
        UInt32(0o644), 0o640, 0o604, 0o660, 0o606, 0o610,
    ])
    func openSecretRefused(mode: UInt32) throws {
        let fixture = try fixtureWithToken(mode: mode)
        defer { fixture.remove() }
        let token = fixture.directory.path("token")
        let problems = fixture.problems()
        #expect(problems.count == 1)
        let line = try #require(problems.first)
        #expect(line.hasPrefix("\(fixture.mainPath):credentials.organization.token_file: secret file \(token) "))
        #expect(line.contains("is accessible by group or others (mode 0\(String(mode, radix: 8)))"))
        #expect(line.hasSuffix("run chmod 600 \(token)"))
        #expect(!line.contains("SECRET"))
    }

    @Test("an owner-only secret is accepted", arguments: [UInt32(0o600), 0o400])
    func ownerOnlySecretAccepted(mode: UInt32) throws {
        let fixture = try fixtureWithToken(mode: mode)
        defer { fixture.remove() }
        let config = try fixture.load()
        #expect(config.credentials.organization.tokenFile?.path == fixture.directory.path("token"))
    }

    @Test("a missing secret names the key and path")
    func missingSecret() throws {
        let fixture = try fixtureWithToken(mode: 0o600)
        defer { fixture.remove() }
        let token = fixture.directory.path("token")
        unlink(token)
        #expect(fixture.problems() == [
            "\(fixture.mainPath):credentials.organization.token_file: secret file \(token) does not exist; "
                + "create it holding only the secret, then run: chmod 600 \(token)"
        ])
    }

    @Test("a secret path that is a directory is refused")
    func directorySecret() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.directory.directory("tokendir")
        try fixture.main("""
            [agent]
            module_id = "line-3"
            [credentials.organization]
            base_url = "https://api.example.com/v1"
            organization_id = "org-1"
            token_file = "tokendir"
            """)
        #expect(fixture.problems().first?.hasSuffix("is a directory, not a file") == true)
    }

    @Test("a secret the agent's user cannot read is refused", .enabled(if: geteuid() != 0, "root reads every file"))
    func unreadableSecret() throws {
        let fixture = try fixtureWithToken(mode: 0o000)
        defer { fixture.remove() }
        #expect(fixture.problems().first?.contains("is not readable by this user") == true)
    }

    @Test("a secret reached through a symbolic link is checked at its target")
    func symlinkedSecret() throws {
        let fixture = try fixtureWithToken(mode: 0o600)
        defer { fixture.remove() }
        try fixture.secret("real-token", "x", mode: 0o644)
        unlink(fixture.directory.path("token"))
        try fixture.directory.symlink("token", to: fixture.directory.path("real-token"))
        #expect(fixture.problems().first?.contains("is accessible by group or others (mode 0644)") == true)
    }

    @Test("readSecret returns the content without its trailing newline")
    func readSecretTrims() throws {
        let fixture = try fixtureWithToken(mode: 0o600, contents: "tok-SECRET-123\r\n\n")
        defer { fixture.remove() }
        let config = try fixture.load()
        let file = try #require(config.credentials.organization.tokenFile)
        #expect(try readSecret(file) == "tok-SECRET-123")
    }

    @Test("readSecret checks permissions again when it reads")
    func readSecretRechecks() throws {
        let fixture = try fixtureWithToken(mode: 0o600)
        defer { fixture.remove() }
        let file = try #require(try fixture.load().credentials.organization.tokenFile)
        try fixture.directory.chmod("token", mode: 0o644)
        do {
            _ = try readSecret(file)
            Issue.record("expected SecretFileError")
        } catch {
            #expect(error.key == "credentials.organization.token_file")
            #expect(error.description.hasPrefix("credentials.organization.token_file: secret file \(file.path) is accessible"))
            #expect(!error.description.contains("SECRET"))
        }
    }

    @Test("readSecret refuses a missing or empty secret")
    func readSecretMissingOrEmpty() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        let missing = SecretFile(path: fixture.directory.path("none"), key: "broker.password_file")
        #expect(throws: SecretFileError.self) { try readSecret(missing) }
        let empty = SecretFile(path: try fixture.secret("empty", "\n"), key: "broker.password_file")
        do {
            _ = try readSecret(empty)
            Issue.record("expected SecretFileError")
        } catch {
            #expect(error.reason.hasPrefix("is empty"))
        }
    }

    @Test("a secret never appears in a description")
    func secretNeverPrinted() throws {
        let fixture = try fixtureWithToken(mode: 0o600)
        defer { fixture.remove() }
        let config = try fixture.load()
        let file = try #require(config.credentials.organization.tokenFile)
        #expect(file.description == fixture.directory.path("token"))
        #expect(!config.summary.contains("SECRET"))
        #expect(!fixture.check().text.contains("SECRET"))
    }

    @Test("an unknown key holding what looks like an inline secret is reported without its value")
    func inlineSecretNotEchoed() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(setting: "password = \"hunter2\"", in: "[broker]"))
        let problems = fixture.problems()
        #expect(problems.count == 1)
        #expect(problems.first?.contains("broker.password: unknown key") == true)
        #expect(problems.first?.contains("hunter2") == false)
    }
}
