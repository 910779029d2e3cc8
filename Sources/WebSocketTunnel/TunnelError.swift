import CryptoSupport

/// Why a WebSocket tunnel could not be opened; every message says what to do and never shows the URL's query.
public enum TunnelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The endpoint cannot be used as given (empty host, bad port, a path with spaces…).
    case invalidEndpoint(String)
    /// The proxy settings cannot be used as given.
    case invalidProxy(String)
    /// The runtime directory for the private socket is missing, foreign or open to others.
    case runtimeDirectoryUnusable(path: String, reason: String)
    /// The private Unix socket could not be created.
    case socketFailed(path: String, reason: String)
    /// No TCP connection to `target` (the broker, or the proxy).
    case connectFailed(target: String, reason: String)
    /// A step did not finish within the connect timeout.
    case timedOut(stage: String, target: String)
    /// The proxy wants (other) credentials: HTTP 407.
    case proxyAuthenticationRequired(proxy: String, credentialsGiven: Bool)
    /// The proxy answered CONNECT with another non-2xx status.
    case proxyRefused(proxy: String, target: String, status: Int, reason: String)
    /// TLS failed: verification, handshake or I/O.
    case tls(TLSError)
    /// The server refused the WebSocket upgrade with 401 or 403: the signature or credentials are bad or expired,
    /// or signed at a time too far from the server's; `serverDate` is the answer's `Date` header, if any.
    case handshakeForbidden(endpoint: String, status: Int, serverDate: String?)
    /// The server refused the WebSocket upgrade with another status.
    case handshakeRejected(endpoint: String, status: Int, reason: String)
    /// The server's upgrade answer broke RFC 6455 or did not agree to the `mqtt` sub-protocol.
    case handshakeInvalid(endpoint: String, reason: String)

    /// True when retrying cannot succeed until an operator changes something (log once, retry slowly).
    public var isPermanent: Bool {
        switch self {
        case .invalidEndpoint, .invalidProxy, .runtimeDirectoryUnusable, .proxyAuthenticationRequired,
            .handshakeInvalid:
            true
        case .tls(let failure):
            failure.isPermanent
        case .handshakeRejected(_, let status, _):
            (400..<500).contains(status) && status != 408 && status != 429
        case .socketFailed, .connectFailed, .timedOut, .proxyRefused, .handshakeForbidden:
            false
        }
    }

    /// True when fresh credentials (a new presigned URL) are needed before the next attempt.
    public var needsFreshCredentials: Bool {
        if case .handshakeForbidden = self { return true }
        return false
    }

    /// The message for logs: what failed, why, and what to do.
    public var description: String {
        switch self {
        case .invalidEndpoint(let message):
            "WebSocket endpoint unusable: \(message)"
        case .invalidProxy(let message):
            "proxy settings unusable: \(message); check proxy.url, proxy.credentials_file or HTTPS_PROXY"
        case .runtimeDirectoryUnusable(let path, let reason):
            "tunnel runtime directory \(path) unusable: \(reason)"
        case .socketFailed(let path, let reason):
            "cannot create the tunnel socket \(path): \(reason)"
        case .connectFailed(let target, let reason):
            "cannot connect to \(target): \(reason)"
        case .timedOut(let stage, let target):
            "\(stage) with \(target) timed out; check the network path, or raise broker.connect_timeout"
        case .proxyAuthenticationRequired(let proxy, let credentialsGiven):
            credentialsGiven
                ? "\(proxy) rejected the proxy credentials (HTTP 407): fix proxy.credentials_file"
                : "\(proxy) requires authentication (HTTP 407): set proxy.credentials_file (user:password)"
        case .proxyRefused(let proxy, let target, let status, let reason):
            "\(proxy) refused CONNECT to \(target) with HTTP \(status) \(reason); check the proxy's allowed ports and "
                + "proxy.no_proxy"
        case .tls(let failure):
            failure.description
        case .handshakeForbidden(let endpoint, let status, _):
            "\(endpoint) refused the WebSocket upgrade with HTTP \(status): the request signature or credentials "
                + "are invalid, expired or revoked, or this gateway's clock is more than 5 minutes off (check NTP); "
                + "refreshing credentials before the next attempt"
        case .handshakeRejected(let endpoint, let status, let reason):
            "\(endpoint) refused the WebSocket upgrade with HTTP \(status) \(reason); check broker.endpoint"
        case .handshakeInvalid(let endpoint, let reason):
            "\(endpoint) answered the WebSocket upgrade wrongly: \(reason); check that broker.endpoint is an "
                + "MQTT-over-WebSocket endpoint"
        }
    }
}
