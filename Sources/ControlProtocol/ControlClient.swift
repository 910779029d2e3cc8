#if canImport(Glibc)
import Glibc
#endif

/// Why the CLI could not talk to the agent; all map to exit code 5 except `protocolError` (1).
public enum ControlClientError: Error, CustomStringConvertible, Sendable {
    case notRunning(socket: String)
    case permissionDenied(socket: String)
    case connectionFailed(socket: String, errno: Int32)
    case closedByAgent(socket: String)
    case protocolError(String)

    public var description: String {
        switch self {
        case .notRunning(let socket):
            "agent not reachable: no agent listens on \(socket) (is `gateway-agent run` / the gateway-agent service running? is agent.control_socket right?)"
        case .permissionDenied(let socket):
            "agent not reachable: permission denied on \(socket) (run as root or as a member of agent.control_group / agent.readers_group)"
        case .connectionFailed(let socket, let code):
            "agent not reachable: cannot connect to \(socket): \(String(cString: strerror(code)))"
        case .closedByAgent(let socket):
            "the agent closed the connection on \(socket) before answering (is it stopping?)"
        case .protocolError(let text):
            "unexpected answer from the agent: \(text)"
        }
    }

    public var exitCode: Int32 {
        if case .protocolError = self { return 1 }
        return 5
    }
}

/// A blocking client connection to the control socket: send a request, read response lines.
public final class ControlClient {
    private let fd: Int32
    private let socketPath: String
    private var buffer: [UInt8] = []

    public init(socketPath: String) throws(ControlClientError) {
        self.socketPath = socketPath
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw .connectionFailed(socket: socketPath, errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .connectionFailed(socket: socketPath, errno: errno) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if rc != 0 {
            let code = errno
            close(fd)
            switch code {
            case ENOENT, ECONNREFUSED: throw .notRunning(socket: socketPath)
            case EACCES, EPERM: throw .permissionDenied(socket: socketPath)
            default: throw .connectionFailed(socket: socketPath, errno: code)
            }
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Sends one request line.
    public func send(_ request: ControlRequest) throws(ControlClientError) {
        let line = ControlCoding.encodeLine(request)
        var offset = 0
        while offset < line.count {
            let n = line[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .closedByAgent(socket: socketPath)
            }
            offset += n
        }
    }

    /// Reads the next response line; throws when the agent closes the connection first.
    public func receive() throws(ControlClientError) -> ControlResponse {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                do {
                    return try ControlCoding.decodeResponse(line)
                } catch {
                    throw .protocolError("not a response line (\(line.count) bytes)")
                }
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .closedByAgent(socket: socketPath) }
            buffer.append(contentsOf: chunk[..<n])
            guard buffer.count <= maxControlLineBytes * 4 else { throw .protocolError("response line too long") }
        }
    }
}
