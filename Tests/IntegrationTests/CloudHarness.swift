import ControlProtocol
import Foundation
import Glibc
import TestSupport

/// A real broker, the cloud-side responder and the real agent, wired for Identity v2 tests.
final class CloudHarness {
    let broker: TestBroker
    let responder: TestIdentityResponder
    let agent: AgentUnderTest
    /// One key for every test identity: the cloud side does not care, and openssl is slow.
    static let key: String = try! TestKeys.publicKey()

    /// `route` gives the port the agent dials (the broker's own, or a relay in front of it).
    init(
        identity: String = "ack_timeout = \"2s\"", agent agentExtra: String = "", protocolVersion: String = "mqtt5",
        responderProtocol: String = "mqtt5", extra: String = "", start: Bool = true,
        route: (TestBroker) throws -> Int = { $0.certificatePort }
    ) throws {
        broker = try TestBroker()
        responder = try TestIdentityResponder(broker: broker, protocolVersion: responderProtocol)
        let certificates = broker.certificates
        agent = try AgentUnderTest(
            broker: AgentBrokerSettings(
                port: try route(broker), caFile: certificates.caFile, certFile: certificates.clientCertFile,
                keyFile: certificates.clientKeyFile, protocolVersion: protocolVersion),
            identity: identity, agent: agentExtra, extra: extra)
        if start { try agent.start() }
    }

    deinit {
        agent.stop(signal: SIGKILL)
        agent.remove()
    }

    /// `identity create` through the CLI.
    func create(_ id: String, parent: String? = nil, extra: [String] = [], wait: Bool = true) throws -> CLIResult {
        var arguments = ["identity", "create", "--id", id, "--public-key", "-"] + extra
        if let parent { arguments += ["--parent", parent] }
        if wait { arguments += ["--wait", "--timeout", "20s"] }
        return try agent.cli(arguments, stdin: Self.key)
    }

    /// Sends one control request directly (no CLI process) and returns every response line.
    func submit(_ verb: ControlVerb, _ args: ControlArguments) throws -> [ControlResponse] {
        try Self.submit(to: agent.socketPath, verb, args)
    }

    /// As `submit`, from any thread.
    static func submit(to socketPath: String, _ verb: ControlVerb, _ args: ControlArguments) throws -> [ControlResponse] {
        let client = try ControlClient(socketPath: socketPath)
        try client.send(ControlRequest(id: "test", verb: verb, args: args))
        var responses: [ControlResponse] = []
        while true {
            let response = try client.receive()
            responses.append(response)
            if !response.ok || !(args.wait == true && response.event == .accepted) { return responses }
        }
    }

    /// `status --json` decoded.
    func status() throws -> StatusView {
        guard let status = try submit(.status, ControlArguments()).first?.result?.status else {
            throw ChildProcessError("no status")
        }
        return status
    }

    /// Polls the agent's status until `condition` holds.
    func waitForStatus(_ what: String, timeout: Duration = .seconds(30), _ condition: (StatusView) -> Bool) async throws -> StatusView {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = try? status(), condition(status) { return status }
            try await Task.sleep(for: .milliseconds(50))
        }
        // A test starved of its thread past the deadline gets one last look before it fails.
        let last = try? status()
        if let last, condition(last) { return last }
        throw ChildProcessError("timed out waiting for \(what): \(String(describing: last))\nagent log:\n\(agent.log().suffix(3000))")
    }

    /// A UUID whose last group is `n`, so failures are easy to read.
    static func id(_ n: Int, group: Int = 0) -> String {
        String(format: "6f1c2d3e-%04x-4000-8000-%012x", group, n)
    }
}
