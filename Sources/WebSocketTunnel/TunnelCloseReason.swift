/// Why a tunnel's relay ended.
public enum TunnelCloseReason: Sendable, Equatable, CustomStringConvertible {
    /// `close()` was called.
    case closedLocally
    /// The MQTT client closed its end of the private socket.
    case clientDisconnected
    /// The MQTT client never connected to the private socket within the connect timeout.
    case clientNeverConnected
    /// The server sent a WebSocket close frame (code nil when it gave none).
    case serverClosed(code: UInt16?, reason: String)
    /// The server broke RFC 6455 or the size limit; the tunnel closed with `code`.
    case protocolViolation(code: UInt16, detail: String)
    /// The TLS/TCP connection failed or ended without a WebSocket close frame.
    case connectionLost(String)

    /// The reason for logs.
    public var description: String {
        switch self {
        case .closedLocally: "tunnel closed by the agent"
        case .clientDisconnected: "MQTT client disconnected from the tunnel"
        case .clientNeverConnected: "MQTT client never connected to the tunnel socket"
        case .serverClosed(let code, let reason):
            "server closed the WebSocket" + (code.map { " with code \($0)" } ?? "") + (reason.isEmpty ? "" : ": \(reason)")
        case .protocolViolation(let code, let detail): "WebSocket protocol violation (closed with \(code)): \(detail)"
        case .connectionLost(let detail): "WebSocket connection lost: \(detail)"
        }
    }
}
