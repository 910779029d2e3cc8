/// Why an MQTT connection, publish or subscribe failed; every case says what to do about it.
///
/// Raw libmosquitto codes (`MOSQ_ERR_*`) and CONNACK reason codes are kept so callers can match them.
public enum MQTTError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An option was refused before connecting: the field at fault and why.
    case invalidOption(field: String, reason: String)
    /// A publish or subscribe argument was refused: the argument at fault and why.
    case invalidArgument(field: String, reason: String)
    /// The broker refused the username or password (CONNACK reason code kept).
    case badCredentials(code: Int32)
    /// The broker does not let this client connect (mosquitto also answers a wrong password this way).
    case notAuthorized(code: Int32)
    /// The broker refused the client id.
    case clientIDRejected(clientID: String, code: Int32)
    /// The broker does not speak the configured MQTT version.
    case unsupportedProtocolVersion(code: Int32)
    /// The broker refused the connection for a reason retrying may fix (busy, unavailable, rate limit…).
    case refused(code: Int32, reason: String)
    /// The broker's certificate chain does not lead to a trusted CA (OpenSSL's reason in `detail`).
    case serverCertificateUntrusted(detail: String)
    /// The broker's certificate is valid but issued for another name than `host`.
    case hostNameMismatch(host: String)
    /// The broker rejected (or required and did not get) this client's certificate.
    case clientCertificateRejected(detail: String)
    /// Another TLS failure (protocol version, ciphers, broken handshake).
    case tlsFailed(detail: String)
    /// No CONNACK within the connect timeout.
    case timedOut(after: Duration)
    /// Name resolution, TCP connect or the established connection failed.
    case network(detail: String)
    /// The broker sent something libmosquitto could not accept.
    case protocolViolation(detail: String)
    /// The call needs an established connection.
    case notConnected
    /// `disconnect()` was called (or the connecting task cancelled) before the connection was established.
    case closed
    /// Any other libmosquitto failure: the operation, the `MOSQ_ERR_*` code and its text.
    case library(operation: String, code: Int32, text: String)

    /// True when retrying the same configuration cannot succeed: log once, then retry slowly.
    public var isPermanent: Bool {
        switch self {
        case .invalidOption, .invalidArgument, .badCredentials, .notAuthorized, .clientIDRejected,
            .unsupportedProtocolVersion, .serverCertificateUntrusted, .hostNameMismatch, .clientCertificateRejected:
            return true
        case .refused, .tlsFailed, .timedOut, .network, .protocolViolation, .notConnected, .closed, .library:
            return false
        }
    }

    public var description: String {
        switch self {
        case .invalidOption(let field, let reason):
            return "invalid MQTT option \(field): \(reason)"
        case .invalidArgument(let field, let reason):
            return "invalid \(field): \(reason)"
        case .badCredentials(let code):
            return "broker refused the username or password (reason code \(code)): check broker.username and broker.password_file"
        case .notAuthorized(let code):
            return "broker refused to authorize this client (reason code \(code)): check broker.username and broker.password_file (or the client certificate) and the broker's policy for this client id"
        case .clientIDRejected(let clientID, let code):
            return "broker refused client id '\(clientID)' (reason code \(code)): check broker.client_id"
        case .unsupportedProtocolVersion(let code):
            return "broker does not support this MQTT version (reason code \(code)): check broker.protocol"
        case .refused(let code, let reason):
            return "broker refused the connection: \(reason) (reason code \(code)); will retry"
        case .serverCertificateUntrusted(let detail):
            return "certificate verify failed (\(detail)): check broker.ca_file and that the broker's name matches broker.endpoint"
        case .hostNameMismatch(let host):
            return "the broker's certificate is not valid for '\(host)': check broker.endpoint names the host in the certificate"
        case .clientCertificateRejected(let detail):
            return "broker refused the client certificate (\(detail)): check broker.cert_file/key_file"
        case .tlsFailed(let detail):
            return "TLS handshake failed: \(detail)"
        case .timedOut(let after):
            return "no CONNACK within \(after.components.seconds)s: check broker.endpoint, the network path and broker.connect_timeout"
        case .network(let detail):
            return "network error: \(detail)"
        case .protocolViolation(let detail):
            return "MQTT protocol error: \(detail)"
        case .notConnected:
            return "not connected to the broker"
        case .closed:
            return "the connection was closed before it was established"
        case .library(let operation, let code, let text):
            return "\(operation) failed: \(text) (libmosquitto error \(code))"
        }
    }
}
