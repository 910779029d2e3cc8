import CryptoSupport
import Glibc

/// A TLS + WebSocket (RFC 6455, sub-protocol `mqtt`) connection that an MQTT client reaches through a private
/// Unix socket: libmosquitto connects to `socketPath` with port 0 and the tunnel relays its bytes as binary frames.
///
/// One tunnel serves one connection attempt: it accepts one client (this process only), then the socket file is
/// removed; when either side closes, the tunnel closes.
public final class WebSocketTunnel: Sendable {
    /// The Unix socket the MQTT client connects to (`mosquitto_connect(host: socketPath, port: 0)`).
    public let socketPath: String
    /// The endpoint as `wss://host:port/path`, without the signed query.
    public let endpointDescription: String
    private let control: TunnelControl

    private init(socketPath: String, endpointDescription: String, control: TunnelControl) {
        self.socketPath = socketPath
        self.endpointDescription = endpointDescription
        self.control = control
    }

    deinit {
        control.requestClose()
    }

    /// Connects (through the proxy if one applies), verifies TLS, runs the WebSocket upgrade, and starts relaying.
    ///
    /// - Parameters:
    ///   - endpoint: where to connect; its query is never logged.
    ///   - runtimeDirectory: absolute path of a directory only this agent may enter; created 0700 if missing.
    ///   - connectTimeout: limit for the whole opening, and then for the MQTT client to connect to `socketPath`.
    ///   - onRefusedPeer: called (on the tunnel's thread) when another process connects to the socket.
    public static func open(
        endpoint: WebSocketEndpoint, runtimeDirectory: String, connectTimeout: Duration,
        onRefusedPeer: @escaping @Sendable (RefusedPeer) -> Void = { _ in }
    ) async throws(TunnelError) -> WebSocketTunnel {
        let opened = await withCheckedContinuation { (continuation: CheckedContinuation<Result<WebSocketTunnel, TunnelError>, Never>) in
            do {
                try startDetachedThread {
                    let prepared = Result { () throws(TunnelError) in
                        try establish(endpoint: endpoint, runtimeDirectory: runtimeDirectory, timeout: connectTimeout)
                    }
                    guard case .success(let (stream, earlyBytes, listener, control)) = prepared else {
                        continuation.resume(returning: prepared.map { _ in fatalError("unreachable") })
                        return
                    }
                    let relay = TunnelRelay(
                        stream: stream, earlyBytes: earlyBytes, listener: listener, control: control,
                        maxMessageBytes: endpoint.maxMessageBytes, acceptTimeout: connectTimeout,
                        onRefusedPeer: onRefusedPeer)
                    continuation.resume(
                        returning: .success(
                            WebSocketTunnel(
                                socketPath: listener.path, endpointDescription: endpoint.description, control: control)))
                    control.finish(relay.run())
                }
            } catch {
                continuation.resume(
                    returning: .failure(.socketFailed(path: runtimeDirectory, reason: "cannot start the tunnel thread: \(error)")))
            }
        }
        return try opened.get()
    }

    /// Why the tunnel ended; waits until it has.
    public var closeReason: TunnelCloseReason {
        get async { await control.closeReason() }
    }

    /// True once the relay has ended and the socket file is gone.
    public var isClosed: Bool { control.currentReason != nil }

    /// Closes the tunnel: a WebSocket close handshake with the server (bounded), then both sockets. Idempotent.
    public func close() {
        control.requestClose()
    }

    private static func establish(endpoint: WebSocketEndpoint, runtimeDirectory: String, timeout: Duration)
        throws(TunnelError) -> (TLSClientStream, [UInt8], PrivateSocket, TunnelControl)
    {
        try endpoint.validate()
        let deadline = Deadline(after: timeout)
        // The private socket comes first: a directory problem is the operator's to fix, and needs no network.
        let listener = try PrivateSocket.listen(in: runtimeDirectory)
        do throws(TunnelError) {
            let control: TunnelControl
            do {
                control = try TunnelControl()
            } catch {
                throw .socketFailed(path: listener.path, reason: error.description)
            }
            let stream = try connect(endpoint: endpoint, deadline: deadline)
            let earlyBytes = try UpgradeHandshake.perform(over: stream, endpoint: endpoint, deadline: deadline)
            return (stream, earlyBytes, listener, control)
        } catch {
            listener.close()
            throw error
        }
    }

    private static func connect(endpoint: WebSocketEndpoint, deadline: Deadline) throws(TunnelError) -> TLSClientStream {
        let socket = try EndpointProbe.openTCP(to: endpoint, deadline: deadline)
        return try EndpointProbe.startTLS(on: socket, endpoint: endpoint, alpnProtocols: [], deadline: deadline)
    }
}
