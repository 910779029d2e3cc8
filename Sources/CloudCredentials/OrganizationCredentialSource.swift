import FoundationEssentials
import GatewayCore
import HTTPClient

/// Credentials from the organization endpoint:
/// `GET {base_url}/organizations/{organization_id}/iot-endpoint-and-credentials` with the Bearer token of
/// `token_file`, answered with the AWS IoT endpoint, the region and temporary credentials.
public struct OrganizationCredentialSource: CredentialSource {
    /// The API's base URL, e.g. `https://api.example.com/v1` (https only).
    public let baseURL: String
    /// The organization whose endpoint and credentials are fetched.
    public let organizationID: String
    /// Where the token comes from, for messages (`credentials.organization.token_file`, resolved).
    public let tokenFile: String
    private let readToken: @Sendable () throws -> String
    private let options: HTTPClientOptions
    private let now: @Sendable () -> Date

    /// A source for `organizationID` at `baseURL`.
    ///
    /// - Parameters:
    ///   - tokenFile: the token file's path, named in messages; the token itself comes from `readToken`.
    ///   - readToken: reads the token, on every fetch (so a replaced token file takes effect without a restart).
    ///   - caFile: PEM CAs to trust instead of the system store.
    ///   - requestTimeout: the longest a request may take; connecting may take at most 10 s of it.
    ///   - now: the clock that decides whether credentials have already expired.
    public init(
        baseURL: String, organizationID: String, tokenFile: String,
        readToken: @escaping @Sendable () throws -> String, caFile: String? = nil,
        requestTimeout: Duration = .seconds(30), proxy: ProxySettings = ProxySettings(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.baseURL = baseURL
        self.organizationID = organizationID
        self.tokenFile = tokenFile
        self.readToken = readToken
        self.options = HTTPClientOptions(
            caFile: caFile.flatMap { $0.isEmpty ? nil : $0 }, connectTimeout: min(.seconds(10), requestTimeout),
            totalTimeout: requestTimeout, maxResponseBytes: 256 * 1024, proxy: proxy.url,
            proxyCredentials: proxy.credentials, noProxy: proxy.noProxy)
        self.now = now
    }

    /// The request URL: the base URL without trailing slashes, then the path with the organization id
    /// percent-encoded as one segment.
    public var url: String {
        var base = Substring(baseURL)
        while base.hasSuffix("/") { base = base.dropLast() }
        return "\(base)/organizations/\(PercentEncoding.encode(organizationID))/iot-endpoint-and-credentials"
    }

    /// Reads the token, asks the endpoint, and checks every field of the answer.
    public func fetch() async throws(CredentialError) -> CloudSession {
        try await exchange().session.get()
    }

    /// One request as `fetch()` makes it, plus what the answer's headers say besides the credentials.
    public func exchange() async -> OrganizationExchange {
        let what = "organization endpoint \(HTTPRequest(url: url).host)"
        let token: String
        do {
            try checkSettings(what)
            token = try bearerToken(what)
        } catch {
            return OrganizationExchange(session: .failure(error))
        }
        let request = HTTPRequest(
            url: url, headers: [("Authorization", "Bearer \(token)"), ("Accept", "application/json")])
        let response: HTTPResponse
        do {
            response = try await perform(request, options: options)
        } catch {
            return OrganizationExchange(session: .failure(CredentialError.transport(error, what: what, secrets: [token])))
        }
        let session: Result<CloudSession, CredentialError>
        do {
            session = .success(try self.session(from: response, what: what, token: token))
        } catch {
            session = .failure(error)
        }
        return OrganizationExchange(
            session: session, status: response.status, serverDate: response.header("date"), receivedAt: now())
    }

    /// The endpoint's answer read: the session, or the error that says what to do (never quoting `token`).
    package func session(from response: HTTPResponse, what: String, token: String) throws(CredentialError)
        -> CloudSession
    {
        guard (200..<300).contains(response.status) else {
            throw OrganizationFailure(
                what: what, response: response, source: self, secrets: [token], now: now()
            ).error
        }
        do {
            return try OrganizationResponse.session(from: response.body, now: now())
        } catch {
            // A field value quoted in the message could, on a confused server, be the token itself.
            let message = ServerText.scrub("\(what): \(error.description)", secrets: [token])
            // A 2xx whose body is garbage, incomplete or already expired is the server's passing fault (a deploy,
            // a proxy's error page, its clock): nothing in our configuration to fix, so retry with backoff.
            throw CredentialError(.invalidResponse, message: message, status: response.status, isPermanent: false)
        }
    }

    private func checkSettings(_ what: String) throws(CredentialError) {
        guard baseURL.lowercased().hasPrefix("https://"), baseURL.count > "https://".count else {
            throw CredentialError(
                .invalidSettings,
                message: "\(what): base_url \(ServerText.quoted(ServerText.withoutUserInfo(baseURL))) "
                    + "is not an https:// URL: set credentials.organization.base_url, e.g. https://api.example.com/v1")
        }
        guard !organizationID.isEmpty else {
            throw CredentialError(
                .invalidSettings,
                message: "\(what): organization_id is empty: set credentials.organization.organization_id")
        }
    }

    private func bearerToken(_ what: String) throws(CredentialError) -> String {
        let token: String
        do {
            token = try readToken()
        } catch {
            throw CredentialError(.unreadableSecret, message: "\(what): cannot read the token: \(error)")
        }
        guard !token.isEmpty else {
            throw CredentialError(
                .unreadableSecret, message: "\(what): token file \(tokenFile) is empty: write the token into it")
        }
        // A token is one word of visible ASCII; anything else would corrupt the header, or is the wrong file.
        guard token.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw CredentialError(
                .unreadableSecret,
                message: "\(what): token file \(tokenFile) holds spaces, line breaks or other characters a Bearer "
                    + "token cannot contain: it must hold only the token")
        }
        return token
    }
}

/// What one request to the organization endpoint brought: the session or why not, and, when an answer came, its
/// status and `Date` header (local time `receivedAt`), from which a clock check measures the skew.
public struct OrganizationExchange: Sendable {
    public var session: Result<CloudSession, CredentialError>
    public var status: Int?
    public var serverDate: String?
    public var receivedAt: Date?

    public init(
        session: Result<CloudSession, CredentialError>, status: Int? = nil, serverDate: String? = nil,
        receivedAt: Date? = nil
    ) {
        self.session = session
        self.status = status
        self.serverDate = serverDate
        self.receivedAt = receivedAt
    }

    /// The skew the answer's `Date` header shows, if there was an answer with one.
    public var skew: ClockSkew? {
        receivedAt.flatMap { ClockSkew(serverDate: serverDate, receivedAt: $0) }
    }
}
