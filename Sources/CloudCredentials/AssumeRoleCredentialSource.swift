import FoundationEssentials
import GatewayCore
import HTTPClient

/// Temporary credentials from STS `AssumeRole` (`credentials.source = "assume-role"`): a SigV4-signed HTTPS POST
/// made with source credentials from files, for a role that may require an external ID.
public struct AssumeRoleCredentialSource: CredentialSource {
    /// The role to assume, `arn:aws:iam::<account>:role/<name>`.
    public let roleARN: String
    /// The external ID the role's trust policy requires, if any.
    public let externalID: String?
    /// The role session name AWS records (2–64 of `A-Z a-z 0-9 + = , . @ _ -`).
    public let sessionName: String
    /// How long the credentials last: 15 minutes to 12 hours (the role's maximum applies).
    public let duration: Duration
    /// The region to sign for and to hand out with the credentials.
    public let region: String
    /// The STS endpoint URL.
    public let stsEndpoint: String
    private let readSourceCredentials: @Sendable () throws -> AWSCredentials
    private let options: HTTPClientOptions
    private let now: @Sendable () -> Date

    /// A source assuming `roleARN` in `region`.
    ///
    /// - Parameters:
    ///   - externalID: nil or empty when the role requires none.
    ///   - stsEndpoint: nil or empty for AWS's regional endpoint `https://sts.{region}.amazonaws.com`.
    ///   - readSourceCredentials: reads the source access key, secret and optional session token, on every fetch.
    ///   - caFile: PEM CAs to trust instead of the system store.
    ///   - now: the clock used for signing and for checking the returned expiration.
    public init(
        roleARN: String, externalID: String? = nil, sessionName: String = "gateway-agent",
        duration: Duration = .seconds(3600), region: String, stsEndpoint: String? = nil,
        readSourceCredentials: @escaping @Sendable () throws -> AWSCredentials, caFile: String? = nil,
        requestTimeout: Duration = .seconds(30), proxy: ProxySettings = ProxySettings(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.roleARN = roleARN
        self.externalID = externalID.flatMap { $0.isEmpty ? nil : $0 }
        self.sessionName = sessionName
        self.duration = duration
        self.region = region
        self.stsEndpoint = stsEndpoint.flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultEndpoint(region: region)
        self.readSourceCredentials = readSourceCredentials
        self.options = HTTPClientOptions(
            caFile: caFile.flatMap { $0.isEmpty ? nil : $0 }, connectTimeout: min(.seconds(10), requestTimeout),
            totalTimeout: requestTimeout, maxResponseBytes: 256 * 1024, proxy: proxy.url,
            proxyCredentials: proxy.credentials, noProxy: proxy.noProxy)
        self.now = now
    }

    /// AWS's regional STS endpoint (`.amazonaws.com.cn` in the China regions).
    public static func defaultEndpoint(region: String) -> String {
        region.hasPrefix("cn-") ? "https://sts.\(region).amazonaws.com.cn" : "https://sts.\(region).amazonaws.com"
    }

    /// Reads the source credentials, signs and sends `AssumeRole`, and checks the credentials returned.
    public func fetch() async throws(CredentialError) -> CloudSession {
        let target = try STSEndpoint(stsEndpoint)
        let what = "STS \(target.host) AssumeRole of \(roleARN)"
        let seconds = try checkSettings(what)
        let source = try SourceCredentials.read(
            readSourceCredentials, what: what, section: "credentials.assume_role")
        let secrets = [source.secretAccessKey, source.sessionToken ?? ""]
        var form = [
            ("Action", "AssumeRole"), ("Version", "2011-06-15"), ("RoleArn", roleARN),
            ("RoleSessionName", sessionName), ("DurationSeconds", String(seconds)),
        ]
        if let externalID { form.append(("ExternalId", externalID)) }
        let body = Array(
            form.map { "\(PercentEncoding.encode($0.0))=\(PercentEncoding.encode($0.1))" }
                .joined(separator: "&").utf8)
        let contentType = ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
        let signature = SigV4.sign(
            method: "POST", host: target.host, path: target.path, headers: [contentType], body: body,
            region: region, service: "sts", credentials: source, date: now())
        let request = HTTPRequest(
            method: "POST", url: target.url, headers: [("Host", target.host), contentType] + signature, body: body)
        let response: HTTPResponse
        do {
            response = try await perform(request, options: options)
        } catch {
            throw CredentialError.transport(error, what: what, secrets: secrets)
        }
        guard response.status == 200 else {
            throw STSResponse.error(response, what: what, region: region, secrets: secrets, now: now())
        }
        do {
            let credentials = try STSResponse.credentials(response.body, now: now())
            return CloudSession(credentials: credentials, region: region)
        } catch {
            throw CredentialError(.invalidResponse, message: "\(what): \(error.description)", status: response.status)
        }
    }

    /// Checks what AWS would refuse anyway, so the message names the setting; returns the duration in seconds.
    private func checkSettings(_ what: String) throws(CredentialError) -> Int64 {
        func invalid(_ text: String) -> CredentialError {
            CredentialError(.invalidSettings, message: "\(what): \(text)")
        }
        guard roleARN.hasPrefix("arn:"), roleARN.contains(":iam::"), roleARN.contains(":role/") else {
            throw invalid(
                "role_arn \(ServerText.quoted(roleARN)) is not a role ARN such as "
                    + "arn:aws:iam::123456789012:role/gateway: set credentials.assume_role.role_arn")
        }
        let allowed = Set("+=,.@_-".utf8)
        guard (2...64).contains(sessionName.utf8.count),
            sessionName.utf8.allSatisfy({
                OrganizationResponse.isLowerAlphanumeric($0) || allowed.contains($0)
                    || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0)
            })
        else {
            throw invalid(
                "session_name \(ServerText.quoted(sessionName)) must be 2 to 64 of A-Z a-z 0-9 + = , . @ _ -: "
                    + "set credentials.assume_role.session_name")
        }
        let (seconds, attoseconds) = duration.components
        guard (900...43_200).contains(seconds), attoseconds == 0 else {
            throw invalid(
                "duration \(DurationText.format(duration)) is outside 15m…12h (whole seconds): "
                    + "set credentials.assume_role.duration")
        }
        guard !region.isEmpty, OrganizationResponse.isRegion(region) else {
            throw invalid(
                "region \(ServerText.quoted(region)) is not an AWS region name such as eu-west-1: "
                    + "set credentials.assume_role.region")
        }
        if let externalID, !(2...1224).contains(externalID.utf8.count) {
            throw invalid("external_id must be 2 to 1224 characters long: set credentials.assume_role.external_id")
        }
        return seconds
    }
}

/// The parts of the STS endpoint URL that the request and its signature need.
struct STSEndpoint {
    let url: String
    /// `host`, or `host:port` when the port is not 443: the `Host` header, as signed.
    let host: String
    /// The path, `/` when the URL has none.
    let path: String

    init(_ text: String) throws(CredentialError) {
        let fail = CredentialError(
            .invalidSettings,
            message: "sts_endpoint \(ServerText.quoted(ServerText.withoutUserInfo(text))) is not an https:// URL "
                + "with a host and no query: set credentials.assume_role.sts_endpoint, or leave it empty for AWS")
        guard text.lowercased().hasPrefix("https://") else { throw fail }
        let rest = text.dropFirst("https://".count)
        let authority = rest.prefix(while: { $0 != "/" })
        let path = rest.dropFirst(authority.count)
        guard !authority.isEmpty, !authority.contains("@"), !text.contains("?"), !text.contains("#") else {
            throw fail
        }
        var host = String(authority)
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            let port = authority[authority.index(after: colon)...]
            guard let number = Int(port), (1...65535).contains(number) else { throw fail }
            if number == 443 { host = String(authority[..<colon]) }
        }
        self.host = host
        self.path = path.isEmpty ? "/" : String(path)
        self.url = "https://\(authority)\(self.path)"
    }
}
