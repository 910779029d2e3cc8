import CloudCredentials
import Foundation
import TestSupport
import Testing

/// The organization endpoint source against the fake endpoint, over real HTTPS.
@Suite("Organization credential source")
struct OrganizationSourceTests {
    @Test("a success answer becomes a session with region, IoT endpoint, credentials and expiration")
    func success() async throws {
        let fixture = try OrganizationFixture(
            "ok",
            [
                .credentials(
                    lifetime: 900, region: "ap-northeast-1", iotEndpoint: "xyz-ats.iot.ap-northeast-1.amazonaws.com")
            ])
        let session = try await fixture.source().fetch()
        #expect(session.region == "ap-northeast-1")
        #expect(session.iotEndpoint == "xyz-ats.iot.ap-northeast-1.amazonaws.com")
        #expect(session.credentials.accessKeyID == "ASIAFAKE000000000001")
        #expect(session.credentials.secretAccessKey.hasPrefix("fake-secret-1/"))
        #expect(session.credentials.sessionToken == "fake-session-token-1//////////+=")
        let expiration = try #require(session.expiration)
        // Generous: a busy CI machine can hold the answer for seconds; a misread date is off by minutes or hours.
        #expect(abs(expiration.timeIntervalSinceNow - 900) < 60)
    }

    @Test("the Bearer token arrives, and the organization id is one percent-encoded path segment")
    func requestShape() async throws {
        let fixture = try OrganizationFixture("acme/prod 1")
        _ = try await fixture.source(baseURL: fixture.endpoint.baseURL + "//").fetch()
        let request = try #require(fixture.requests.first)
        #expect(request.authorization == "Bearer \(secretToken)")
        let encoded = fixture.organizationID.replacingOccurrences(of: "/", with: "%2F")
            .replacingOccurrences(of: " ", with: "%20")
        #expect(request.path == "/v1/organizations/\(encoded)/iot-endpoint-and-credentials")
    }

    @Test("expirations with and without fractional seconds, with Z or an offset, are understood")
    func expirationStyles() async throws {
        for style in ["millis", "seconds", "offset"] {
            let fixture = try OrganizationFixture("style", [.credentials(lifetime: 1200, expirationStyle: style)])
            let session = try await fixture.source().fetch()
            let expiration = try #require(session.expiration)
            #expect(abs(expiration.timeIntervalSinceNow - 1200) < 60, "style \(style)")
        }
    }

    @Test("a body that is not what the API documents is refused, naming the field, never quoting a secret")
    func invalidBodies() async throws {
        let cases: [(String, String)] = [
            ("{\"data\": {", "not valid JSON"),
            ("[1, 2]", "an array, not a JSON object"),
            ("{}", "field data is missing"),
            (json(["data": "x"]), "field data is a string, not an object"),
            (organizationBody(region: nil), "field data.awsRegion is missing"),
            (organizationBody(region: 7), "field data.awsRegion is a number, not a string"),
            (organizationBody(region: "EU West"), "data.awsRegion \"EU West\" is not an AWS region"),
            (organizationBody(iotEndpoint: ""), "field data.iotEndpoint is an empty string"),
            (
                organizationBody(iotEndpoint: "wss://x.example/mqtt"),
                "data.iotEndpoint \"wss://x.example/mqtt\" is not a host"
            ),
            (
                json(["data": ["awsRegion": "eu-west-1", "iotEndpoint": "x.example"]]),
                "field data.credentials is missing"
            ),
            (organizationBody(accessKeyId: nil), "field data.credentials.accessKeyId is missing"),
            (organizationBody(accessKeyId: 12), "field data.credentials.accessKeyId is a number, not a string"),
            (organizationBody(secretAccessKey: ""), "field data.credentials.secretAccessKey is an empty string"),
            (
                organizationBody(secretAccessKey: "SECRET WITH SPACE"),
                "data.credentials.secretAccessKey contains spaces"
            ),
            (organizationBody(sessionToken: NSNull()), "field data.credentials.sessionToken is null, not a string"),
            (organizationBody(sessionToken: ["SESSIONTOKEN//abc="]), "data.credentials.sessionToken is an array"),
            (organizationBody(expiration: nil), "field data.credentials.expiration is missing"),
            (organizationBody(expiration: 1_700_000_000), "data.credentials.expiration is a number, not a string"),
            (
                organizationBody(expiration: "tomorrow"),
                "data.credentials.expiration \"tomorrow\" is not an ISO-8601 time"
            ),
            (organizationBody(expiration: "2030-02-30T00:00:00Z"), "\"2030-02-30T00:00:00Z\" is not an ISO-8601 time"),
            (organizationBody(expiration: "2030-01-01T00:00:00"), "is not an ISO-8601 time"),
            (organizationBody(expiration: isoIn(-60)), "is already past"),
        ]
        let fixture = try OrganizationFixture("bodies")
        for (body, expected) in cases {
            fixture.plan([.reply(status: 200, body: body)])
            let error = try #require(await fixture.failure(), "body \(body)")
            #expect(error.kind == .invalidResponse, "body \(body)")
            // A 2xx with a bad body may be the server's passing fault (a deploy, a proxy's page, its clock):
            // retried with backoff, not at the slowest pace.
            #expect(!error.isPermanent)
            #expect(error.message.contains(expected), "\(error.message) should say \(expected)")
            // A wrong shape suggests a wrong base_url; an expired time says what to check itself.
            #expect(error.message.contains("check that base_url is that API") != expected.contains("already past"))
            for secret in ["SECRETKEY", "SESSIONTOKEN", "SECRET WITH SPACE", secretToken] {
                #expect(!error.message.contains(secret), "\(error.message) quotes a secret")
            }
        }
    }

    @Test("expired credentials from the endpoint are refused with a hint about the clock")
    func expiredCredentials() async throws {
        let fixture = try OrganizationFixture("expired", [.credentials(lifetime: -30)])
        let error = try #require(await fixture.failure())
        #expect(error.kind == .invalidResponse)
        #expect(error.message.contains("data.credentials.expiration"))
        #expect(error.message.contains("already past"))
        #expect(error.message.contains("clock"))
    }

    @Test("401 says the token was rejected and which file to replace")
    func unauthorized() async throws {
        let body = json(["error": "Unauthenticated", "message": "Authentication is required and has failed."])
        let fixture = try OrganizationFixture("401", [.reply(status: 401, body: body)])
        let error = try #require(await fixture.failure())
        #expect(error.kind == .rejected)
        #expect(error.status == 401)
        #expect(error.isPermanent)
        #expect(error.retryAfter == nil)
        #expect(error.message.contains("token rejected"))
        #expect(error.message.contains("replace the token in \(fixture.tokenFile)"))
        #expect(error.message.contains("Unauthenticated: Authentication is required and has failed."))
    }

    @Test("403 says the organization is not accessible with this token")
    func forbidden() async throws {
        let body = json(["error": "Forbidden", "message": "Access to the requested resource is forbidden."])
        let fixture = try OrganizationFixture("403", [.reply(status: 403, body: body)])
        let error = try #require(await fixture.failure())
        #expect(error.kind == .rejected)
        #expect(error.isPermanent)
        #expect(error.message.contains("organization \"\(fixture.organizationID)\" not accessible with this token"))
        #expect(error.message.contains("check organization_id / token permissions"))
        #expect(error.message.contains("Forbidden: Access to the requested resource is forbidden."))
    }

    @Test("422 passes on the endpoint's message and points at organization_id")
    func unprocessable() async throws {
        let body = json(["error": "ValidationError", "message": "Input data validation failed."])
        let fixture = try OrganizationFixture("422", [.reply(status: 422, body: body)])
        let error = try #require(await fixture.failure())
        #expect(error.isPermanent)
        #expect(error.message.contains("the endpoint rejected the request"))
        #expect(error.message.contains("ValidationError: Input data validation failed."))
        #expect(error.message.contains("check organization_id"))
    }

    @Test("404 points at base_url and organization_id")
    func notFound() async throws {
        let fixture = try OrganizationFixture("404", [.reply(status: 404, body: "")])
        let error = try #require(await fixture.failure())
        #expect(error.isPermanent)
        #expect(error.message.contains("check base_url and organization_id"))
    }

    @Test("the OAuth-style error body {error, error_description, cause} is read")
    func oauthStyleBody() async throws {
        let body = json([
            "error": "invalid_token", "error_description": "The token has expired", "cause": "issued 2023",
        ])
        let fixture = try OrganizationFixture("oauth", [.reply(status: 401, body: body)])
        let error = try #require(await fixture.failure())
        #expect(error.message.contains("invalid_token: The token has expired (issued 2023)"))
    }

    @Test("the API-key style error body {code, message, request_id, type, fields} is read")
    func apiKeyStyleBody() async throws {
        let body = json([
            "object": "error", "code": 403, "type": "forbidden", "message": "API key lacks the organization scope",
            "request_id": "0161991d63150242ac12000600000000",
            "fields": [["name": "organization", "message": "not in the key's groups"]],
        ])
        let fixture = try OrganizationFixture("apikey", [.reply(status: 403, body: body)])
        let error = try #require(await fixture.failure())
        #expect(
            error.message.contains(
                "forbidden: API key lacks the organization scope (fields: organization: not in the key's groups) "
                    + "[request id 0161991d63150242ac12000600000000]"))
    }

    @Test("5xx and 429 are retryable and carry Retry-After, in seconds or as an HTTP date")
    func retryable() async throws {
        let fixture = try OrganizationFixture("5xx")
        let date = Date().addingTimeInterval(60)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let cases: [(FakeOrganizationEndpoint.Response, ClosedRange<Int64>?)] = [
            (.reply(status: 500, body: json(["error": "Internal"]), headers: ["Retry-After": "7"]), 7...7),
            (.reply(status: 503, body: "down", headers: ["Retry-After": formatter.string(from: date)]), 20...61),
            (.reply(status: 429, body: json(["error": "TooMany", "message": "slow down"])), nil),
            (
                .reply(
                    status: 502, body: "<html><body>Bad gateway</body></html>", headers: ["Content-Type": "text/html"]),
                nil
            ),
        ]
        for (response, expected) in cases {
            fixture.plan([response])
            let error = try #require(await fixture.failure())
            #expect(error.kind == .unavailable)
            #expect(!error.isPermanent)
            #expect(error.message.contains("temporarily unavailable (HTTP \(error.status ?? 0)"))
            #expect(!error.message.contains("<html>"))
            #expect(error.retryAfter.map { expected?.contains($0.components.seconds) ?? false } ?? (expected == nil))
        }
    }

    @Test("a truncated body is a retryable transfer failure")
    func truncated() async throws {
        let fixture = try OrganizationFixture("truncated", [.truncated])
        let error = try #require(await fixture.failure())
        #expect(error.kind == .unreachable)
        #expect(!error.isPermanent)
    }

    @Test("a hanging endpoint fails within the request timeout, retryably")
    func hang() async throws {
        let fixture = try OrganizationFixture("hang", [.hang])
        let started = ContinuousClock.now
        let error = try #require(await fixture.failure(fixture.source(requestTimeout: .seconds(1))))
        // Ended by the 1 s timeout ("timed out" below); the margin is for a busy CI machine, whose blocking-wait
        // threads may start the request late. An unbounded wait would hang the test.
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(error.kind == .unreachable)
        #expect(!error.isPermanent)
        #expect(error.message.contains("timed out"))
    }

    @Test("a slow answer within the timeout is fine")
    func slow() async throws {
        let fixture = try OrganizationFixture("slow", [.slow(delay: 0.5, then: .credentials())])
        let session = try await fixture.source(requestTimeout: .seconds(5)).fetch()
        #expect(session.credentials.accessKeyID == "ASIAFAKE000000000001")
    }

    @Test("a certificate from another CA is a permanent TLS failure naming ca_file")
    func wrongCA() async throws {
        let fixture = try OrganizationFixture("tls")
        let other = try HTTPSTestCertificates.shared.get().otherCAFile
        let error = try #require(await fixture.failure(fixture.source(caFile: other)))
        #expect(error.kind == .unreachable)
        #expect(error.isPermanent)
        #expect(error.message.contains("ca_file"))
    }

    @Test("nothing listening is a retryable connection failure")
    func nothingListening() async throws {
        let fixture = try OrganizationFixture("closed")
        let source = fixture.source(baseURL: "https://127.0.0.1:\(unusedLoopbackPort())/v1")
        let error = try #require(await fixture.failure(source))
        #expect(error.kind == .unreachable)
        #expect(!error.isPermanent)
    }

    @Test("unusable settings are refused before any request")
    func settings() async throws {
        let fixture = try OrganizationFixture("settings")
        let plain = try #require(await fixture.failure(fixture.source(baseURL: "http://127.0.0.1:1/v1")))
        #expect(plain.kind == .invalidSettings)
        #expect(plain.message.contains("base_url \"http://127.0.0.1:1/v1\" is not an https:// URL"))
        let empty = OrganizationCredentialSource(
            baseURL: fixture.endpoint.baseURL, organizationID: "", tokenFile: fixture.tokenFile,
            readToken: { secretToken })
        let error = try #require(await fixture.failure(empty))
        #expect(error.kind == .invalidSettings)
        #expect(error.message.contains("organization_id is empty"))
        #expect(fixture.requests.isEmpty)
    }

    @Test("a token that cannot be read, or is not one word, is refused without showing it")
    func badToken() async throws {
        struct Unreadable: Error, CustomStringConvertible {
            var description: String { "credentials.organization.token_file: secret file /x/token does not exist" }
        }
        let fixture = try OrganizationFixture("token")
        let unreadable = OrganizationCredentialSource(
            baseURL: fixture.endpoint.baseURL, organizationID: fixture.organizationID, tokenFile: "/x/token",
            readToken: { throw Unreadable() })
        let error = try #require(await fixture.failure(unreadable))
        #expect(error.kind == .unreadableSecret)
        #expect(error.isPermanent)
        #expect(error.message.contains("secret file /x/token does not exist"))
        let spaced = try #require(await fixture.failure(fixture.source(token: "two words\(secretToken)")))
        #expect(spaced.kind == .unreadableSecret)
        #expect(spaced.message.contains("must hold only the token"))
        #expect(!spaced.message.contains(secretToken))
        #expect(fixture.requests.isEmpty)
    }

    @Test("the token never appears in any error, even when the endpoint echoes it")
    func tokenNeverShown() async throws {
        let echo = "invalid token \(secretToken) (Bearer \(secretToken))"
        let responses: [FakeOrganizationEndpoint.Response] = [
            .reply(status: 401, body: json(["error": "Unauthenticated", "message": echo])),
            .reply(status: 403, body: json(["error": secretToken, "error_description": echo, "cause": echo])),
            .reply(
                status: 422, body: json(["code": 422, "type": "x", "message": echo, "fields": [["name": secretToken]]])),
            .reply(status: 404, body: echo),
            .reply(status: 500, body: echo),
            .reply(status: 302, body: "", headers: ["Location": "https://elsewhere.example/?t=\(secretToken)"]),
            .reply(status: 200, body: echo),
            .reply(status: 200, body: organizationBody(accessKeyId: secretToken, expiration: "bad \(secretToken)")),
            .truncated, .hang,
        ]
        let fixture = try OrganizationFixture("echo")
        for response in responses {
            fixture.plan([response])
            let error = try #require(await fixture.failure(fixture.source(requestTimeout: .seconds(1))))
            for text in [error.description, String(reflecting: error), error.message] {
                #expect(!text.contains(secretToken), "\(response): \(text)")
            }
        }
        #expect(fixture.requests.allSatisfy { $0.authorization == "Bearer \(secretToken)" })
    }

    @Test("printing a session never shows the secret key or the session token")
    func sessionPrinting() async throws {
        let fixture = try OrganizationFixture("print")
        let session = try await fixture.source().fetch()
        for text in [String(describing: session), String(reflecting: session), "\(session.credentials)"] {
            #expect(!text.contains("fake-secret"))
            #expect(!text.contains("fake-session-token"))
        }
    }
}
