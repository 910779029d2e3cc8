import COpenSSL
import Glibc

/// What a TLS client connection trusts and whom it expects to talk to.
public struct TLSClientConfiguration: Sendable, Equatable {
    /// Host name (or IP address) the server's certificate must be valid for; also sent as SNI.
    public var serverName: String
    /// PEM file of trusted CA certificates; `nil` trusts the system store.
    public var caFile: String?
    /// ALPN protocol names to offer, most preferred first; empty offers none.
    public var alpnProtocols: [String]
    /// The certificate and key presented when the server asks for one; `nil` presents none.
    public var clientCertificate: TLSClientCertificate?

    /// Creates a configuration that verifies `serverName` against `caFile` (or the system store).
    public init(
        serverName: String, caFile: String? = nil, alpnProtocols: [String] = [],
        clientCertificate: TLSClientCertificate? = nil
    ) {
        self.serverName = serverName
        self.caFile = caFile
        self.alpnProtocols = alpnProtocols
        self.clientCertificate = clientCertificate
    }

    /// Where trust comes from, as an operator would name it.
    var trustDescription: String {
        if let caFile { return "the CA file \(caFile)" }
        return "the system CA store"
    }
}

/// Why a TLS client connection could not be set up or used.
public enum TLSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The settings cannot work (unreadable CA file, bad ALPN name); retrying will not help.
    case invalidConfiguration(String)
    /// The server's certificate chain does not lead to a trusted CA (or is expired, revoked…).
    case certificateRejected(server: String, reason: String, trust: String)
    /// The server's certificate is valid but not for the name we connected to.
    case hostNameMismatch(server: String, reason: String)
    /// The TLS handshake failed for a reason other than certificate verification.
    case handshakeFailed(server: String, reason: String)
    /// An operation made no progress within its time limit.
    case timedOut(server: String, operation: String, after: Duration)
    /// The server closed the connection.
    case connectionClosed(server: String)
    /// Reading or writing failed.
    case ioFailed(server: String, reason: String)

    /// True when retrying the same connection cannot succeed until an operator changes something.
    public var isPermanent: Bool {
        switch self {
        case .invalidConfiguration, .certificateRejected, .hostNameMismatch: true
        case .handshakeFailed, .timedOut, .connectionClosed, .ioFailed: false
        }
    }

    /// The message for logs: what failed, why, and what to do.
    public var description: String {
        switch self {
        case .invalidConfiguration(let message):
            "TLS configuration unusable: \(message)"
        case .certificateRejected(let server, let reason, let trust):
            "TLS certificate of \(server) rejected: certificate verify failed: \(reason); "
                + "the chain must lead to a CA in \(trust): check ca_file"
        case .hostNameMismatch(let server, let reason):
            "TLS certificate presented by \(server) is not valid for that name (\(reason)): "
                + "check the endpoint host name"
        case .handshakeFailed(let server, let reason):
            "TLS handshake with \(server) failed: \(reason)"
        case .timedOut(let server, let operation, let after):
            "TLS \(operation) with \(server) timed out after \(after)"
        case .connectionClosed(let server):
            "TLS connection to \(server) closed by the server"
        case .ioFailed(let server, let reason):
            "TLS connection to \(server) failed: \(reason)"
        }
    }
}

/// A verified TLS 1.2+ client connection over a connected TCP socket, read and written with time limits.
///
/// Not for concurrent use: one thread at a time reads and writes it. Creating one sets SIGPIPE to be ignored
/// process-wide: OpenSSL writes with write(2), and a reset connection must fail the write, not kill the agent.
public final class TLSClientStream {
    private let context: OpaquePointer
    private let connection: OpaquePointer
    /// The `SSL*`, for certificate inspection in this module.
    var sslConnection: OpaquePointer { connection }
    private let socket: Int32
    private let serverName: String
    private var isClosed = false
    private var scratch = [UInt8](repeating: 0, count: 16_384)

    /// The socket descriptor, for `poll()` readiness checks only; the stream owns it.
    public var fileDescriptor: Int32 { socket }

    /// True when decrypted bytes are waiting, so a `read` will not block even if the socket is quiet.
    public var hasBufferedData: Bool { !isClosed && SSL_has_pending(connection) == 1 }

    /// The ALPN protocol the server chose, if any.
    public var negotiatedALPN: String? {
        var name: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(connection, &name, &length)
        guard let name, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: name, count: Int(length)), as: UTF8.self)
    }

    /// Runs the TLS handshake over `socket` (already connected, e.g. directly or after an HTTP CONNECT),
    /// verifying the chain and host name. The stream takes ownership of `socket` and closes it on failure too.
    public init(
        socket: Int32, configuration: TLSClientConfiguration, handshakeTimeout: Duration
    ) throws(TLSError) {
        let server = configuration.serverName
        signal(SIGPIPE, SIG_IGN)
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            Glibc.close(socket)
            throw .invalidConfiguration("cannot create a TLS context: \(drainTLSErrorQueue())")
        }
        // SSL_new copies the context's verify mode, protocol bounds and ALPN: the context is complete first.
        do {
            try Self.configure(context: context, configuration: configuration)
        } catch {
            SSL_CTX_free(context)
            Glibc.close(socket)
            throw error
        }
        guard let connection = SSL_new(context) else {
            SSL_CTX_free(context)
            Glibc.close(socket)
            throw .invalidConfiguration("cannot create a TLS connection: \(drainTLSErrorQueue())")
        }
        self.context = context
        self.connection = connection
        self.socket = socket
        self.serverName = server
        // From here on deinit frees the context, the connection and the socket on every failure path.
        try Self.configure(connection: connection, serverName: server)
        guard fcntl(socket, F_SETFL, fcntl(socket, F_GETFL) | O_NONBLOCK) == 0,
            SSL_set_fd(connection, socket) == 1
        else {
            throw .ioFailed(server: server, reason: "cannot attach the socket: \(String(cString: strerror(errno)))")
        }
        let deadline = ContinuousClock.now.advanced(by: handshakeTimeout)
        while true {
            ERR_clear_error()
            let result = SSL_connect(connection)
            if result == 1 { return }
            let failure = SSL_get_error(connection, result)
            switch failure {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                try waitFor(
                    failure == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, until: deadline,
                    operation: "handshake", limit: handshakeTimeout)
            default:
                throw handshakeError(failure: failure, configuration: configuration)
            }
        }
    }

    deinit {
        if !isClosed {
            Glibc.close(socket)
        }
        SSL_free(connection)
        SSL_CTX_free(context)
    }

    /// Appends up to `maxCount` decrypted bytes to `buffer` and returns how many.
    ///
    /// Waits up to `timeout` for data; with `timeout: .zero` it never waits and returns 0 when nothing is ready.
    /// Throws `.connectionClosed` when the server has closed the connection.
    @discardableResult
    public func read(into buffer: inout [UInt8], maxCount: Int = 16_384, timeout: Duration) throws(TLSError) -> Int {
        guard !isClosed else { throw .connectionClosed(server: serverName) }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        if scratch.count < maxCount { scratch = [UInt8](repeating: 0, count: maxCount) }
        while true {
            ERR_clear_error()
            var count = 0
            let result = scratch.withUnsafeMutableBytes { SSL_read_ex(connection, $0.baseAddress, maxCount, &count) }
            if result == 1 {
                buffer.append(contentsOf: scratch[0..<count])
                return count
            }
            let failure = SSL_get_error(connection, result)
            switch failure {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                if timeout == .zero { return 0 }
                try waitFor(
                    failure == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, until: deadline, operation: "read",
                    limit: timeout)
            case SSL_ERROR_ZERO_RETURN:
                throw .connectionClosed(server: serverName)
            default:
                throw ioError(failure: failure)
            }
        }
    }

    /// Writes all of `bytes`, waiting up to `timeout` for the whole write.
    public func write(_ bytes: [UInt8], timeout: Duration) throws(TLSError) {
        guard !isClosed else { throw .connectionClosed(server: serverName) }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var offset = 0
        while offset < bytes.count {
            ERR_clear_error()
            var written = 0
            let result = bytes.withUnsafeBytes {
                SSL_write_ex(connection, $0.baseAddress! + offset, $0.count - offset, &written)
            }
            if result == 1 {
                offset += written
                continue
            }
            let failure = SSL_get_error(connection, result)
            switch failure {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                try waitFor(
                    failure == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, until: deadline, operation: "write",
                    limit: timeout)
            case SSL_ERROR_ZERO_RETURN:
                throw .connectionClosed(server: serverName)
            default:
                throw ioError(failure: failure)
            }
        }
    }

    /// Sends a TLS close_notify if the socket can take it right away, then closes the socket. Idempotent.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        ERR_clear_error()
        // One non-blocking attempt: a peer that is gone must not delay shutdown.
        _ = SSL_shutdown(connection)
        ERR_clear_error()
        Glibc.close(socket)
    }

    private static func configure(context: OpaquePointer, configuration: TLSClientConfiguration) throws(TLSError) {
        // SSL_CTX_set_min_proto_version, SSL_CTX_set_mode and SSL_set_tlsext_host_name are C macros
        // over the *_ctrl functions, which Swift cannot import; these calls are their expansions.
        guard SSL_CTX_ctrl(context, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil) == 1 else {
            throw .invalidConfiguration("cannot require TLS 1.2 or newer: \(drainTLSErrorQueue())")
        }
        // Writes are retried after WANT_WRITE from a fresh array pointer.
        _ = SSL_CTX_ctrl(context, SSL_CTRL_MODE, Int(SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER), nil)
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        if let caFile = configuration.caFile {
            guard access(caFile, R_OK) == 0 else {
                throw .invalidConfiguration(
                    "cannot read CA file \(caFile): \(String(cString: strerror(errno))); check ca_file")
            }
            guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                throw .invalidConfiguration(
                    "cannot load CA file \(caFile): \(drainTLSErrorQueue()); "
                        + "check that ca_file holds PEM certificates")
            }
        } else {
            guard SSL_CTX_set_default_verify_paths(context) == 1 else {
                throw .invalidConfiguration(
                    "cannot load the system CA store: \(drainTLSErrorQueue()); set ca_file")
            }
        }
        if let client = configuration.clientCertificate { try client.load(into: context) }
        if !configuration.alpnProtocols.isEmpty {
            var wire: [UInt8] = []
            for name in configuration.alpnProtocols {
                guard (1...255).contains(name.utf8.count) else {
                    throw .invalidConfiguration("ALPN protocol name \"\(name)\" must be 1 to 255 bytes")
                }
                wire.append(UInt8(name.utf8.count))
                wire.append(contentsOf: name.utf8)
            }
            // Unlike most of OpenSSL, this returns 0 on success.
            guard SSL_CTX_set_alpn_protos(context, wire, UInt32(wire.count)) == 0 else {
                throw .invalidConfiguration("cannot offer ALPN \(configuration.alpnProtocols)")
            }
        }
    }

    private static func configure(connection: OpaquePointer, serverName name: String) throws(TLSError) {
        guard !name.isEmpty else { throw .invalidConfiguration("the server name is empty") }
        if isIPAddress(name) {
            // RFC 6066 forbids IP literals in SNI; the certificate must name the address instead.
            guard X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(connection), name) == 1 else {
                throw .invalidConfiguration("cannot verify against IP address \(name)")
            }
        } else {
            SSL_set_hostflags(connection, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
            guard SSL_set1_host(connection, name) == 1 else {
                throw .invalidConfiguration("cannot verify against host name \(name)")
            }
            let sent = name.withCString {
                SSL_ctrl(
                    connection, SSL_CTRL_SET_TLSEXT_HOSTNAME, Int(TLSEXT_NAMETYPE_host_name),
                    UnsafeMutableRawPointer(mutating: $0))
            }
            guard sent == 1 else { throw .invalidConfiguration("cannot send server name \(name) (SNI)") }
        }
    }

    private static func isIPAddress(_ name: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET, name, &address) == 1 || inet_pton(AF_INET6, name, &address) == 1
    }

    private func handshakeError(failure: Int32, configuration: TLSClientConfiguration) -> TLSError {
        let verification = SSL_get_verify_result(connection)
        if verification != Int(X509_V_OK) {
            ERR_clear_error()
            let reason = String(cString: X509_verify_cert_error_string(verification))
            if verification == Int(X509_V_ERR_HOSTNAME_MISMATCH) || verification == Int(X509_V_ERR_IP_ADDRESS_MISMATCH) {
                return .hostNameMismatch(server: serverName, reason: reason)
            }
            return .certificateRejected(server: serverName, reason: reason, trust: configuration.trustDescription)
        }
        return .handshakeFailed(server: serverName, reason: failureText(failure))
    }

    private func ioError(failure: Int32) -> TLSError {
        if failure == SSL_ERROR_SYSCALL, ERR_peek_error() == 0, errno == 0 || errno == ECONNRESET {
            return .connectionClosed(server: serverName)
        }
        let text = failureText(failure)
        if text.contains("unexpected eof") { return .connectionClosed(server: serverName) }
        return .ioFailed(server: serverName, reason: text)
    }

    private func failureText(_ failure: Int32) -> String {
        let queued = drainTLSErrorQueue()
        if !queued.isEmpty { return queued }
        if failure == SSL_ERROR_SYSCALL {
            return errno == 0 ? "connection closed unexpectedly" : String(cString: strerror(errno))
        }
        return "OpenSSL error \(failure)"
    }

    func waitFor(
        _ events: Int32, until deadline: ContinuousClock.Instant, operation: String, limit: Duration
    ) throws(TLSError) {
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else {
                throw .timedOut(server: serverName, operation: operation, after: limit)
            }
            var descriptor = pollfd(fd: socket, events: Int16(events), revents: 0)
            let ready = poll(&descriptor, 1, pollMilliseconds(remaining))
            if ready > 0 { return }
            if ready < 0 && errno != EINTR {
                throw .ioFailed(server: serverName, reason: "poll: \(String(cString: strerror(errno)))")
            }
        }
    }
}

extension TLSClientStream {
    /// SHA-1 of `bytes` (for the WebSocket handshake's accept key, not for security).
    public static func sha1(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = EVP_Digest(bytes, bytes.count, &digest, &length, EVP_sha1(), nil)
        precondition(ok == 1, "EVP_Digest(SHA-1) failed: \(drainTLSErrorQueue())")
        return Array(digest[0..<Int(length)])
    }
}

/// The reasons OpenSSL queued on this thread, oldest first, joined for a message.
func drainTLSErrorQueue() -> String {
    var reasons: [String] = []
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        if let reason = ERR_reason_error_string(code) {
            reasons.append(String(cString: reason))
        } else {
            reasons.append("error \(code)")
        }
    }
    return reasons.joined(separator: "; ")
}

/// Whole milliseconds for poll(), rounded up so a short wait never becomes a busy loop.
private func pollMilliseconds(_ duration: Duration) -> Int32 {
    let (seconds, attoseconds) = duration.components
    return Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
}
