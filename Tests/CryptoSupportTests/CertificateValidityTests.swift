import CryptoSupport
import Foundation
import TestSupport
import Testing

@Suite("Certificate validity dates", .blockingWaits)
struct CertificateValidityTests {
    @Test("a PEM certificate's dates are read; the test PKI's are two days apart")
    func readsDates() throws {
        let certificates = try HTTPSTestCertificates.shared.get()
        let expired = try CertificateValidity.ofPEMFile(certificates.expiredCertificate)
        let now = Int64(Date().timeIntervalSince1970)
        #expect(expired.notAfter < now)
        // Made with `-days -1` when the test PKI was created, moments ago.
        #expect((86_400...86_400 + 3_600).contains(now - expired.notAfter))
        // Days past expiry count up from the first second: a day and a second ago is two days.
        #expect(expired.daysLeft(now: expired.notAfter + 1) == -1)
        #expect(expired.daysLeft(now: expired.notAfter + 86_400) == -1)
        #expect(expired.daysLeft(now: expired.notAfter + 86_401) == -2)
        let server = try CertificateValidity.ofPEMFile(certificates.serverCertificate)
        // `-days 90`; openssl reads the clock once per date, so on a busy machine they may be a second further apart.
        #expect((90 * 86_400...90 * 86_400 + 2).contains(server.notAfter - server.notBefore))
        #expect(server.daysLeft(now: server.notAfter - 90 * 86_400) == 90)
        #expect(server.daysLeft(now: server.notAfter - 1) == 0)
    }

    @Test("a file that holds no certificate, or is missing, is a configuration error naming it")
    func refusesOtherFiles() throws {
        let certificates = try HTTPSTestCertificates.shared.get()
        for path in [certificates.serverKey, certificates.directory + "/missing.pem"] {
            #expect {
                try CertificateValidity.ofPEMFile(path)
            } throws: { error in
                guard case .invalidConfiguration(let message) = error as? TLSError else { return false }
                return message.contains(path)
            }
        }
    }
}
