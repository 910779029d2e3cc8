import CloudCredentials
import Foundation
import TestSupport
import Testing
import WebSocketTunnel

/// The fake AWS IoT gateway must refuse what AWS IoT refuses, or the end-to-end tests prove nothing.
/// Checked with the agent's own signer and tunnel, in process, against credentials from the fake organization endpoint.
@Suite("aws-websocket test gateway", .blockingWaits)
struct AWSWebSocketGatewayFixtureTests {
    @Test("the gateway accepts a correctly presigned URL and answers 403 to each way of getting one wrong")
    func verifiesLikeAWSIoT() async throws {
        let organization = try FakeOrganizationEndpoint.shared.get()
        let organizationID = organization.newOrganizationID("gateway-check")
        organization.plan(
            organizationID,
            [
                .credentials(lifetime: 3600, iotEndpoint: "localhost"), .credentials(lifetime: 3600, iotEndpoint: "localhost"),
                .credentials(lifetime: 1, iotEndpoint: "localhost"),
            ])
        let certificates = try HTTPSTestCertificates.shared.get()
        let broker = try TestBroker()
        let gateway = try AWSIoTGatewayFixture(
            issuedCredentialsFile: organization.issuedCredentialsFile(organizationID), brokerSocket: broker.unixSocketPath,
            certificate: certificates.serverCertificate, key: certificates.serverKey)
        let source = OrganizationCredentialSource(
            baseURL: organization.baseURL, organizationID: organizationID, tokenFile: "(test)", readToken: { "token" },
            caFile: certificates.caFile)
        let session = try await source.fetch()
        let other = try await source.fetch()
        let runtime = try TempDirectory(prefix: "gw-check")
        defer { runtime.remove() }

        /// Opens a tunnel to the gateway with a URL signed as given; nil when the upgrade succeeded.
        func attempt(
            credentials: AWSCredentials = session.credentials, region: String = session.region,
            service: String = SigV4.iotService, signedPort: Int? = nil, date: Date = Date(),
            edit: (String) -> String = { $0 }
        ) async -> TunnelError? {
            let url = SigV4.presignedWebSocketURL(
                host: "localhost", port: signedPort ?? gateway.port, region: region, credentials: credentials,
                date: date, service: service)
            let pathAndQuery = edit(String(url[url.range(of: "/mqtt")!.lowerBound...]))
            let endpoint = WebSocketEndpoint(
                host: "localhost", port: gateway.port, pathAndQuery: pathAndQuery, caFile: certificates.caFile)
            do {
                let tunnel = try await WebSocketTunnel.open(
                    endpoint: endpoint, runtimeDirectory: runtime.path("run"), connectTimeout: .seconds(5))
                tunnel.close()
                return nil
            } catch {
                return error
            }
        }
        func expectRefused(_ error: TunnelError?, _ reason: String, sourceLocation: SourceLocation = #_sourceLocation) {
            guard case .handshakeForbidden(_, let status, _)? = error else {
                Issue.record("expected 403 for \(reason), got \(String(describing: error))", sourceLocation: sourceLocation)
                return
            }
            #expect(status == 403, sourceLocation: sourceLocation)
            let last = gateway.refused.last?.reason ?? ""
            #expect(last.hasPrefix(reason), "gateway said \(last)", sourceLocation: sourceLocation)
        }

        #expect(await attempt() == nil)
        #expect(gateway.accepted.last?.accessKeyID == session.credentials.accessKeyID)

        var wrongSecret = session.credentials
        wrongSecret.secretAccessKey += "x"
        expectRefused(await attempt(credentials: wrongSecret), "signature mismatch")
        expectRefused(
            await attempt(edit: { url in
                // The last hex digit of X-Amz-Signature, flipped.
                let signature = url.range(of: "X-Amz-Signature=")!.upperBound
                let end = url[signature...].firstIndex(of: "&") ?? url.endIndex
                let last = url.index(before: end)
                return url.replacingCharacters(in: last...last, with: url[last] == "0" ? "1" : "0")
            }), "signature mismatch")
        expectRefused(await attempt(signedPort: 443), "signature mismatch")
        expectRefused(await attempt(region: "us-east-1"), "scope us-east-1/")
        expectRefused(await attempt(service: "iotdata"), "scope eu-west-1/iotdata/")
        expectRefused(await attempt(date: Date().addingTimeInterval(-360)), "signed ")
        expectRefused(await attempt(date: Date().addingTimeInterval(360)), "signed ")
        var noToken = session.credentials
        noToken.sessionToken = nil
        expectRefused(await attempt(credentials: noToken), "missing or wrong security token")
        var otherToken = session.credentials
        otherToken.sessionToken = other.credentials.sessionToken
        expectRefused(await attempt(credentials: otherToken), "missing or wrong security token")
        var unknown = session.credentials
        unknown.accessKeyID = "ASIAUNKNOWN000000001"
        expectRefused(await attempt(credentials: unknown), "unknown access key")
        let otherPath = await attempt(edit: { $0.replacingOccurrences(of: "/mqtt?", with: "/other?") })
        guard case .handshakeRejected(_, 404, _)? = otherPath else {
            Issue.record("expected 404 for another path, got \(String(describing: otherPath))")
            return
        }

        let shortLived = try await source.fetch()
        let expiration = try #require(shortLived.expiration)
        try await Task.sleep(for: .milliseconds(Int(max(0, expiration.timeIntervalSinceNow) * 1000) + 200))
        expectRefused(await attempt(credentials: shortLived.credentials), "expired access key")
    }
}
