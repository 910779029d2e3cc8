import Foundation
import GatewayCore

/// The fake organization endpoint (`Tests/Fixtures/org_endpoint.py`): HTTPS with the shared test CA, one server for
/// the whole test process, each organization id with its own planned responses and its own request log, so that
/// tests running in parallel do not see each other.
public final class FakeOrganizationEndpoint: Sendable {
    /// One planned answer.
    public indirect enum Response: Sendable {
        /// 200 with fresh credentials expiring `lifetime` seconds from now (negative: already expired); the
        /// access key id ends in the request's number. `expirationStyle`: "millis", "seconds" or "offset".
        case credentials(
            lifetime: Double = 3600, region: String = "eu-west-1",
            iotEndpoint: String = "a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com", expirationStyle: String = "millis")
        /// Exactly this status, body and headers.
        case reply(status: Int, body: String, headers: [String: String] = [:])
        /// Waits `delay` seconds, then answers as `then`.
        case slow(delay: Double, then: Response)
        /// Answers as `then` with a `Date` header `offset` seconds ahead of this host's clock.
        case skewed(offset: Double, then: Response)
        /// Reads the request and never answers.
        case hang
        /// Announces a 500-byte body, sends 30 bytes and closes the connection.
        case truncated

        var json: [String: Any] {
            switch self {
            case .credentials(let lifetime, let region, let iotEndpoint, let style):
                [
                    "kind": "credentials", "lifetime": lifetime, "region": region, "iotEndpoint": iotEndpoint,
                    "expirationStyle": style,
                ]
            case .reply(let status, let body, let headers):
                ["kind": "reply", "status": status, "body": body, "headers": headers]
            case .slow(let delay, let then):
                ["kind": "slow", "delay": delay, "then": then.json]
            case .skewed(let offset, let then):
                ["kind": "skewed", "offset": offset, "then": then.json]
            case .hang:
                ["kind": "hang"]
            case .truncated:
                ["kind": "truncated"]
            }
        }
    }

    /// A request as the endpoint received it.
    public struct SeenRequest: Sendable {
        /// When it arrived (wall clock of this host).
        public let time: Date
        /// The request target, path and query as sent.
        public let path: String
        /// The `Authorization` header, if any.
        public let authorization: String?
        /// 1 for the organization's first request, then 2, …
        public let number: Int
    }

    /// Started on first use, shared by every test of the process.
    public static let shared = Result { () throws(HTTPSFixtureError) in try FakeOrganizationEndpoint() }

    /// `https://127.0.0.1:<port>/v1`: a base URL with a path, as operators configure it.
    public let baseURL: String
    /// The CA that signed the endpoint's certificate.
    public let caFile: String
    private let fixture: PythonFixture
    private let stateDirectory: String

    /// Starts a new endpoint.
    public init() throws(HTTPSFixtureError) {
        let certificates = try HTTPSTestCertificates.shared.get()
        let directory: TempDirectory
        do {
            directory = try TempDirectory.removedAtExit(prefix: "org-endpoint")
        } catch {
            throw HTTPSFixtureError(description: "cannot create the endpoint's state directory: \(error)")
        }
        stateDirectory = directory.path
        caFile = certificates.caFile
        fixture = try PythonFixture(
            script: "org_endpoint.py",
            arguments: [certificates.serverCertificate, certificates.serverKey, directory.path])
        baseURL = "https://127.0.0.1:\(fixture.port)/v1"
    }

    /// An organization id no other test uses; `label` shows in it (and may hold characters that need encoding).
    public func newOrganizationID(_ label: String = "org") -> String {
        "\(label)-\(UUID().uuidString.prefix(8))"
    }

    /// Plans the answers to `organizationID`'s requests, counted from its first request: the n-th gets
    /// `responses[n-1]`, the last repeats. Takes effect at once (the file is replaced atomically).
    public func plan(_ organizationID: String, _ responses: [Response]) {
        let text = try! JSONSerialization.data(withJSONObject: ["responses": responses.map(\.json)])
        let target = file(organizationID, ".json")
        try! text.write(to: URL(fileURLWithPath: target + ".tmp"))
        _ = rename(target + ".tmp", target)
    }

    /// Every request `organizationID` received so far, oldest first.
    public func requests(_ organizationID: String) -> [SeenRequest] {
        guard let text = try? String(contentsOfFile: file(organizationID, ".jsonl"), encoding: .utf8) else {
            return []
        }
        return text.split(separator: "\n").compactMap { line in
            guard let entry = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let time = entry["time"] as? Double, let path = entry["path"] as? String,
                let number = entry["n"] as? Int
            else { return nil }
            return SeenRequest(
                time: Date(timeIntervalSince1970: time), path: path, authorization: entry["authorization"] as? String,
                number: number)
        }
    }

    /// The JSON-lines file where the endpoint appends every set of credentials it hands out to
    /// `organizationID` (`accessKeyId`, `secretAccessKey`, `sessionToken`, `expiration`): what a fake AWS IoT
    /// gateway verifies signatures against.
    public func issuedCredentialsFile(_ organizationID: String) -> String {
        file(organizationID, ".issued.jsonl")
    }

    private func file(_ organizationID: String, _ suffix: String) -> String {
        "\(stateDirectory)/\(PercentEncoding.encode(organizationID))\(suffix)"
    }
}
