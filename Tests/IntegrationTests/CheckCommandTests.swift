import ControlProtocol
import Foundation
import Glibc
import TestSupport
import Testing

/// `gateway-agent check` against the aws-websocket test stack, each test with one fault.
@Suite("gateway-agent check", .blockingWaits)
struct CheckCommandTests {
    /// One run of `check --json`: exit status, each check's statuses and messages, the facts.
    struct Run: CustomStringConvertible {
        let result: CLIResult
        let checks: [(check: String, status: String, message: String)]
        let facts: [String: Any]
        let elapsed: Duration

        func statuses(_ check: String) -> [String] { checks.filter { $0.check == check }.map(\.status) }
        func message(_ check: String) -> String { checks.filter { $0.check == check }.map(\.message).joined(separator: " | ") }
        func fact(_ section: String, _ key: String) -> Any? { (facts[section] as? [String: Any])?[key] }
        var description: String { "\(result)" }
    }

    static func check(
        _ stack: AWSWebSocketStack, timeout: String = "15s",
        environment: [String: String] = ["HTTPS_PROXY": "", "https_proxy": ""]
    ) throws -> Run {
        try check(stack.agent, secrets: stack.secrets, timeout: timeout, environment: environment)
    }

    static func check(
        _ agent: AgentUnderTest, secrets: [String], timeout: String = "15s",
        environment: [String: String] = ["HTTPS_PROXY": "", "https_proxy": ""]
    ) throws -> Run {
        let started = ContinuousClock.now
        let result = try agent.cli(["check", "--json", "--timeout", timeout], environment: environment)
        let elapsed = ContinuousClock.now - started
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result)")
        let checks = (object["checks"] as? [[String: Any]] ?? []).map {
            ($0["check"] as? String ?? "", $0["status"] as? String ?? "", $0["message"] as? String ?? "")
        }
        #expect(object["exitCode"] as? Int == Int(result.status), "\(result)")
        #expect(!secrets.contains { result.stdout.contains($0) || result.stderr.contains($0) }, "a secret was printed")
        return Run(result: result, checks: checks, facts: object["facts"] as? [String: Any] ?? [:], elapsed: elapsed)
    }

    @Test("against a healthy stack and a connected agent every line is ok and the exit code is 0")
    func allOK() async throws {
        let stack = try AWSWebSocketStack()
        try await stack.start()
        _ = try stack.create(CloudHarness.id(1))
        let run = try Self.check(stack)
        #expect(run.result.status == 0, "\(run)")
        let expected = [
            "config", "secret", "proxy", "clock.organization", "clock.broker", "organization", "credentials",
            "broker.dns", "broker.tcp", "broker.tls", "broker.server-certificate", "store", "agent",
        ]
        #expect(run.checks.map(\.check) == expected, "\(run)")
        #expect(run.checks.allSatisfy { $0.status == "ok" }, "\(run)")
        #expect(run.fact("agent", "connection") as? String == "connected")
        #expect(run.fact("store", "integrity") as? String == "ok")
        #expect(run.fact("broker", "tlsVerified") as? Bool == true)
        #expect((run.fact("broker", "serverCertificateDaysLeft") as? Int ?? 0) >= 88)
        #expect(abs(run.fact("clock", "brokerOffsetSeconds") as? Double ?? 99) < 5)
        // Keys that do not apply are there, as null.
        #expect(run.fact("broker", "clientCertificateDaysLeft") is NSNull)
        #expect(run.fact("proxy", "url") is NSNull)

        let text = try stack.agent.cli(["check"], environment: ["HTTPS_PROXY": "", "https_proxy": ""])
        #expect(text.status == 0, "\(text)")
        let lines = text.stdout.split(separator: "\n")
        #expect(lines.dropLast().allSatisfy { $0.hasPrefix("ok   ") }, "\(text)")
        #expect(lines.last == "check: \(expected.count) ok, 0 warn, 0 fail", "\(text)")
    }

    @Test("a skewed Date header warns above a minute (organization) and fails above five (broker, 20 min ahead)")
    func skewedClock() async throws {
        let stack = try AWSWebSocketStack(
            plan: [.skewed(offset: 120, then: AWSWebSocketStack.credentials())], gatewayClockOffset: 1200)
        let run = try Self.check(stack)
        #expect(run.result.status == 1, "\(run)")
        #expect(run.statuses("clock.organization") == ["warn"], "\(run)")
        #expect(run.message("clock.organization").contains("behind the organization endpoint's"), "\(run)")
        #expect((118...122).contains(run.fact("clock", "organizationOffsetSeconds") as? Double ?? 0), "\(run)")
        #expect(run.statuses("clock.broker") == ["fail"], "\(run)")
        #expect(run.message("clock.broker").contains(" min "), "\(run)")
        #expect(run.message("clock.broker").contains("behind the broker's"), "\(run)")
        #expect(run.message("clock.broker").contains("NTP"), "\(run)")
        #expect(run.statuses("organization") == ["ok"], "\(run)")
        #expect(run.statuses("agent") == ["warn"], "not running: \(run)")
        #expect((1198...1202).contains(run.fact("clock", "brokerOffsetSeconds") as? Double ?? 0), "\(run)")
    }

    @Test(
        "a broker certificate that expired, or is for another host name, fails the TLS line saying which",
        arguments: ["expired", "wrong-name"])
    func badServerCertificate(which: String) async throws {
        let certificates = try HTTPSTestCertificates.shared.get()
        let stack = try AWSWebSocketStack(
            gatewayCertificate: which == "expired"
                ? (certificates.expiredCertificate, certificates.expiredKey)
                : (certificates.wrongNameCertificate, certificates.wrongNameKey))
        let run = try Self.check(stack)
        #expect(run.result.status == 1, "\(run)")
        #expect(run.statuses("broker.tcp") == ["ok"], "\(run)")
        #expect(run.statuses("broker.tls") == ["fail"], "\(run)")
        let expected = which == "expired" ? "certificate has expired" : "not valid for that name"
        #expect(run.message("broker.tls").contains(expected), "\(run)")
        #expect(run.fact("broker", "tlsVerified") as? Bool == false)
    }

    @Test("a broker CA that did not sign the broker's certificate fails the TLS line, naming ca_file")
    func wrongCA() async throws {
        let certificates = try HTTPSTestCertificates.shared.get()
        let stack = try AWSWebSocketStack(brokerCAFile: certificates.otherCAFile)
        let run = try Self.check(stack)
        #expect(run.result.status == 1, "\(run)")
        #expect(run.statuses("broker.tls") == ["fail"], "\(run)")
        #expect(run.message("broker.tls").contains("check ca_file"), "\(run)")
        #expect(run.statuses("organization") == ["ok"], "\(run)")
    }

    @Test("a hanging organization endpoint fails as timed out, and check ends within its --timeout")
    func hangingEndpoint() async throws {
        let stack = try AWSWebSocketStack(plan: [.hang])
        let run = try Self.check(stack, timeout: "3s")
        #expect(run.result.status == 1, "\(run)")
        #expect(run.statuses("organization") == ["fail"], "\(run)")
        #expect(run.message("organization").contains("timed out"), "\(run)")
        // The process starts, checks and exits within the limit plus the time a loaded machine needs to start it
        // (the configuration's 30 s request timeout would take far longer).
        #expect(run.elapsed < .seconds(8), "took \(run.elapsed)")
    }

    @Test("a broker that accepts TCP but never answers TLS fails the TLS line as timed out, within --timeout")
    func hangingBroker() async throws {
        let silent = try SilentListener()
        let stack = try AWSWebSocketStack(brokerPort: silent.port)
        let run = try Self.check(stack, timeout: "3s")
        #expect(run.result.status == 1, "\(run)")
        #expect(run.statuses("broker.tcp") == ["ok"], "\(run)")
        #expect(run.statuses("broker.tls") == ["fail"], "\(run)")
        #expect(run.message("broker.tls").contains("timed out"), "\(run)")
        #expect(run.statuses("organization") == ["ok"], "\(run)")
        #expect(run.elapsed < .seconds(8), "took \(run.elapsed)")
    }

    @Test("mqtt-tls: a client certificate and a broker certificate expiring within 14 days warn, saying to renew")
    func certificatesExpiringSoon() async throws {
        let harness = try CloudHarness()
        _ = try await harness.waitForStatus("connected") { $0.connection == "connected" }
        let run = try Self.check(harness.agent, secrets: [])
        // The test PKI is valid for two days.
        #expect(run.result.status == 0, "warnings only: \(run)")
        #expect(run.statuses("broker.client-certificate") == ["warn"], "\(run)")
        #expect(run.message("broker.client-certificate").contains("renew cert_file"), "\(run)")
        #expect(run.statuses("broker.server-certificate") == ["warn"], "\(run)")
        #expect(run.statuses("broker.tls") == ["ok"], "\(run)")
        #expect(run.statuses("agent") == ["ok"], "\(run)")
        #expect(!run.checks.contains { $0.check.hasPrefix("clock.") || $0.check == "organization" }, "\(run)")
        // Made moments ago with `-days 2`: 1 day left, or 2 when openssl's two dates straddle a second.
        #expect((1...2).contains(run.fact("broker", "clientCertificateDaysLeft") as? Int ?? 0), "\(run)")
    }

    /// TLS 1.2 judges the client certificate during the handshake, TLS 1.3 after it.
    @Test(
        "mqtt-tls against a broker requiring a client certificate: the TLS line presents the configured one and says whether the broker took it",
        arguments: ["1.2", "1.3"], [true, false])
    func clientCertificateRequired(tls: String, trusted: Bool) throws {
        let broker = try TestBroker(onlyTLS12: tls == "1.2")
        let certificates = broker.certificates
        let (certFile, keyFile) =
            trusted
            ? (certificates.clientCertFile, certificates.clientKeyFile)
            : (certificates.otherClientCertFile, certificates.otherClientKeyFile)
        let agent = try AgentUnderTest(
            broker: AgentBrokerSettings(
                port: broker.certificatePort, caFile: certificates.caFile, certFile: certFile, keyFile: keyFile))
        defer { agent.remove() }
        // The key's PEM body, line by line: none of it may appear in the output.
        let keyLines = try String(contentsOfFile: keyFile, encoding: .utf8).split(separator: "\n")
            .filter { !$0.hasPrefix("-----") }.map(String.init)
        let run = try Self.check(agent, secrets: keyLines)
        #expect(run.statuses("broker.tcp") == ["ok"], "\(run)")
        if trusted {
            #expect(run.statuses("broker.tls") == ["ok"], "\(run)")
            #expect(run.message("broker.tls").contains("the broker accepted the client certificate \(certFile)"), "\(run)")
            #expect(run.fact("broker", "tlsVerified") as? Bool == true, "\(run)")
            #expect(run.result.status == 0, "warnings only (agent not running, no store yet): \(run)")
        } else {
            #expect(run.statuses("broker.tls") == ["fail"], "\(run)")
            #expect(run.message("broker.tls").contains("the broker refused the client certificate \(certFile)"), "\(run)")
            #expect(run.message("broker.tls").contains("unknown ca"), "\(run)")
            #expect(run.result.status == 1, "\(run)")
        }
        if trusted || tls == "1.3" {
            #expect(run.fact("broker", "tlsVersion") as? String == "TLSv\(tls)", "\(run)")
        }
    }

    @Test("a request the cloud rejected warns on the store line, saying how to retry or dismiss it")
    func failedRequest() async throws {
        let harness = try CloudHarness()
        try await harness.responder.setBehaviour("{\"mode\":\"error\",\"error\":\"invalid-key\",\"message\":\"key rejected\"}")
        let created = try harness.create(CloudHarness.id(7))
        #expect(created.status == 3, "\(created)")
        let result = try harness.agent.cli(["check"], environment: ["HTTPS_PROXY": "", "https_proxy": ""])
        let store = result.stdout.split(separator: "\n").filter { $0.contains(" store: ") }
        #expect(store.count == 1, "\(result)")
        #expect(store.first?.hasPrefix("warn ") == true, "\(result)")
        #expect(store.first?.contains("1 failed") == true, "\(result)")
        #expect(store.first?.contains("identity list --state failed") == true, "\(result)")
    }

    @Test("a token the organization endpoint refuses (401) fails the organization line, saying to replace it")
    func badToken() async throws {
        let stack = try AWSWebSocketStack(
            plan: [.reply(status: 401, body: #"{"error": "Unauthorized", "message": "bad token"}"#)])
        let run = try Self.check(stack)
        #expect(run.result.status == 1, "\(run)")
        #expect(run.statuses("organization") == ["fail"], "\(run)")
        #expect(run.message("organization").contains("token"), "\(run)")
        #expect(run.statuses("credentials") == ["fail"], "\(run)")
        #expect(run.statuses("clock.organization") == ["ok"], "the 401 still carries a Date: \(run)")
    }

    @Test("with HTTPS_PROXY and NO_PROXY the proxy line says which endpoint goes through the proxy, as the agent does")
    func proxy() async throws {
        let proxy = try await ConnectProxyFixture()
        let stack = try AWSWebSocketStack()
        let run = try Self.check(
            stack,
            environment: [
                "HTTPS_PROXY": "http://127.0.0.1:\(proxy.port)", "https_proxy": "", "NO_PROXY": "localhost", "no_proxy": "",
            ])
        #expect(run.statuses("proxy") == ["ok"], "\(run)")
        #expect(run.message("proxy").contains("organization endpoint 127.0.0.1 through it"), "\(run)")
        #expect(run.message("proxy").contains("broker localhost direct (no_proxy)"), "\(run)")
        #expect(run.fact("proxy", "organizationEndpointViaProxy") as? Bool == true)
        #expect(run.fact("proxy", "brokerViaProxy") as? Bool == false)
        #expect(run.statuses("organization") == ["ok"], "\(run)")
        #expect(proxy.events.contains { $0.hasPrefix("CONNECT 127.0.0.1:") }, "\(proxy.events)")
        #expect(run.statuses("broker.tls") == ["ok"], "\(run)")
    }

    @Test("an invalid configuration fails the config lines and exits 2, as check-config does")
    func invalidConfiguration() throws {
        let directory = try TempDirectory(prefix: "check-config")
        defer { directory.remove() }
        let config = try directory.file("gateway-agent.toml", contents: "[agent]\nmodule_id = \"bad id!\"\n", mode: 0o600)
        let binary = try builtExecutable(named: "gateway-agent")
        let outcome = try ChildProcess.run(binary, ["check", "--config", config])
        #expect(outcome.termination.shellStatus == 2, "\(outcome.stdout)")
        #expect(outcome.stdout.hasPrefix("fail config: \(config)"), "\(outcome.stdout)")
        #expect(outcome.stdout.contains("fail config: config invalid: "), "\(outcome.stdout)")
    }
}

/// A loopback TCP listener that never accepts: connections complete in its backlog and then hear nothing.
final class SilentListener {
    let port: Int
    private let descriptor: Int32

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listener, pointer, length) == 0 && listen(listener, 8) == 0
                    && getsockname(listener, pointer, &length) == 0
            }
        }
        guard listener >= 0, bound else {
            close(listener)
            throw ChildProcessError("cannot listen on 127.0.0.1")
        }
        descriptor = listener
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}
