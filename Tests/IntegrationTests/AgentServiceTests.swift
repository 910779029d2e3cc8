import Foundation
import Glibc
import TestSupport
import Testing

/// The real agent against a real mosquitto, without a cloud responder (ack=none ends at PUBACK).
@Suite("Agent service", .blockingWaits)
struct AgentServiceTests {
    static func agent(_ broker: TestBroker, identity: String = "", certificate: Bool = true) throws -> AgentUnderTest {
        let certificates = broker.certificates
        let settings =
            certificate
            ? AgentBrokerSettings(
                port: broker.certificatePort, caFile: certificates.caFile, certFile: certificates.clientCertFile,
                keyFile: certificates.clientKeyFile)
            : AgentBrokerSettings(
                port: broker.passwordPort, caFile: certificates.caFile, username: broker.username,
                passwordFile: broker.passwordFile)
        return try AgentUnderTest(broker: settings, identity: identity)
    }

    @Test("a create with ack=none is done at PUBACK; get and list show it acked")
    func ackNoneRoundTrip() throws {
        let broker = try TestBroker()
        let agent = try Self.agent(broker)
        defer { agent.remove() }
        try agent.start()
        let id = "6f1c2d3e-0000-4000-8000-000000000001"
        let key = try TestKeys.publicKey()
        let created = try agent.cli(["identity", "create", "--id", id, "--public-key", "-", "--ack", "none", "--wait"], stdin: key)
        #expect(created.status == 0, "\(created)")
        let got = try agent.cli(["identity", "get", "--id", id, "--json"])
        #expect(got.status == 0)
        #expect(got.stdout.contains("\"state\" : \"acked\""))
        #expect(got.stdout.contains("\"cloudState\" : \"present\""))
        let listed = try agent.cli(["identity", "list", "--state", "acked", "--json"])
        #expect(listed.stdout.contains(id))
        #expect(agent.stop() == .exited(0))
    }

    @Test("the agent's refusals exit 2 and store nothing")
    func refusals() throws {
        let broker = try TestBroker()
        let agent = try Self.agent(broker)
        defer { agent.remove() }
        try agent.start()
        let parent = "6f1c2d3e-0000-4000-8000-0000000000a1"
        let child = "6f1c2d3e-0000-4000-8000-0000000000a2"
        let key = try TestKeys.publicKey()

        let unknownParent = try agent.cli(
            ["identity", "create", "--id", child, "--public-key", "-", "--parent", parent], stdin: key)
        #expect(unknownParent.status == 2)
        #expect(unknownParent.stderr.contains("unknown parent"))

        let badKey = try agent.cli(["identity", "create", "--id", child, "--public-key", "-"], stdin: "not a key\n")
        #expect(badKey.status == 2)
        #expect(badKey.stderr.contains("publicKey"))

        let privateKey = try agent.cli(
            ["identity", "create", "--id", child, "--public-key", "-"],
            stdin: "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIG1vY2tlZC1ub3QtcmVhbC1rZXktbWF0ZXJpYWwtMDA=\n-----END PRIVATE KEY-----\n")
        #expect(privateKey.status == 2)
        #expect(privateKey.stderr.contains("PRIVATE key"))
        #expect(!privateKey.stderr.contains("MC4CAQAw"))

        #expect(try agent.cli(["identity", "create", "--id", parent, "--public-key", "-", "--ack", "none", "--wait"], stdin: key).status == 0)
        #expect(try agent.cli(["identity", "create", "--id", child, "--public-key", "-", "--parent", parent, "--ack", "none", "--wait"], stdin: key).status == 0)
        let withChildren = try agent.cli(["identity", "delete", "--id", parent])
        #expect(withChildren.status == 2)
        #expect(withChildren.stderr.contains("--cascade"))
        let duplicate = try agent.cli(["identity", "create", "--id", parent, "--public-key", "-"], stdin: key)
        #expect(duplicate.status == 2)

        let list = try agent.cli(["identity", "list", "--json"])
        #expect(list.stdout.components(separatedBy: "\"id\"").count == 3, "only parent and child are stored: \(list.stdout)")
        let status = try agent.cli(["status", "--json"])
        #expect(status.stdout.contains("\"queued\" : 0"))
    }

    @Test("SIGTERM stops the agent within 5 seconds with exit 0")
    func gracefulStop() throws {
        let broker = try TestBroker()
        let agent = try Self.agent(broker)
        defer { agent.remove() }
        try agent.start()
        let started = ContinuousClock.now
        #expect(agent.stop(signal: SIGTERM, timeout: .seconds(5)) == .exited(0))
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(agent.log().contains("stopped"))
        #expect(access(agent.socketPath, F_OK) != 0, "the control socket is removed")
    }

    @Test("a second agent on the same state_dir fails fast with a clear error")
    func oneAgentPerStateDir() throws {
        let broker = try TestBroker()
        let first = try Self.agent(broker)
        defer { first.remove() }
        try first.start()
        let second = try AgentUnderTest(
            broker: AgentBrokerSettings(port: broker.certificatePort, caFile: broker.certificates.caFile),
            extra: "")
        defer { second.remove() }
        // Same state_dir as the first agent, own socket.
        let config = try String(contentsOfFile: second.configPath, encoding: .utf8)
            .replacingOccurrences(of: second.stateDir, with: first.stateDir)
        _ = try second.directory.file("gateway-agent.toml", contents: config, mode: 0o600)
        try second.start(waitForSocket: false)
        let ended = second.process?.wait(timeout: .seconds(10))
        #expect(ended == .exited(1))
        #expect(second.log().contains(first.stateDir))
        #expect(second.log().contains("in use") || second.log().contains("another agent"))
    }

    @Test("password authentication works and the password never appears in the log or status")
    func passwordAuthentication() throws {
        let broker = try TestBroker()
        let agent = try Self.agent(broker, certificate: false)
        defer { agent.remove() }
        try agent.start()
        let key = try TestKeys.publicKey()
        let created = try agent.cli(
            ["identity", "create", "--id", "6f1c2d3e-0000-4000-8000-0000000000b1", "--public-key", "-", "--ack", "none", "--wait"],
            stdin: key)
        #expect(created.status == 0, "\(created)\n\(agent.log())")
        let status = try agent.cli(["status", "--json"])
        #expect(status.stdout.contains("\"connection\" : \"connected\""))
        #expect(!status.stdout.contains(broker.password))
        #expect(!agent.log().contains(broker.password))
    }

    /// How a broker's certificate can fail verification.
    enum BadCertificate: String, CaseIterable, Sendable {
        case anotherCA = "signed by another CA"
        case anotherHost = "naming another host"
    }

    @Test(
        "a broker certificate that fails verification is refused; the agent says why once, then retries slowly",
        arguments: BadCertificate.allCases)
    func refusedCertificate(_ bad: BadCertificate) throws {
        let broker = try TestBroker()
        let certificates = broker.certificates
        let agent = try AgentUnderTest(
            broker: AgentBrokerSettings(
                port: bad == .anotherCA ? broker.certificatePort : broker.wrongHostPort,
                caFile: bad == .anotherCA ? certificates.otherCAFile : certificates.caFile,
                certFile: certificates.clientCertFile, keyFile: certificates.clientKeyFile))
        defer { agent.remove() }
        try agent.start()
        usleep(1_500_000)
        let status = try agent.cli(["status", "--json"])
        #expect(!status.stdout.contains("\"connection\" : \"connected\""))
        let lastError = status.stdout.lowercased()
        #expect(lastError.contains(bad == .anotherCA ? "certificate" : "name"), "\(status.stdout)")
        // The test configuration logs at debug, where every repeat shows as well.
        let refusals = agent.log().split(separator: "\n").filter {
            $0.contains("cannot connect, retrying slowly") && !$0.contains(" debug ")
        }
        #expect(refusals.count == 1, "logged once, then retried slowly:\n\(agent.log())")
    }
}

/// SIGHUP re-reads the log level from the configuration file.
@Suite("Log level reload", .blockingWaits)
struct LogLevelReloadTests {
    @Test("SIGHUP applies a changed agent.log_level without a restart")
    func sighupChangesLevel() async throws {
        let broker = try TestBroker()
        let agent = try AgentServiceTests.agent(broker)
        defer { agent.remove() }
        try agent.start()
        _ = try agent.cli(["status"])
        #expect(agent.log().contains(" info control: control request"), "the test config starts at debug")

        let config = try String(contentsOfFile: agent.configPath, encoding: .utf8)
            .replacingOccurrences(of: "log_level = \"debug\"", with: "log_level = \"warning\"")
        _ = try agent.directory.file("gateway-agent.toml", contents: config, mode: 0o600)
        agent.reload()
        let deadline = ContinuousClock.now + .seconds(10)
        while !agent.log().contains("identities.d reconciled declared=0 requests=0"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        try await Task.sleep(for: .milliseconds(300))
        let before = agent.log().count
        _ = try agent.cli(["status"])
        _ = try agent.cli(["identity", "list"])
        let after = String(agent.log().dropFirst(before))
        #expect(!after.contains(" info ") && !after.contains(" debug "), "nothing below warning after SIGHUP:\n\(after)")
        #expect(agent.stop() == .exited(0))
    }
}
