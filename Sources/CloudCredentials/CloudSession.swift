import FoundationEssentials

/// What a credential source hands out: credentials, the region to sign for and, from the organization
/// endpoint, the AWS IoT endpoint to connect to. Printing it never shows the secret or the session token.
public struct CloudSession: Equatable, Sendable {
    /// The credentials to sign with.
    public var credentials: AWSCredentials
    /// The AWS region the credentials are for, e.g. `eu-west-1`.
    public var region: String
    /// The AWS IoT Core endpoint (`…-ats.iot.<region>.amazonaws.com`); only the organization endpoint names one.
    public var iotEndpoint: String?

    /// A session of `credentials` for `region`.
    public init(credentials: AWSCredentials, region: String, iotEndpoint: String? = nil) {
        self.credentials = credentials
        self.region = region
        self.iotEndpoint = iotEndpoint
    }

    /// When the credentials stop working; nil for long-term credentials.
    public var expiration: Date? { credentials.expiration }
}

extension CloudSession: CustomStringConvertible, CustomDebugStringConvertible {
    /// Region, endpoint and the redacted credentials.
    public var description: String {
        "CloudSession(region: \(region), iotEndpoint: \(iotEndpoint ?? "none"), credentials: \(credentials))"
    }

    /// The same as `description`: nothing secret either way.
    public var debugDescription: String { description }
}
