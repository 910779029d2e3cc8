import CloudCredentials
import Foundation
import TestSupport
import Testing

/// STS AssumeRole against moto over TLS, which checks the SigV4 signature, the user's IAM policy and the role's
/// trust policy (including its sts:ExternalId condition).
@Suite("Assume-role credential source against a local STS")
struct AssumeRoleSourceTests {
    let sts: LocalSTS

    init() async throws { sts = try await LocalSTS.shared.value }

    func source(
        accessKeyID: String? = nil, secretAccessKey: String? = nil, externalID: String? = nil,
        sessionName: String = "gateway-agent", duration: Duration = .seconds(900),
        roleARN: String? = nil, endpoint: String? = nil
    ) -> AssumeRoleCredentialSource {
        let keys = AWSCredentials(
            accessKeyID: accessKeyID ?? sts.setup.accessKeyId,
            secretAccessKey: secretAccessKey ?? sts.setup.secretAccessKey)
        return AssumeRoleCredentialSource(
            roleARN: roleARN ?? sts.setup.roleArn, externalID: externalID ?? sts.setup.externalId,
            sessionName: sessionName, duration: duration, region: "eu-west-1", stsEndpoint: endpoint ?? sts.endpoint,
            readSourceCredentials: { keys }, caFile: sts.caFile, proxy: ProxySettings(url: ""))
    }

    func failure(_ source: AssumeRoleCredentialSource) async -> CredentialError? {
        do {
            _ = try await source.fetch()
            return nil
        } catch {
            return error
        }
    }

    @Test("AssumeRole returns temporary credentials for the role, with the external ID and duration sent")
    func assumesRole() async throws {
        let sessionName = "gw-\(UUID().uuidString.prefix(8))"
        let session = LocalSTS.minted(try await source(sessionName: sessionName, duration: .seconds(1800)).fetch())
        #expect(session.region == "eu-west-1")
        #expect(session.iotEndpoint == nil)
        #expect(session.credentials.accessKeyID.hasPrefix("ASIA"))
        #expect(!session.credentials.secretAccessKey.isEmpty)
        #expect(session.credentials.sessionToken?.isEmpty == false)
        let expiration = try #require(session.expiration)
        #expect(abs(expiration.timeIntervalSinceNow - 1800) < 10)
        let recorded = try await sts.assumedRoles().filter { $0.sessionName == sessionName }
        #expect(recorded.count == 1)
        #expect(recorded.first?.roleArn == sts.setup.roleArn)
        #expect(recorded.first?.externalId == sts.setup.externalId)
        #expect(recorded.first?.durationSeconds == 1800)
    }

    @Test("a wrong external ID is denied by the trust policy, and the message says what to check")
    func wrongExternalID() async throws {
        let error = try #require(await failure(source(externalID: "not-the-external-id")))
        #expect(error.kind == .rejected)
        #expect(error.status == 403)
        #expect(error.isPermanent)
        #expect(error.message.contains("AccessDenied"))
        #expect(error.message.contains("check role_arn and external_id"))
    }

    @Test("a user without permission to assume the role is denied")
    func stranger() async throws {
        let error = try #require(
            await failure(
                source(accessKeyID: sts.setup.strangerAccessKeyId, secretAccessKey: sts.setup.strangerSecretAccessKey)))
        #expect(error.kind == .rejected)
        #expect(error.message.contains("AccessDenied"))
    }

    @Test("a wrong secret key fails the signature check, without the secret in the message")
    func wrongSecret() async throws {
        let wrong = "wrong-secret-\(UUID().uuidString)"
        let error = try #require(await failure(source(secretAccessKey: wrong)))
        #expect(error.kind == .rejected)
        #expect(error.isPermanent)
        #expect(error.message.contains("SignatureDoesNotMatch"))
        #expect(error.message.contains("secret_access_key_file"))
        #expect(!error.message.contains(wrong))
        #expect(!error.message.contains(sts.setup.secretAccessKey))
    }

    @Test("an unknown access key is reported as such")
    func unknownKey() async throws {
        let error = try #require(await failure(source(accessKeyID: "AKIAUNKNOWN000000000")))
        #expect(error.kind == .rejected)
        #expect(error.message.contains("InvalidClientTokenId"))
        #expect(error.message.contains("access_key_id_file"))
    }

    @Test("unusable settings are refused before any request, naming the key")
    func settings() async throws {
        let cases: [(AssumeRoleCredentialSource, String)] = [
            (source(roleARN: "gateway-role"), "credentials.assume_role.role_arn"),
            (source(sessionName: "has space"), "credentials.assume_role.session_name"),
            (source(duration: .seconds(60)), "credentials.assume_role.duration"),
            (source(duration: .seconds(50_000)), "credentials.assume_role.duration"),
            (source(externalID: "x"), "credentials.assume_role.external_id"),
            (source(endpoint: "http://127.0.0.1:1"), "credentials.assume_role.sts_endpoint"),
            (source(endpoint: "https://127.0.0.1:1/?x=1"), "credentials.assume_role.sts_endpoint"),
        ]
        for (source, key) in cases {
            let error = try #require(await failure(source))
            #expect(error.kind == .invalidSettings, "\(error)")
            #expect(error.message.contains(key), "\(error.message)")
        }
    }

    @Test("the default endpoint is AWS's regional STS")
    func defaultEndpoint() {
        #expect(
            AssumeRoleCredentialSource.defaultEndpoint(region: "eu-west-1") == "https://sts.eu-west-1.amazonaws.com")
        #expect(
            AssumeRoleCredentialSource.defaultEndpoint(region: "cn-north-1")
                == "https://sts.cn-north-1.amazonaws.com.cn")
        let source = AssumeRoleCredentialSource(
            roleARN: "arn:aws:iam::1:role/r", region: "us-east-2", stsEndpoint: "",
            readSourceCredentials: { AWSCredentials(accessKeyID: "a", secretAccessKey: "b") })
        #expect(source.stsEndpoint == "https://sts.us-east-2.amazonaws.com")
        #expect(source.externalID == nil)
    }

    @Test("the refresher obtains assumed-role credentials like any other")
    func throughRefresher() async throws {
        let log = CapturedLog()
        let refresher = CredentialRefresher(source: source(), logger: log.logger)
        let session = LocalSTS.minted(try await refresher.current())
        #expect(session.credentials.accessKeyID.hasPrefix("ASIA"))
        #expect(refresher.expiration == session.expiration)
        let secrets = [session.credentials.secretAccessKey, session.credentials.sessionToken ?? "", sts.setup.secretAccessKey]
        #expect(!log.lines.contains { entry in secrets.contains { entry.everything.contains($0) } })
    }
}
