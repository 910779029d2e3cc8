/// Why an HTTPS request got no response; never holds header values, bodies or credentials.
public enum HTTPError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Refused before anything was sent: not `https://`, a malformed header, an option libcurl rejected.
    case invalidRequest(reason: String)
    /// The host name did not resolve, or no TCP connection could be made.
    case connectFailed(host: String, reason: String)
    /// The proxy could not be resolved or refused the CONNECT tunnel (`status` is its response code, if any).
    case proxyFailed(host: String, status: Int?, reason: String)
    /// No connection within `connectTimeout`, or no complete response within `totalTimeout`.
    case timedOut(host: String, reason: String)
    /// The server's certificate did not verify against the trusted CAs, or its name does not match.
    case tlsVerificationFailed(host: String, caFile: String?, reason: String)
    /// The TLS handshake failed for a reason other than verification (e.g. no common protocol version).
    case tlsHandshakeFailed(host: String, reason: String)
    /// The response (body or headers) was larger than allowed.
    case responseTooLarge(host: String, limit: Int)
    /// The task awaiting the response was cancelled.
    case cancelled(host: String)
    /// The connection broke or the server did not speak HTTP.
    case transferFailed(host: String, reason: String)

    /// Whether trying again later, unchanged, may succeed; false means configuration or the server must change.
    public var isRetryable: Bool {
        switch self {
        case .connectFailed, .timedOut, .tlsHandshakeFailed, .transferFailed: true
        case .proxyFailed(_, let status, _): status != 407 && status != 403
        case .invalidRequest, .tlsVerificationFailed, .responseTooLarge, .cancelled: false
        }
    }

    public var description: String {
        switch self {
        case .invalidRequest(let reason):
            "HTTPS request refused before sending: \(reason)"
        case .connectFailed(let host, let reason):
            "could not connect to \(host): \(reason); check the URL, DNS, network and proxy settings"
        case .proxyFailed(let host, let status, let reason):
            if status == 407 {
                "proxy refused the tunnel to \(host) (407 authentication required): check proxy.credentials_file"
            } else {
                "proxy failed for \(host)\(status.map { " (status \($0))" } ?? ""): \(reason); check proxy.url"
            }
        case .timedOut(let host, let reason):
            "request to \(host) timed out: \(reason); the endpoint or network is slow or unreachable"
        case .tlsVerificationFailed(let host, let caFile, let reason):
            "TLS verification of \(host) failed: \(reason); check ca_file (\(caFile ?? "unset: system store")) "
                + "and that the server's certificate is for \(host)"
        case .tlsHandshakeFailed(let host, let reason):
            "TLS handshake with \(host) failed: \(reason) (TLS 1.2 or newer is required)"
        case .responseTooLarge(let host, let limit):
            "response from \(host) is larger than \(limit) bytes; refused"
        case .cancelled(let host):
            "request to \(host) was cancelled"
        case .transferFailed(let host, let reason):
            "request to \(host) failed: \(reason)"
        }
    }
}
