import CryptoSupport
import Glibc

/// The steps of reaching a TLS endpoint one by one, so that a diagnosis (`gateway-agent check`) can say which
/// step failed: TCP (through the proxy, if one applies), the verified TLS handshake, and an HTTP answer's head.
public enum EndpointProbe {
    /// A connected socket to the endpoint, or to the proxy with a CONNECT tunnel to it; the caller owns it.
    public static func openTCP(to endpoint: WebSocketEndpoint, timeout: Duration) throws(TunnelError) -> Int32 {
        try openTCP(to: endpoint, deadline: Deadline(after: timeout))
    }

    /// The verified TLS connection over `socket` (which it takes over, closing it on failure), presenting
    /// `clientCertificate` if the server asks for one.
    public static func startTLS(
        on socket: Int32, endpoint: WebSocketEndpoint, alpnProtocols: [String] = [],
        clientCertificate: TLSClientCertificate? = nil, timeout: Duration
    ) throws(TunnelError) -> TLSClientStream {
        try startTLS(
            on: socket, endpoint: endpoint, alpnProtocols: alpnProtocols, clientCertificate: clientCertificate,
            deadline: Deadline(after: timeout))
    }

    /// Sends `GET path` without credentials and returns the answer's status and `Date` header: what a server
    /// refusing an unsigned request still tells about its clock.
    public static func unsignedGet(
        over stream: TLSClientStream, endpoint: WebSocketEndpoint, timeout: Duration
    ) throws(TunnelError) -> (status: Int, date: String?) {
        let path = String(endpoint.pathAndQuery.prefix { $0 != "?" })
        let request = "GET \(path) HTTP/1.1\r\nHost: \(endpoint.hostHeader)\r\nUser-Agent: gateway-agent check\r\n"
            + "Connection: close\r\n\r\n"
        let (head, _) = try UpgradeHandshake.exchange(
            Array(request.utf8), over: stream, endpoint: endpoint.description, deadline: Deadline(after: timeout),
            stage: "HTTP request")
        return (head.status, head.value("date"))
    }

    static func openTCP(to endpoint: WebSocketEndpoint, deadline: Deadline) throws(TunnelError) -> Int32 {
        guard let proxy = endpoint.effectiveProxy else {
            return try TCPConnection.connect(
                host: endpoint.host, port: endpoint.port, deadline: deadline, target: endpoint.authority)
        }
        let socket = try TCPConnection.connect(
            host: proxy.host, port: proxy.port, deadline: deadline, target: proxy.description)
        do {
            try ProxyConnect.open(through: proxy, on: socket, to: endpoint, deadline: deadline)
        } catch {
            Glibc.close(socket)
            throw error
        }
        return socket
    }

    static func startTLS(
        on socket: Int32, endpoint: WebSocketEndpoint, alpnProtocols: [String],
        clientCertificate: TLSClientCertificate? = nil, deadline: Deadline
    ) throws(TunnelError) -> TLSClientStream {
        do {
            return try TLSClientStream(
                socket: socket,
                configuration: TLSClientConfiguration(
                    serverName: endpoint.host, caFile: endpoint.caFile, alpnProtocols: alpnProtocols,
                    clientCertificate: clientCertificate),
                handshakeTimeout: deadline.remaining)
        } catch .timedOut {
            throw .timedOut(stage: "TLS handshake", target: endpoint.authority)
        } catch {
            throw .tls(error)
        }
    }
}

extension WebSocketEndpoint {
    /// Whether connections to this endpoint go through its proxy (false when none is set or `noProxy` matches).
    public var usesProxy: Bool { effectiveProxy != nil }
}
