/// Fixed credentials from files (`credentials.source = "static"`), read again on every fetch so that
/// replaced files take effect at the next refresh.
public struct StaticCredentialSource: CredentialSource {
    /// The region the credentials are used in.
    public let region: String
    private let readCredentials: @Sendable () throws -> AWSCredentials

    /// A source for `region` whose credentials come from `readCredentials` (access key id, secret access key and
    /// an optional session token, read from their files).
    public init(region: String, readCredentials: @escaping @Sendable () throws -> AWSCredentials) {
        self.region = region
        self.readCredentials = readCredentials
    }

    /// Reads the credential files again and checks their content.
    public func fetch() async throws(CredentialError) -> CloudSession {
        let what = "static credentials"
        guard !region.isEmpty, OrganizationResponse.isRegion(region) else {
            throw CredentialError(
                .invalidSettings,
                message: "\(what): region \(ServerText.quoted(region)) is not an AWS region name such as eu-west-1: "
                    + "set credentials.static.region")
        }
        let credentials = try SourceCredentials.read(readCredentials, what: what, section: "credentials.static")
        return CloudSession(credentials: credentials, region: region)
    }
}

/// Credentials read from files and checked before use.
enum SourceCredentials {
    static func read(
        _ reader: @Sendable () throws -> AWSCredentials, what: String, section: String
    ) throws(CredentialError) -> AWSCredentials {
        let credentials: AWSCredentials
        do {
            credentials = try reader()
        } catch {
            throw CredentialError(.unreadableSecret, message: "\(what): cannot read the credentials: \(error)")
        }
        let fields = [
            ("access key id", "access_key_id_file", credentials.accessKeyID),
            ("secret access key", "secret_access_key_file", credentials.secretAccessKey),
            ("session token", "session_token_file", credentials.sessionToken ?? "-"),
        ]
        for (name, key, value) in fields {
            guard !value.isEmpty, value.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                throw CredentialError(
                    .unreadableSecret,
                    message: "\(what): the \(name) is empty or holds spaces, line breaks or non-ASCII characters: "
                        + "\(section).\(key) must hold only the \(name)")
            }
        }
        return credentials
    }
}
