import Foundation

/// A real `mosquitto` for tests, on free ports of 127.0.0.1, with the listeners the agent's tests need:
///
/// - `certificatePort`: TLS, client certificate required (`use_identity_as_username`: the username is the CN).
/// - `passwordPort`: TLS, username `username` / password `password` (from a `mosquitto_passwd` file).
/// - `wrongHostPort`: TLS with a certificate for `broker.invalid` (host-name mismatch tests), anonymous.
/// - `webSocketPort`: plain MQTT over WebSocket, anonymous (for the tunnel's tests).
/// - `unixSocketPath`: plain MQTT on a Unix socket, anonymous (test tooling and the tunnel's local side).
///
/// All TLS listeners use `certificates` (server certificate signed by `certificates.caFile`).
/// The broker log goes to `logFile`. `stop()`, `start()` and `restart()` keep the same ports;
/// the process is killed when the value goes away.
public final class TestBroker: @unchecked Sendable {
    // @unchecked: `process` is only touched under `lock`.
    public let certificates: TestCertificates
    /// Private directory with the config, password file, socket and log.
    public let directory: String
    public let certificatePort: Int
    public let passwordPort: Int
    public let wrongHostPort: Int
    public let webSocketPort: Int
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

    private let lock = NSLock()
    private var process: MQTTTestProcess?

    /// Writes the configuration and starts the broker; returns when every listener accepts connections.
    public init(certificates: TestCertificates? = nil, extraConfig: String = "") throws {
        self.certificates = try certificates ?? TestCertificates()
        self.extraConfig = extraConfig
        directory = try MQTTTestCommand.makePrivateDirectory(prefix: "test-broker")
        unixSocketPath = "\(directory)/mqtt.sock"
        logFile = "\(directory)/mosquitto.log"
        passwordFile = "\(directory)/agent-password"
        password = "pw-\(UUID().uuidString.prefix(12))"
        var ports = Set<Int>()
        while ports.count < 4 { ports.insert(try MQTTTestCommand.freePort()) }
        let sorted = Array(ports)
        (certificatePort, passwordPort, wrongHostPort, webSocketPort) = (sorted[0], sorted[1], sorted[2], sorted[3])

        try password.write(toFile: passwordFile, atomically: true, encoding: .utf8)
        try MQTTTestCommand.run(
            TestExecutables.mosquittoPasswd, ["-b", "-c", "\(directory)/mosquitto.passwd", username, password])
        try configuration().write(toFile: "\(directory)/mosquitto.conf", atomically: true, encoding: .utf8)
        try MQTTTestCommand.restrictFiles(in: directory)
        try start()
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
        let started: MQTTTestProcess? = try lock.withLock {
            if let process, process.isRunning { return nil }
            let process = try MQTTTestProcess(
                TestExecutables.mosquitto, ["-c", "\(directory)/mosquitto.conf"], outputFile: logFile)
            self.process = process
            return process
        }
        guard let started else { return }
        try waitUntilListening(started)
    }

    /// Stops the broker with SIGTERM (MQTT 5 clients get DISCONNECT "server shutting down") and waits for it to exit.
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
        let running: MQTTTestProcess? = lock.withLock {
            defer { process = nil }
            return process
        }
        guard let running else { return }
        running.terminate(signal)
        try? FileManager.default.removeItem(atPath: unixSocketPath)
    }

    private func waitUntilListening(_ process: MQTTTestProcess) throws {
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

/// A child process started with `posix_spawn`, default signal handling and an empty signal mask.
///
/// Foundation's `Process` lets the child inherit the test runner's blocked signals, so a broker started
/// that way ignores SIGTERM; tests need `stop()` to behave like systemd's.
final class MQTTTestProcess: @unchecked Sendable {
    // @unchecked: `exitStatus` is only touched under `lock`.
    let pid: pid_t
    private let lock = NSLock()
    private var exitStatus: Int32?

    /// Starts `executable`; stdout and stderr are appended to `outputFile` (or discarded), stdin is /dev/null.
    init(_ executable: String, _ arguments: [String], outputFile: String? = nil) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputFile ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard rc == 0 else {
            throw MQTTTestCommand.Failure("cannot start \(executable): \(String(cString: strerror(rc)))")
        }
        self.pid = pid
    }

    deinit {
        terminate(SIGKILL)
    }

    /// True until the process has exited.
    var isRunning: Bool { reap(blocking: false) == nil }

    /// The exit status (as `waitpid` reports it), once the process has exited.
    var status: Int32? { reap(blocking: false) }

    /// Sends `signal` and waits for the process to exit; SIGKILL after 5 s if it does not.
    func terminate(_ signal: Int32 = SIGTERM) {
        guard isRunning else { return }
        kill(pid, signal)
        let deadline = Date().addingTimeInterval(5)
        while isRunning, Date() < deadline { usleep(5_000) }
        if isRunning {
            kill(pid, SIGKILL)
            _ = reap(blocking: true)
        }
    }

    /// Waits up to `timeout` for the process to exit by itself; returns its status, or nil if it still runs.
    func waitForExit(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let status = reap(blocking: false) { return status }
            usleep(5_000)
        }
        return reap(blocking: false)
    }

    private func reap(blocking: Bool) -> Int32? {
        lock.withLock {
            if let exitStatus { return exitStatus }
            var status: Int32 = 0
            let result = waitpid(pid, &status, blocking ? 0 : WNOHANG)
            if result == pid || (result == -1 && errno == ECHILD) {
                exitStatus = status
            }
            return exitStatus
        }
    }
}

/// Small process, file and socket helpers for the MQTT test fixtures.
enum MQTTTestCommand {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// Runs `executable` to completion; throws with its output when it fails.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw Failure("\(executable) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(text)")
        }
        return text
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

    /// A TCP port on 127.0.0.1 that nothing listens on right now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw -> Int32 in
                guard bind(fd, raw, length) == 0 else { return -1 }
                return getsockname(fd, raw, &length)
            }
        }
        guard bound == 0 else { throw Failure("bind: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// True when something accepts TCP connections on 127.0.0.1:`port`.
    static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// True when something accepts connections on the Unix socket at `path`.
    static func canConnect(unixSocket path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
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
