#if canImport(Glibc)
import Glibc
#endif
import AgentLogging
import CLinuxShims
import ControlProtocol
import GatewayCore
import Logging

/// Why the control socket could not be opened.
struct ControlSocketError: Error, CustomStringConvertible {
    var description: String
}

/// The Unix socket the CLI and local programs talk to (docs/control-protocol.md).
///
/// One thread accepts; each connection gets its own thread that reads request lines, hands them
/// to the engine and writes back what the engine answers. Limits: `maxConnections` at once,
/// `maxControlLineBytes` per line, `idleTimeout` to send a request, and the `ClientQuota` of each uid.
final class ControlServer: @unchecked Sendable {
    /// Connections served at once. A connection's thread ends a moment after its client hangs up, so a client
    /// that reconnects at once briefly counts twice: leave room for twice the clients expected.
    static let maxConnections = 128
    static let idleTimeoutSeconds = 30

    let path: String
    private let listener: Int32
    private let policy: AccessPolicy
    private let inbox: EngineInbox
    private let quota: ClientQuota
    private let failures: RepeatedFailureLog
    private let logger: Logger
    private let lock = ConditionLock()
    private var active = 0
    private var stopped = false

    /// Binds `path` (mode 0660, group `controlGID`, read access for `readersGID` through an ACL entry).
    init(
        path: String, policy: AccessPolicy, readersGID: UInt32?, inbox: EngineInbox, quota: ClientQuota,
        failures: RepeatedFailureLog, logger: Logger
    ) throws {
        self.path = path
        self.policy = policy
        self.inbox = inbox
        self.quota = quota
        self.failures = failures
        self.logger = logger

        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw ControlSocketError(description: "agent.control_socket: path '\(path)' is longer than \(MemoryLayout.size(ofValue: address.sun_path) - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }

        try Self.removeStaleSocket(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlSocketError(description: "cannot create the control socket: \(String(cString: strerror(errno)))") }
        // Bind under a restrictive umask, then widen to exactly 0660: no moment where others could connect.
        let oldMask = umask(0o177)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        umask(oldMask)
        guard rc == 0 else {
            let code = errno
            close(fd)
            throw ControlSocketError(
                description: "agent.control_socket: cannot bind \(path): \(String(cString: strerror(code))) (does the directory exist and is it writable by the agent?)")
        }
        if chown(path, UInt32.max, policy.controlGID) != 0 && errno != EPERM {
            logger.warning("cannot set the control socket's group", metadata: ["path": "\(path)", "gid": "\(policy.controlGID)"])
        }
        chmod(path, 0o660)
        if let readersGID {
            if let problem = PosixACL.grantGroup(readersGID, readWriteOn: path) {
                logger.warning(
                    "agent.readers_group cannot connect: \(problem)", metadata: ["path": "\(path)", "gid": "\(readersGID)"])
            }
        }
        guard listen(fd, 64) == 0 else {
            let code = errno
            close(fd)
            throw ControlSocketError(description: "cannot listen on \(path): \(String(cString: strerror(code)))")
        }
        listener = fd
    }

    /// A socket file left by a crashed agent is removed; one that answers belongs to a running agent.
    private static func removeStaleSocket(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw ControlSocketError(description: "agent.control_socket: \(path) exists and is not a socket; remove it or choose another path")
        }
        if (try? ControlClient(socketPath: path)) != nil {
            throw ControlSocketError(description: "agent.control_socket: another agent already listens on \(path)")
        }
        unlink(path)
    }

    func start() {
        startThread(name: "control") { self.acceptLoop() }
    }

    /// Stops accepting and removes the socket file; running conversations end on their own.
    func stop() {
        lock.withLock { stopped = true }
        shutdown(listener, Int32(SHUT_RDWR))
        unlink(path)
    }

    private static let outOfDescriptors = "control socket: out of file descriptors"

    private func acceptLoop() {
        while true {
            let client = gateway_accept_cloexec(listener)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if lock.withLock({ stopped }) { return }
                if errno == EMFILE || errno == ENFILE {
                    failures.failed(Self.outOfDescriptors, level: .error)
                    usleep(100_000)
                    continue
                }
                return
            }
            failures.cleared(Self.outOfDescriptors)
            failures.flushDue()
            let admitted = lock.withLock { () -> Bool in
                guard active < Self.maxConnections, !stopped else { return false }
                active += 1
                return true
            }
            guard admitted else {
                let line = ControlCoding.encodeLine(
                    ControlResponse.failure(id: "", ControlError(.unavailable, "too many control connections (\(Self.maxConnections)); try again")))
                _ = line.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                close(client)
                continue
            }
            startThread(name: "control-conn") {
                ControlConnection(
                    fd: client, policy: self.policy, inbox: self.inbox, quota: self.quota, failures: self.failures,
                    logger: self.logger
                ).serve()
                self.lock.withLock { self.active -= 1 }
            }
        }
    }
}
