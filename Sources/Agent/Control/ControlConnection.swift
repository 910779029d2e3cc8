#if canImport(Glibc)
import Glibc
#endif
import AgentLogging
import CLinuxShims
import ControlProtocol
import GatewayCore
import Logging

/// One client of the control socket, served on its own thread until it hangs up.
struct ControlConnection {
    let fd: Int32
    let policy: AccessPolicy
    let inbox: EngineInbox
    let quota: ClientQuota
    /// Refusals repeat as often as a client retries: logged through this, once per uid and interval.
    let failures: RepeatedFailureLog
    let logger: Logger

    func serve() {
        defer { close(fd) }
        guard let peer = peerCredentials() else {
            logger.warning("control connection without peer credentials, closed")
            return
        }
        let client = "uid \(peer.peer.uid)"
        guard peer.access != .deny else {
            failures.failed("control connection refused: not allowed", endpoint: client, metadata: ["peer": "\(peer.peer)"])
            write(.failure(id: "", ControlError(.forbidden, "uid \(peer.peer.uid) is not allowed to use the agent: add it to agent.control_group or agent.readers_group")))
            return
        }
        if let busy = quota.openConnection(uid: peer.peer.uid) {
            failures.failed(
                Self.overLimit, endpoint: client, cause: busy.message,
                metadata: ["peer": "\(peer.peer)", "error": "\(busy.message)"])
            write(.failure(id: "", busy))
            return
        }
        defer { quota.closeConnection(uid: peer.peer.uid) }
        var timeout = timeval(tv_sec: ControlServer.idleTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        var reader = LineReader(fd: fd, limit: maxControlLineBytes)
        while true {
            let line: [UInt8]
            switch reader.next() {
            case .line(let bytes): line = bytes
            case .tooLong:
                logger.warning("control request too large, connection closed", metadata: ["peer": "\(peer.peer)"])
                write(.failure(id: "", ControlError(.tooLarge, "request line longer than \(maxControlLineBytes) bytes")))
                return
            case .closed:
                return
            }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { continue }
            let request: ControlRequest
            switch ControlCoding.decodeRequest(line) {
            case .failure(let error):
                failures.failed(
                    "malformed control request", endpoint: client, cause: error.message,
                    metadata: ["peer": "\(peer.peer)", "error": "\(error.message)"])
                guard write(.failure(id: ControlCoding.requestID(of: line), error)) else { return }
                continue
            case .success(let decoded):
                request = decoded
            }
            if let busy = quota.beginRequest(uid: peer.peer.uid) {
                failures.failed(
                    Self.overLimit, endpoint: client, cause: busy.message,
                    metadata: ["peer": "\(peer.peer)", "verb": "\(request.verb.rawValue)", "error": "\(busy.message)"])
                guard write(.failure(id: request.id, busy)) else { return }
                continue
            }
            logger.info(
                "control request",
                metadata: [
                    "peer": "\(peer.peer)", "verb": "\(request.verb.rawValue)", "identity": "\(request.args.id ?? "-")",
                    "request": "\(request.id.prefix(64))",
                ])
            let channel = ResponseChannel()
            inbox.post(.command(request, peer: peer.peer, channel: channel))
            guard relay(channel, uid: peer.peer.uid) else { return }
        }
    }

    /// The start of the line logged when a client is refused as busy.
    static let overLimit = "control client over its limit, answered busy"

    /// Writes the engine's answers until the final one; false when the client went away.
    ///
    /// The request's slot is given back before its final answer is written, so a client that sends its next
    /// request as soon as it reads the answer (perhaps on a new connection) never finds it still taken.
    private func relay(_ channel: ResponseChannel, uid: UInt32) -> Bool {
        while true {
            if let (response, final) = channel.next(timeout: .milliseconds(250)) {
                if final { quota.endRequest(uid: uid) }
                guard write(response) else {
                    if !final { quota.endRequest(uid: uid) }
                    channel.cancel()
                    return false
                }
                if final { return true }
            } else if clientHungUp() {
                quota.endRequest(uid: uid)
                channel.cancel()
                return false
            }
        }
    }

    private func clientHungUp() -> Bool {
        let hangUp = gateway_pollrdhup() | Int16(POLLHUP) | Int16(POLLERR)
        var pfd = pollfd(fd: fd, events: gateway_pollrdhup(), revents: 0)
        return poll(&pfd, 1, 0) > 0 && (pfd.revents & hangUp) != 0
    }

    @discardableResult
    private func write(_ response: ControlResponse) -> Bool {
        let bytes = ControlCoding.encodeLine(response)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }

    private func peerCredentials() -> (peer: ControlPeer, access: AccessPolicy.Access)? {
        var pid: pid_t = 0
        var uid: uid_t = 0
        var gid: gid_t = 0
        guard gateway_peer_credentials(fd, &pid, &uid, &gid) == 0 else { return nil }
        let access = policy.access(uid: uid, groups: AccessPolicy.groups(ofUID: uid, primaryGID: gid))
        return (ControlPeer(pid: pid, uid: uid, gid: gid, mayWrite: access == .write), access)
    }
}

/// Reads newline-terminated lines with a length limit.
struct LineReader {
    enum Next { case line([UInt8]), tooLong, closed }

    let fd: Int32
    let limit: Int
    private var buffer: [UInt8] = []

    init(fd: Int32, limit: Int) {
        self.fd = fd
        self.limit = limit
    }

    mutating func next() -> Next {
        var scanned = 0
        while true {
            if let newline = buffer[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                return line.count > limit ? .tooLong : .line(line)
            }
            scanned = buffer.count
            guard buffer.count <= limit else { return .tooLong }
            var chunk = [UInt8](repeating: 0, count: 16384)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return .closed }
            buffer.append(contentsOf: chunk[..<n])
        }
    }
}
