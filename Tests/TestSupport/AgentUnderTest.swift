import Glibc

/// How the agent under test reaches its broker (mqtt-tls).
public struct AgentBrokerSettings: Sendable {
    public var host: String
    public var port: Int
    public var caFile: String
    public var certFile: String?
    public var keyFile: String?
    public var username: String?
    public var passwordFile: String?
    public var protocolVersion: String

    public init(
        host: String = "localhost", port: Int, caFile: String, certFile: String? = nil, keyFile: String? = nil,
        username: String? = nil, passwordFile: String? = nil, protocolVersion: String = "mqtt5"
    ) {
        self.host = host
        self.port = port
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.username = username
        self.passwordFile = passwordFile
        self.protocolVersion = protocolVersion
    }
}

/// What one CLI invocation printed and how it exited.
public struct CLIResult: Sendable, CustomStringConvertible {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var description: String { "exit \(status)\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// The real `gateway-agent` binary running `run` with a generated configuration in a temp directory,
/// plus its CLI pointed at the same configuration.
public final class AgentUnderTest {
    public let directory: TempDirectory
    public let configPath: String
    public let socketPath: String
    public let stateDir: String
    public let identitiesDir: String
    public let logPath: String
    public let moduleID: String
    public private(set) var process: ChildProcess?

    /// Writes the configuration; `extra` is appended TOML (e.g. an `[identity]` table).
    public init(
        moduleID: String = "gw1", broker: AgentBrokerSettings, identity: String = "", agent agentExtra: String = "",
        extra: String = ""
    ) throws {
        directory = try TempDirectory(prefix: "agent")
        self.moduleID = moduleID
        configPath = directory.path("gateway-agent.toml")
        socketPath = directory.path("control.sock")
        stateDir = directory.path("state")
        identitiesDir = try directory.directory("identities.d")
        logPath = directory.path("agent.log")
        var brokerLines = [
            "transport = \"mqtt-tls\"", "endpoint = \"\(broker.host):\(broker.port)\"", "ca_file = \"\(broker.caFile)\"",
            "protocol = \"\(broker.protocolVersion)\"", "reconnect_min = \"100ms\"", "reconnect_max = \"1s\"",
            "connect_timeout = \"5s\"",
        ]
        if let cert = broker.certFile { brokerLines.append("cert_file = \"\(cert)\"") }
        if let key = broker.keyFile { brokerLines.append("key_file = \"\(key)\"") }
        if let user = broker.username { brokerLines.append("username = \"\(user)\"") }
        if let password = broker.passwordFile { brokerLines.append("password_file = \"\(password)\"") }
        let config = """
            [agent]
            module_id = "\(moduleID)"
            state_dir = "\(stateDir)"
            control_socket = "\(socketPath)"
            identities_dir = "\(identitiesDir)"
            log_level = "debug"
            \(agentExtra)

            [credentials]
            source = "none"

            [broker]
            \(brokerLines.joined(separator: "\n"))

            [identity]
            \(identity.contains("max_publish_rate") ? "" : "max_publish_rate = 0")
            \(identity)

            \(extra)
            """
        _ = try directory.file("gateway-agent.toml", contents: config, mode: 0o600)
    }

    deinit {
        process?.stop(signal: SIGKILL)
    }

    /// Starts `gateway-agent run`; waits until the control socket answers.
    public func start(waitForSocket: Bool = true, environment: [String: String] = [:]) throws {
        let binary = try builtExecutable(named: "gateway-agent")
        process = try ChildProcess(
            executable: binary, arguments: ["run", "--config", configPath], environment: environment,
            stdout: .discard, stderr: .file(logPath))
        guard waitForSocket else { return }
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            if let result = try? cli(["status", "--json"]), result.status == 0 { return }
            if let ended = process?.wait(timeout: .milliseconds(1)) {
                throw ChildProcessError("gateway-agent run \(ended) before it listened; log:\n\(log())")
            }
            usleep(50_000)
        }
        throw ChildProcessError("gateway-agent did not answer on \(socketPath) within 15 s; log:\n\(log())")
    }

    /// SIGHUP: the agent re-reads its log level and identities.d.
    public func reload() {
        process?.send(SIGHUP)
    }

    /// Stops the agent with `signal` and returns how it ended (nil when still running after `timeout`).
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(10)) -> ChildProcess.Termination? {
        guard let process else { return nil }
        process.send(signal)
        let ended = process.wait(timeout: timeout)
        if ended != nil { self.process = nil }
        return ended
    }

    /// Runs the CLI with `arguments` plus `--config`; `stdin` is written to its standard input, `environment`
    /// added to the test runner's.
    public func cli(
        _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:], timeout: Duration = .seconds(60)
    ) throws -> CLIResult {
        let binary = try builtExecutable(named: "gateway-agent")
        let outcome = try ChildProcess.run(
            binary, arguments + ["--config", configPath], environment: environment, stdin: stdin, timeout: timeout)
        return CLIResult(
            status: outcome.termination.shellStatus, stdout: trimmingFinalNewline(outcome.stdout),
            stderr: trimmingFinalNewline(outcome.stderr))
    }

    /// The agent's log so far.
    public func log() -> String {
        String(decoding: TestTranscripts.contents(of: logPath) ?? [], as: UTF8.self)
    }

    /// Writes a file into identities.d.
    public func declare(_ name: String, _ contents: String) throws {
        _ = try directory.file("identities.d/\(name)", contents: contents, mode: 0o644)
    }

    /// Removes the temp directory (the agent must be stopped).
    public func remove() { directory.remove() }
}

/// `text` without one final newline: CLI output compared line by line ends without one.
private func trimmingFinalNewline(_ text: String) -> String {
    text.hasSuffix("\n") ? String(text.dropLast()) : text
}
