import COpenSSL
import Glibc

/// A client certificate (PEM, leaf first, then any intermediates) and its private key (PEM file), as
/// `broker.cert_file` and `broker.key_file` name them. Only the paths are ever shown, never the key.
public struct TLSClientCertificate: Sendable, Equatable {
    /// PEM certificate chain file.
    public var certificateFile: String
    /// PEM private key file (unencrypted: the agent, through libmosquitto, takes no passphrase either).
    public var privateKeyFile: String

    /// A certificate and the key that belongs to it.
    public init(certificateFile: String, privateKeyFile: String) {
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
    }

    /// Sets the certificate and key on `context`, after checking that they belong together.
    func load(into context: OpaquePointer) throws(TLSError) {
        // An encrypted key would make OpenSSL ask for a passphrase on the terminal: answering none fails the load.
        SSL_CTX_set_default_passwd_cb(context) { _, _, _, _ in 0 }
        for (path, key) in [(certificateFile, "cert_file"), (privateKeyFile, "key_file")] where access(path, R_OK) != 0 {
            throw .invalidConfiguration(
                "cannot read \(path): \(String(cString: strerror(errno))); check \(key) "
                    + "(run this as the agent's user, or root, when only they may read it)")
        }
        guard SSL_CTX_use_certificate_chain_file(context, certificateFile) == 1 else {
            throw .invalidConfiguration(
                "cannot load the client certificate \(certificateFile): \(drainTLSErrorQueue()); "
                    + "check that cert_file holds PEM certificates")
        }
        // Loading the key compares it with the certificate loaded above: a mismatch fails here.
        guard SSL_CTX_use_PrivateKey_file(context, privateKeyFile, SSL_FILETYPE_PEM) == 1 else {
            let reason = drainTLSErrorQueue()
            if reason.contains("mismatch") { throw mismatch(reason) }
            throw .invalidConfiguration(
                "cannot load the private key \(privateKeyFile): \(reason); "
                    + "check that key_file holds an unencrypted PEM private key")
        }
    }

    private func mismatch(_ reason: String) -> TLSError {
        .invalidConfiguration(
            "the private key \(privateKeyFile) does not belong to the certificate \(certificateFile) (\(reason)); "
                + "check cert_file and key_file")
    }
}

extension TLSClientStream {
    /// The negotiated protocol, as OpenSSL names it ("TLSv1.3").
    public var protocolVersion: String { String(cString: SSL_get_version(sslConnection)) }

    /// Whether the server accepted the client certificate; throws the server's alert when it refused it.
    ///
    /// Under TLS 1.2 the handshake itself carries the verdict. Under TLS 1.3 the client's side of the handshake ends
    /// before the server has checked the certificate: a refusal comes as an alert on the first read, an acceptance as
    /// a session ticket. Waits up to `timeout` for either; false when the server sent neither in that time (a server
    /// that issues no tickets and is still deciding, or one that accepted without a ticket).
    public func awaitClientCertificateVerdict(timeout: Duration) throws(TLSError) -> Bool {
        guard SSL_version(sslConnection) == TLS1_3_VERSION else { return true }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var ignored: [UInt8] = []
        while true {
            if let session = SSL_get_session(sslConnection), SSL_SESSION_has_ticket(session) == 1 { return true }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { return false }
            // Short reads, so a ticket is seen as soon as OpenSSL has taken it in.
            do {
                try read(into: &ignored, timeout: min(remaining, .milliseconds(50)))
            } catch .timedOut {
                continue
            }
            ignored.removeAll(keepingCapacity: true)
        }
    }
}
