import CloudCredentials
import Foundation
import TestSupport

/// A token that must never show up in an error or a log line.
let secretToken = "tok_\(UUID().uuidString.replacingOccurrences(of: "-", with: ""))"

/// The shared fake endpoint and a fresh organization on it.
struct OrganizationFixture {
    let endpoint: FakeOrganizationEndpoint
    let organizationID: String
    let tokenFile = "/etc/gateway-agent/organization.token"

    init(_ label: String = "org", _ responses: [FakeOrganizationEndpoint.Response] = []) throws {
        endpoint = try FakeOrganizationEndpoint.shared.get()
        organizationID = endpoint.newOrganizationID(label)
        if !responses.isEmpty { endpoint.plan(organizationID, responses) }
    }

    func plan(_ responses: [FakeOrganizationEndpoint.Response]) {
        endpoint.plan(organizationID, responses)
    }

    var requests: [FakeOrganizationEndpoint.SeenRequest] { endpoint.requests(organizationID) }

    func source(
        token: String = secretToken, requestTimeout: Duration = .seconds(10), baseURL: String? = nil,
        caFile: String? = nil
    ) -> OrganizationCredentialSource {
        OrganizationCredentialSource(
            baseURL: baseURL ?? endpoint.baseURL, organizationID: organizationID, tokenFile: tokenFile,
            readToken: { token }, caFile: caFile ?? endpoint.caFile, requestTimeout: requestTimeout,
            proxy: ProxySettings(url: ""))
    }

    /// The error of one fetch, or nil when it succeeded.
    func failure(_ source: OrganizationCredentialSource? = nil) async -> CredentialError? {
        do {
            _ = try await (source ?? self.source()).fetch()
            return nil
        } catch {
            return error
        }
    }
}

/// A JSON text of `object`.
func json(_ object: Any) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
}

/// A success body with `credentials` fields replaced (nil removes a field).
func organizationBody(
    region: Any? = "eu-west-1", iotEndpoint: Any? = "abc-ats.iot.eu-west-1.amazonaws.com",
    accessKeyId: Any? = "ASIAEXAMPLEKEY000001", secretAccessKey: Any? = "SECRETKEY/abc+def",
    sessionToken: Any? = "SESSIONTOKEN//abc=", expiration: Any? = isoIn(3600)
) -> String {
    var credentials: [String: Any] = [:]
    credentials["accessKeyId"] = accessKeyId
    credentials["secretAccessKey"] = secretAccessKey
    credentials["sessionToken"] = sessionToken
    credentials["expiration"] = expiration
    var data: [String: Any] = ["credentials": credentials]
    data["awsRegion"] = region
    data["iotEndpoint"] = iotEndpoint
    return json(["data": data])
}

/// ISO-8601 UTC with milliseconds, `seconds` from now.
func isoIn(_ seconds: Double) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: Date().addingTimeInterval(seconds))
}
