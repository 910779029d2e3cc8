import CryptoSupport
import Foundation
import Glibc
import TestSupport
import Testing

@Suite("TLS client certificate", .blockingWaits)
struct TLSClientCertificateTests {
    /// The configuration is applied before any byte is sent, so one end of a socket pair is enough.
    func open(_ client: TLSClientCertificate) throws -> TLSError? {
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &ends) == 0 else { throw ChildProcessError("socketpair") }
        defer { close(ends[1]) }
        do {
            _ = try TLSClientStream(
                socket: ends[0],
                configuration: TLSClientConfiguration(serverName: "localhost", clientCertificate: client),
                handshakeTimeout: .milliseconds(50))
            return nil
        } catch {
            return error
        }
    }

    @Test("a key that does not belong to the certificate is refused naming both files, never the key")
    func mismatchedKey() throws {
        let certificates = try TestCertificates.shared()
        let failure = try open(
            TLSClientCertificate(
                certificateFile: certificates.clientCertFile, privateKeyFile: certificates.otherClientKeyFile))
        guard case .invalidConfiguration(let message)? = failure else {
            Issue.record("expected invalidConfiguration, got \(String(describing: failure))")
            return
        }
        #expect(message.contains("the private key \(certificates.otherClientKeyFile) does not belong to the certificate \(certificates.clientCertFile)"))
        #expect(message.contains("check cert_file and key_file"))
        let key = try String(contentsOfFile: certificates.otherClientKeyFile, encoding: .utf8)
        #expect(!key.split(separator: "\n").filter { !$0.hasPrefix("-----") }.contains { message.contains($0) })
    }

    @Test("a missing key file is named, with the setting to check")
    func missingKey() throws {
        let certificates = try TestCertificates.shared()
        let failure = try open(
            TLSClientCertificate(certificateFile: certificates.clientCertFile, privateKeyFile: "/nonexistent/client.key"))
        #expect(failure?.description.contains("cannot read /nonexistent/client.key: No such file or directory; check key_file") == true, "\(String(describing: failure))")
        #expect(failure?.isPermanent == true)
    }

    @Test("a matching certificate and key are accepted; the handshake is what fails then (nobody answers)")
    func matchingPair() throws {
        let certificates = try TestCertificates.shared()
        let failure = try open(
            TLSClientCertificate(certificateFile: certificates.clientCertFile, privateKeyFile: certificates.clientKeyFile))
        guard case .timedOut? = failure else {
            Issue.record("expected the handshake to time out, got \(String(describing: failure))")
            return
        }
    }
}
