import Foundation
import Synchronization

/// A real `mosquitto` for tests, on free ports of 127.0.0.1, with the listeners the agent's tests need:
///
/// - `certificatePort`: TLS, client certificate required (`use_identity_as_username`: the username is the CN).
/// - `passwordPort`: TLS, username `username` / password `password` (from a `mosquitto_passwd` file).
/// - `wrongHostPort`: TLS with a certificate for `broker.invalid` (host-name mismatch tests), anonymous.
/// - `webSocketPort`: plain MQTT over WebSocket, anonymous (for the tunnel's tests).
/// - `unixSocketPath`: plain MQTT on a Unix socket, anonymous (test tooling and the tunnel's local side).
///
/// All TLS listeners use `certificates` (default: the process-wide `TestCertificates.shared()`).
/// The broker log goes to `logFile`. `stop()`, `start()` and `restart()` keep the same ports;
/// the process is killed when the value goes away.
public final class TestBroker: @unchecked Sendable {
    // @unchecked: `process` is only touched under `lock`; the ports only change inside `init`.
    /// The PKI whose CA signed the broker's certificates.
    public let certificates: TestCertificates
    /// Private directory with the config, password file, socket and log.
    public let directory: String
    /// TLS listener that requires a client certificate signed by the test CA.
    public private(set) var certificatePort = 0
    /// TLS listener that requires `username` / `password`.
    public private(set) var passwordPort = 0
    /// TLS listener whose certificate is for `broker.invalid`.
    public private(set) var wrongHostPort = 0
    /// Plain WebSocket listener (sub-protocol `mqtt`), anonymous.
    public private(set) var webSocketPort = 0
    /// Plain MQTT on a Unix socket, anonymous.
    public let unixSocketPath: String
    /// Username accepted on `passwordPort`.
    public let username = "gateway"
    /// Password accepted on `passwordPort` (random per broker).
    public let password: String
    /// A 0600 file holding `password` and nothing else, for configs with a `password_file` key.
    public let passwordFile: String
    /// Broker output (log_type all).
    public let logFile: String
    /// Extra lines appended to the generated mosquitto.conf.
    public let extraConfig: String
    /// True when the TLS listeners offer TLS 1.2 and nothing newer.
    public let onlyTLS12: Bool

    private let lock = NSLock()
    private var process: ChildProcess?

    /// Writes the configuration and starts the broker; returns when every listener accepts connections.
    /// `onlyTLS12` caps TLS at 1.2 (mosquitto's `tls_version` sets only the minimum), where a client certificate is
    /// judged during the handshake rather than after it.
    public init(certificates: TestCertificates? = nil, extraConfig: String = "", onlyTLS12: Bool = false) throws {
        self.certificates = try certificates ?? TestCertificates.shared()
        self.extraConfig = extraConfig
        self.onlyTLS12 = onlyTLS12
        directory = try MQTTTestCommand.makePrivateDirectory(prefix: "test-broker")
        unixSocketPath = "\(directory)/mqtt.sock"
        logFile = "\(directory)/mosquitto.log"
        passwordFile = "\(directory)/agent-password"
        password = "pw-\(UUID().uuidString.prefix(12))"
        do {
            try password.write(toFile: passwordFile, atomically: true, encoding: .utf8)
            if onlyTLS12 {
                try Self.tls12OpenSSLConfig.write(toFile: "\(directory)/openssl.cnf", atomically: true, encoding: .utf8)
            }
            try ChildProcess.run(
                TestExecutables.mosquittoPasswd, ["-b", "-c", "\(directory)/mosquitto.passwd", username, password],
                timeout: .seconds(20)
            ).checked()
            try startOnFreePorts()
        } catch {
            kill()
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// Picks free ports and starts; a port can be taken between picking and binding (tests run in parallel),
    /// so a bind failure means: pick again.
    private func startOnFreePorts() throws {
        for attempt in 1...5 {
            var ports = Set<Int>()
            while ports.count < 4 { ports.insert(try MQTTTestCommand.freePort()) }
            let chosen = Array(ports)
            (certificatePort, passwordPort, wrongHostPort, webSocketPort) = (chosen[0], chosen[1], chosen[2], chosen[3])
            try configuration().write(toFile: "\(directory)/mosquitto.conf", atomically: true, encoding: .utf8)
            try MQTTTestCommand.restrictFiles(in: directory)
            do {
                try start()
                return
            } catch where attempt < 5 && (log().contains("Address already in use") || log().contains("Unable to create websockets listener")) {
                kill()
                try? FileManager.default.removeItem(atPath: logFile)
            }
        }
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// True while the broker process runs.
    public var isRunning: Bool { lock.withLock { process?.isRunning ?? false } }

    /// The broker's process id, while it runs.
    public var pid: Int32? { lock.withLock { process.flatMap { $0.isRunning ? $0.pid : nil } } }

    /// Starts the broker (if stopped) and waits until every listener accepts connections.
    public func start() throws {
        let started: ChildProcess? = try lock.withLock {
            if let process, process.isRunning { return nil }
            let process = try ChildProcess(
                executable: TestExecutables.mosquitto, arguments: ["-c", "\(directory)/mosquitto.conf"],
                environment: onlyTLS12 ? ["OPENSSL_CONF": "\(directory)/openssl.cnf"] : [:],
                stdout: .file(logFile), stderr: .file(logFile))
            self.process = process
            return process
        }
        guard let started else { return }
        try waitUntilListening(started)
    }

    /// Stops the broker with SIGTERM (MQTT 5 clients get DISCONNECT "server shutting down") and waits for it to exit
    /// (SIGKILL after 5 s).
    public func stop() {
        signal(SIGTERM)
    }

    /// Kills the broker with SIGKILL (a crash: no DISCONNECT) and waits for it to exit.
    public func kill() {
        signal(SIGKILL)
    }

    /// Stops and starts the broker on the same ports; sessions and queued messages are lost (no persistence).
    public func restart() throws {
        stop()
        try start()
    }

    /// The broker log so far, for failure messages.
    public func log() -> String {
        (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
    }

    private func signal(_ signal: Int32) {
        let running: ChildProcess? = lock.withLock {
            defer { process = nil }
            return process
        }
        guard let running else { return }
        running.stop(signal: signal)
        try? FileManager.default.removeItem(atPath: unixSocketPath)
    }

    private func waitUntilListening(_ process: ChildProcess) throws {
        let deadline = Date().addingTimeInterval(10)
        var pending = [certificatePort, passwordPort, wrongHostPort, webSocketPort]
        var socketReady = false
        while Date() < deadline {
            guard process.isRunning else {
                throw MQTTTestCommand.Failure("mosquitto exited during start-up:\n\(log().suffix(2000))")
            }
            pending.removeAll(where: { MQTTTestCommand.canConnect(port: $0) })
            socketReady = socketReady || MQTTTestCommand.canConnect(unixSocket: unixSocketPath)
            if pending.isEmpty, socketReady { return }
            usleep(20_000)
        }
        throw MQTTTestCommand.Failure("mosquitto did not listen on \(pending) within 10 s:\n\(log().suffix(2000))")
    }

    /// An OpenSSL configuration whose defaults, which every TLS context starts from, stop at TLS 1.2.
    private static let tls12OpenSSLConfig = """
        openssl_conf = init
        [init]
        ssl_conf = ssl
        [ssl]
        system_default = tls12
        [tls12]
        MaxProtocol = TLSv1.2

        """

    private func configuration() -> String {
        let tls = """
            cafile \(certificates.caFile)
            certfile \(certificates.serverCertFile)
            keyfile \(certificates.serverKeyFile)
            tls_version tlsv1.2
            """
        return """
            per_listener_settings true
            persistence false
            log_dest file \(logFile)
            log_type all
            log_timestamp_format %H:%M:%S
            connection_messages true
            \(getuid() == 0 ? "user root" : "")

            listener \(certificatePort) 127.0.0.1
            \(tls)
            require_certificate true
            use_identity_as_username true
            allow_anonymous false

            listener \(passwordPort) 127.0.0.1
            \(tls)
            password_file \(directory)/mosquitto.passwd
            allow_anonymous false

            listener \(wrongHostPort) 127.0.0.1
            cafile \(certificates.caFile)
            certfile \(certificates.wrongHostCertFile)
            keyfile \(certificates.wrongHostKeyFile)
            allow_anonymous true

            listener \(webSocketPort) 127.0.0.1
            protocol websockets
            allow_anonymous true

            listener 0 \(unixSocketPath)
            allow_anonymous true

            \(extraConfig)

            """
    }
}

/// Small file and socket helpers for the MQTT test fixtures.
public enum MQTTTestCommand {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// A new 0700 directory under the temp directory (short path: Unix socket paths are limited to 107 bytes).
    static func makePrivateDirectory(prefix: String) throws -> String {
        var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
        guard let result = mkdtemp(&template) else {
            throw Failure("mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        let path = String(cString: result)
        chmod(path, 0o700)
        return path
    }

    /// Makes every file in `directory` 0600.
    static func restrictFiles(in directory: String) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            chmod("\(directory)/\(name)", 0o600)
        }
    }

    /// A TCP port on 127.0.0.1 that nothing listens on right now, each handed out once per test run.
    ///
    /// Taken from below the kernel's ephemeral range, not from it: a port a test broker releases to restart on
    /// could otherwise become the local port of some test's outgoing connection meanwhile ("Address already in
    /// use" when the broker comes back).
    public static func freePort() throws -> Int {
        for _ in TestPorts.range {
            let candidate = TestPorts.next()
            if canBind(port: candidate) { return candidate }
        }
        throw Failure("no port of \(TestPorts.range) can be bound on 127.0.0.1")
    }

    static func canBind(port: Int) -> Bool {
        withLoopbackSocket(port: port) { fd, address, length in bind(fd, address, length) == 0 }
    }

    /// Runs `body` with a new TCP socket and the address 127.0.0.1:`port`; false when no socket can be made.
    private static func withLoopbackSocket(
        port: Int, _ body: (Int32, UnsafePointer<sockaddr>, socklen_t) -> Bool
    ) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                body(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }

    /// True when something accepts TCP connections on 127.0.0.1:`port`.
    public static func canConnect(port: Int) -> Bool {
        withLoopbackSocket(port: port) { fd, address, length in connect(fd, address, length) == 0 }
    }

    /// True when something accepts connections on the Unix socket at `path`.
    static func canConnect(unixSocket path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
        }
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
    }
}

/// The ports `MQTTTestCommand.freePort()` hands out in turn: up to 12,000 below the start of
/// `ip_local_port_range`, starting at a place that depends on the process id.
enum TestPorts {
    static let range: ClosedRange<Int> = {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let ephemeralStart = text.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32_768
        let upper = max(2_048, ephemeralStart) - 1
        return max(1_024, upper - 12_000)...upper
    }()

    private static let cursor = Mutex<Int>(Int(getpid()))

    static func next() -> Int {
        cursor.withLock { value in
            value += 1
            return range.lowerBound + value % range.count
        }
    }
}
