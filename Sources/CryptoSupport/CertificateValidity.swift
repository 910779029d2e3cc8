import COpenSSL
import Glibc

/// When an X.509 certificate starts and stops being valid, as seconds since 1970 (UTC).
public struct CertificateValidity: Sendable, Equatable {
    public let notBefore: Int64
    public let notAfter: Int64

    public init(notBefore: Int64, notAfter: Int64) {
        self.notBefore = notBefore
        self.notAfter = notAfter
    }

    /// Whole days from `now` (seconds since 1970) until the certificate expires; negative once it has.
    public func daysLeft(now: Int64) -> Int64 {
        let seconds = notAfter - now
        return seconds >= 0 ? seconds / 86_400 : -((-seconds + 86_399) / 86_400)
    }

    /// The validity of the first certificate in the PEM file at `path` (a client certificate, say).
    public static func ofPEMFile(_ path: String) throws(TLSError) -> CertificateValidity {
        guard let file = BIO_new_file(path, "r") else {
            throw .invalidConfiguration("cannot open certificate file \(path): \(String(cString: strerror(errno)))")
        }
        defer { BIO_free(file) }
        guard let certificate = PEM_read_bio_X509(file, nil, nil, nil) else {
            ERR_clear_error()
            throw .invalidConfiguration("\(path) holds no PEM certificate")
        }
        defer { X509_free(certificate) }
        guard let validity = CertificateValidity(certificate) else {
            throw .invalidConfiguration("the validity dates of the certificate in \(path) cannot be read")
        }
        return validity
    }

    /// The validity of `certificate`; nil when its dates cannot be read.
    init?(_ certificate: OpaquePointer) {
        guard let notBefore = Self.seconds(X509_get0_notBefore(certificate)),
            let notAfter = Self.seconds(X509_get0_notAfter(certificate))
        else { return nil }
        self.init(notBefore: notBefore, notAfter: notAfter)
    }

    private static func seconds(_ time: UnsafePointer<ASN1_TIME>?) -> Int64? {
        guard let time else { return nil }
        var parts = tm()
        guard ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
        return Int64(timegm(&parts))
    }
}

extension TLSClientStream {
    /// The validity of the certificate the server presented (and that verified).
    public var peerCertificateValidity: CertificateValidity? {
        guard let certificate = SSL_get1_peer_certificate(sslConnection) else { return nil }
        defer { X509_free(certificate) }
        return CertificateValidity(certificate)
    }
}
