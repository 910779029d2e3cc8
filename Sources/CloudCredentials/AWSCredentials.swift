import FoundationEssentials
import GatewayCore

/// Temporary or long-term AWS credentials; printing them never shows the secret or the token.
public struct AWSCredentials: Equatable, Sendable {
    /// The access key id (`AKIA…` long-term, `ASIA…` temporary).
    public var accessKeyID: String
    /// The secret access key; only ever used as HMAC key material.
    public var secretAccessKey: String
    /// The session token of temporary credentials.
    public var sessionToken: String?
    /// When temporary credentials stop working; nil for long-term credentials.
    public var expiration: Date?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }

    /// The first characters of the access key id, enough to tell key kinds apart in a log.
    public var redactedAccessKeyID: String {
        String(accessKeyID.prefix(min(4, accessKeyID.count / 2))) + "…"
    }
}

extension AWSCredentials: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        let token = sessionToken == nil ? "none" : "<redacted>"
        let expires = expiration.map { isoTimestamp($0) } ?? "never"
        return "AWSCredentials(accessKeyID: \(redactedAccessKeyID), secretAccessKey: <redacted>, "
            + "sessionToken: \(token), expiration: \(expires))"
    }

    public var debugDescription: String { description }

    /// Keeps `dump()` and debuggers from printing the stored secret and token.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "accessKeyID": redactedAccessKeyID, "secretAccessKey": "<redacted>",
                "sessionToken": sessionToken == nil ? "none" : "<redacted>",
                "expiration": expiration.map { isoTimestamp($0) } ?? "never",
            ],
            displayStyle: .struct)
    }
}
