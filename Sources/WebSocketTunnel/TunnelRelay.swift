import CryptoSupport
import Glibc

/// Moves bytes between the MQTT client on the private socket and the WebSocket connection until one side ends.
///
/// Runs on the tunnel's own thread and owns every descriptor of the tunnel; nothing here is shared.
final class TunnelRelay {
    /// How long one frame may take to reach the server before the connection counts as lost.
    private static let writeTimeout: Duration = .seconds(10)
    /// How long to wait for the server's close frame after sending ours.
    private static let closeWait: Duration = .seconds(1)
    /// Bytes read from the client socket per frame sent.
    private static let readChunk = 16 * 1024

    private let stream: TLSClientStream
    private let control: TunnelControl
    private var listener: PrivateSocket?
    private var client: Int32 = -1
    private var reader: WebSocketFrameReader
    private var toClient: [UInt8] = []
    private var toClientStart = 0
    /// Reading from the server pauses while this many bytes wait for the client (back-pressure).
    private let maxPendingToClient: Int
    private let acceptDeadline: Deadline
    private let onRefusedPeer: @Sendable (RefusedPeer) -> Void
    private var closing: (deadline: Deadline, reason: TunnelCloseReason)?

    init(
        stream: TLSClientStream, earlyBytes: [UInt8], listener: PrivateSocket, control: TunnelControl,
        maxMessageBytes: Int, acceptTimeout: Duration, onRefusedPeer: @escaping @Sendable (RefusedPeer) -> Void
    ) {
        self.stream = stream
        self.listener = listener
        self.control = control
        self.reader = WebSocketFrameReader(maxMessageBytes: maxMessageBytes)
        self.reader.append(earlyBytes)
        self.maxPendingToClient = 4 * maxMessageBytes
        self.acceptDeadline = Deadline(after: acceptTimeout)
        self.onRefusedPeer = onRefusedPeer
    }

    /// Relays until the tunnel ends, releases every descriptor and the socket file, and returns why it ended.
    func run() -> TunnelCloseReason {
        let reason = relay()
        flushToClient(within: .milliseconds(500))
        stream.close()
        if client >= 0 { Glibc.close(client) }
        listener?.close()
        return reason
    }

    private var pendingToClient: Int { toClient.count - toClientStart }

    private func relay() -> TunnelCloseReason {
        if let end = handleInbound() { return end }
        while true {
            if closing == nil && control.isCloseRequested, let end = beginClosing(.closedLocally) { return end }
            if closing == nil && listener != nil && acceptDeadline.hasPassed,
                let end = beginClosing(.clientNeverConnected)
            {
                return end
            }
            if let closing, closing.deadline.hasPassed { return closing.reason }

            let readServer = pendingToClient < maxPendingToClient
            var descriptors = [
                pollfd(fd: control.wakeDescriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: stream.fileDescriptor, events: readServer ? Int16(POLLIN) : 0, revents: 0),
            ]
            let listenerSlot = listener.map { listener in
                descriptors.append(pollfd(fd: listener.fileDescriptor, events: Int16(POLLIN), revents: 0))
                return descriptors.count - 1
            }
            var clientSlot: Int?
            if client >= 0 {
                let events = (closing == nil ? POLLIN : 0) | (pendingToClient > 0 ? POLLOUT : 0)
                descriptors.append(pollfd(fd: client, events: Int16(events), revents: 0))
                clientSlot = descriptors.count - 1
            }
            let ready = poll(&descriptors, nfds_t(descriptors.count), pollTimeout(readServer: readServer))
            if ready < 0 {
                if errno == EINTR { continue }
                return closing?.reason ?? .connectionLost("poll failed: \(String(cString: strerror(errno)))")
            }
            if descriptors[0].revents != 0 { control.drainWakeups() }
            if readServer && (descriptors[1].revents != 0 || stream.hasBufferedData),
                let end = readFromServer()
            {
                return end
            }
            if let listenerSlot, descriptors[listenerSlot].revents != 0 { acceptClient() }
            if let clientSlot, client >= 0 {
                let events = Int32(descriptors[clientSlot].revents)
                if events & POLLOUT != 0, let end = flushToClient() { return end }
                if closing == nil && events & (POLLIN | POLLHUP | POLLERR) != 0, let end = readFromClient() {
                    return end
                }
            }
        }
    }

    private func pollTimeout(readServer: Bool) -> Int32 {
        if readServer && stream.hasBufferedData { return 0 }
        var deadlines: [Deadline] = []
        if let closing { deadlines.append(closing.deadline) }
        if closing == nil && listener != nil { deadlines.append(acceptDeadline) }
        return deadlines.map(\.pollMilliseconds).min() ?? -1
    }

    // MARK: Server side

    private func readFromServer() -> TunnelCloseReason? {
        var bytes: [UInt8] = []
        do {
            try stream.read(into: &bytes, maxCount: 64 * 1024, timeout: .zero)
        } catch .connectionClosed {
            return closing?.reason ?? .connectionLost("the server closed the connection without a WebSocket close frame")
        } catch {
            return closing?.reason ?? .connectionLost(error.description)
        }
        reader.append(bytes)
        return handleInbound()
    }

    private func handleInbound() -> TunnelCloseReason? {
        while true {
            let event: InboundWebSocketEvent?
            do {
                event = try reader.next()
            } catch {
                _ = send(WebSocketFrameEncoder.close(code: error.code))
                return closing?.reason ?? .protocolViolation(code: error.code, detail: error.detail)
            }
            guard let event else { return nil }
            switch event {
            case .data(let bytes):
                // After our close frame, data is no longer delivered (RFC 6455 §5.5.1).
                if closing == nil { toClient.append(contentsOf: bytes) }
            case .ping(let payload):
                if closing == nil, let end = send(WebSocketFrameEncoder.frame(.pong, payload: payload[...])) {
                    return end
                }
            case .pong:
                break
            case .close(let code, let reason):
                if let closing { return closing.reason }
                _ = send(WebSocketFrameEncoder.close(code: code))
                return .serverClosed(code: code, reason: reason)
            }
        }
    }

    /// Sends a frame; returns why the tunnel ends if the connection failed.
    private func send(_ frame: [UInt8]) -> TunnelCloseReason? {
        do {
            try stream.write(frame, timeout: Self.writeTimeout)
            return nil
        } catch {
            return closing?.reason ?? .connectionLost(error.description)
        }
    }

    /// Starts the close handshake: our close frame now, then up to `closeWait` for the server's.
    private func beginClosing(_ reason: TunnelCloseReason) -> TunnelCloseReason? {
        closing = (Deadline(after: Self.closeWait), reason)
        if send(WebSocketFrameEncoder.close(code: WebSocketCloseCode.normal)) != nil { return reason }
        return nil
    }

    // MARK: Client side

    private func acceptClient() {
        guard let listener else { return }
        switch listener.accept() {
        case .client(let descriptor):
            client = descriptor
            // One connection per tunnel: nobody else can connect once the socket file is gone.
            listener.close()
            self.listener = nil
        case .refused(let peer):
            onRefusedPeer(peer)
        case .nothing:
            break
        }
    }

    private func readFromClient() -> TunnelCloseReason? {
        var chunk = [UInt8](repeating: 0, count: Self.readChunk)
        let count = chunk.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
        if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { return nil }
        guard count > 0 else { return clientGone() }
        return send(WebSocketFrameEncoder.frame(.binary, payload: chunk[0..<count]))
    }

    private func clientGone() -> TunnelCloseReason? {
        Glibc.close(client)
        client = -1
        toClient = []
        toClientStart = 0
        return beginClosing(.clientDisconnected)
    }

    /// Writes what the client socket takes right now (or, with `within`, waits that long for it to take all).
    @discardableResult
    private func flushToClient(within limit: Duration? = nil) -> TunnelCloseReason? {
        let deadline = limit.map { Deadline(after: $0) }
        while client >= 0 && pendingToClient > 0 {
            let sent = toClient.withUnsafeBytes {
                Glibc.send(
                    client, $0.baseAddress! + toClientStart, pendingToClient, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if sent > 0 {
                toClientStart += sent
                continue
            }
            if sent < 0 && errno == EINTR { continue }
            if sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                guard let deadline, (try? waitUntilReady(client, events: POLLOUT, deadline: deadline)) == true else {
                    return nil
                }
                continue
            }
            if limit != nil { return nil }
            return clientGone()
        }
        toClient.removeAll(keepingCapacity: toClient.count <= maxPendingToClient)
        toClientStart = 0
        return nil
    }
}
