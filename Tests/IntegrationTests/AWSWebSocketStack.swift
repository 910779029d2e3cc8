import ControlProtocol
import Foundation
import Glibc
import TestSupport

/// The whole aws-websocket test stack: the fake organization endpoint (shared, one organization per stack),
/// a real mosquitto, the cloud-side responder on it, the fake AWS IoT gateway relaying to it, and the real agent
/// configured with nothing but the organization's id, base URL and token (plus test CAs, port and timers).
final class AWSWebSocketStack {
    let organization: FakeOrganizationEndpoint
    let organizationID: String
    let token: String
    let broker: TestBroker
    let responder: TestIdentityResponder
    let gateway: AWSIoTGatewayFixture
    let agent: AgentUnderTest

    /// Credentials for the gateway the fixture's certificate names (`localhost`), valid for `lifetime` seconds.
    static func credentials(lifetime: Double = 3600) -> FakeOrganizationEndpoint.Response {
        .credentials(lifetime: lifetime, iotEndpoint: "localhost")
    }

    /// Plans the organization's answers, starts everything but the agent, and writes its configuration;
    /// `gatewayClockOffset` puts the gateway's clock that many seconds ahead of this host's; `gatewayCertificate`
    /// replaces its TLS certificate, `brokerCAFile` the CA the agent trusts for it; `brokerPort` points the agent
    /// elsewhere than the gateway.
    init(
        plan: [FakeOrganizationEndpoint.Response] = [credentials()], refreshBefore: String? = nil,
        requestTimeout: String? = nil, proxyURL: String? = nil, proxyCredentials: String? = nil,
        identity: String = "ack_timeout = \"2s\"", gatewayClockOffset: Int = 0,
        gatewayCertificate: (certificate: String, key: String)? = nil, brokerCAFile: String? = nil,
        brokerPort: Int? = nil
    ) throws {
        organization = try FakeOrganizationEndpoint.shared.get()
        organizationID = organization.newOrganizationID("aws-ws")
        organization.plan(organizationID, plan)
        token = "org-token-\(UUID().uuidString)"
        broker = try TestBroker()
        responder = try TestIdentityResponder(broker: broker)
        let certificates = try HTTPSTestCertificates.shared.get()
        gateway = try AWSIoTGatewayFixture(
            issuedCredentialsFile: organization.issuedCredentialsFile(organizationID), brokerSocket: broker.unixSocketPath,
            certificate: gatewayCertificate?.certificate ?? certificates.serverCertificate,
            key: gatewayCertificate?.key ?? certificates.serverKey, clockOffset: gatewayClockOffset)
        agent = try AgentUnderTest(
            organization: OrganizationAgentSettings(
                organizationID: organizationID, baseURL: organization.baseURL, token: token,
                organizationCAFile: certificates.caFile, brokerCAFile: brokerCAFile ?? certificates.caFile,
                brokerPort: brokerPort ?? gateway.port,
                refreshBefore: refreshBefore, requestTimeout: requestTimeout, proxyURL: proxyURL,
                proxyCredentials: proxyCredentials),
            identity: identity)
    }

    deinit {
        agent.stop(signal: SIGKILL)
        agent.remove()
    }

    /// Starts the agent and waits until it is connected; proxy variables of the test runner's environment are
    /// cleared, then `environment` is applied.
    func start(environment: [String: String] = [:]) async throws {
        let cleared = ["HTTPS_PROXY": "", "https_proxy": "", "NO_PROXY": "", "no_proxy": ""]
        try agent.start(environment: cleared.merging(environment) { _, new in new })
        _ = try await waitForStatus("the first connection") { $0.connection == "connected" }
    }

    /// `identity create` through the CLI, waiting for the ack unless `wait` is false.
    func create(_ id: String, wait: Bool = true) throws -> CLIResult {
        var arguments = ["identity", "create", "--id", id, "--public-key", "-"]
        if wait { arguments += ["--wait", "--timeout", "20s"] }
        return try agent.cli(arguments, stdin: CloudHarness.key)
    }

    /// `status --json` decoded, through the control socket.
    func status() throws -> StatusView {
        let client = try ControlClient(socketPath: agent.socketPath)
        try client.send(ControlRequest(id: "test", verb: .status, args: ControlArguments()))
        guard let status = try client.receive().result?.status else { throw ChildProcessError("no status") }
        return status
    }

    /// Polls the agent's status until `condition` holds.
    func waitForStatus(
        _ what: String, timeout: Duration = .seconds(30), _ condition: (StatusView) -> Bool
    ) async throws -> StatusView {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = try? status(), condition(status) { return status }
            try await Task.sleep(for: .milliseconds(50))
        }
        // A test starved of its thread past the deadline gets one last look before it fails.
        let last = try? status()
        if let last, condition(last) { return last }
        throw ChildProcessError(
            "timed out waiting for \(what): \(String(describing: last))\ngateway: "
                + "\(gateway.events.map(\.description))\nagent log:\n\(agent.log().suffix(4000))")
    }

    /// Polls the organization endpoint's request log until it holds at least `count` requests.
    func waitForOrganizationRequests(_ count: Int, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if organization.requests(organizationID).count >= count { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ChildProcessError(
            "the organization endpoint did not see \(count) requests; agent log:\n\(agent.log().suffix(4000))")
    }

    /// What the organization endpoint handed out, oldest first: access key id, secret, token, expiration.
    func issued() -> [(accessKeyID: String, secret: String, token: String, expiration: String)] {
        let text = (try? String(contentsOfFile: organization.issuedCredentialsFile(organizationID), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let entry = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
                let key = entry["accessKeyId"], let secret = entry["secretAccessKey"],
                let token = entry["sessionToken"], let expiration = entry["expiration"]
            else { return nil }
            return (key, secret, token, expiration)
        }
    }

    /// Every secret the agent was given: the Bearer token and each issued secret key and session token.
    var secrets: [String] {
        [token] + issued().flatMap { [$0.secret, $0.token] }
    }

    /// The secrets (if any) that occur in the agent's log or in `status` / `status --json`.
    func leakedSecrets() throws -> [String] {
        let texts = [agent.log(), try agent.cli(["status", "--json"]).stdout, try agent.cli(["status"]).stdout]
        return secrets.filter { secret in texts.contains { $0.contains(secret) } }
    }

    /// What is left in the agent's private tunnel directory (sockets of attempts still open).
    var tunnelSockets: [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: agent.stateDir + "/tunnel")) ?? []
    }

    /// The access key id the organization endpoint hands out with its `n`-th answer.
    static func accessKeyID(_ n: Int) -> String { String(format: "ASIAFAKE%012d", n) }
}

/// `Tests/Fixtures/connect_proxy_fixture.py`: an HTTP CONNECT proxy that logs `CONNECT <authority> auth=…`.
final class ConnectProxyFixture {
    let port: Int
    private let directory: TempDirectory
    private let process: ChildProcess

    /// Starts the proxy; with `requireAuth` (user:password) it answers 407 to requests without those credentials.
    init(requireAuth: String? = nil) async throws {
        directory = try TempDirectory(prefix: "connect-proxy")
        let readyFile = directory.path("ready")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/connect_proxy_fixture.py").path
        process = try ChildProcess(
            executable: "/usr/bin/env",
            arguments: ["python3", script, "--ready-file", readyFile, "--events", directory.path("events")]
                + (requireAuth.map { ["--require-auth", $0] } ?? []),
            // The fixture exits when its stdin closes: keep it open for the fixture's lifetime.
            stdout: .discard, stderr: .inherit, stdinPipe: true)
        // A loaded 2-core machine can take seconds to start python; a fixture that died says how.
        let deadline = ContinuousClock.now + .seconds(30)
        var port: Int?
        while port == nil, ContinuousClock.now < deadline {
            port = (try? String(contentsOfFile: readyFile, encoding: .utf8))
                .flatMap { Int($0.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") }
            if port == nil, let ended = process.wait(timeout: .zero) {
                throw ChildProcessError("connect_proxy_fixture.py \(ended) before it listened")
            }
            if port == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        guard let port else { throw ChildProcessError("connect_proxy_fixture.py did not listen within 30 s") }
        self.port = port
    }

    deinit {
        process.send(SIGKILL)
        process.wait()
        directory.remove()
    }

    /// The `CONNECT <authority> auth=<ok|missing|wrong|given>` lines logged so far.
    var events: [String] {
        ((try? String(contentsOfFile: directory.path("events"), encoding: .utf8)) ?? "")
            .split(separator: "\n").map(String.init)
    }
}
