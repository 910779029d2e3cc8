import HTTPClient

/// Why a credential source has no credentials: what failed, why, and what to do. Never holds a token, key or
/// secret, even when the server echoed one.
public struct CredentialError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The kind of failure, for callers that react differently to each.
    public enum Kind: Sendable, Equatable {
        /// A setting is unusable (base URL, organization id, role ARN, duration…); the configuration must change.
        case invalidSettings
        /// A token or key file could not be read.
        case unreadableSecret
        /// No HTTP response: DNS, TCP, TLS, proxy, timeout, connection reset.
        case unreachable
        /// The endpoint refused the request (a 4xx other than 408 and 429): token, organization, role or keys.
        case rejected
        /// The endpoint is overloaded or failing (408, 429, 5xx); retrying later may work.
        case unavailable
        /// The endpoint answered, but not with what its API promises (bad JSON, missing fields, expired credentials).
        case invalidResponse
        /// The task waiting for the credentials was cancelled.
        case cancelled
    }

    /// The kind of failure.
    public let kind: Kind
    /// The HTTP status of the response, when there was one.
    public let status: Int?
    /// The full message: what failed, why, and what to do.
    public let message: String
    /// True when retrying unchanged cannot help until someone fixes a file, the configuration or the account:
    /// retry only at the slowest pace and report it once.
    public let isPermanent: Bool
    /// How long the server asked to wait before the next attempt (`Retry-After`), if it did.
    public let retryAfter: Duration?

    /// An error of `kind`; `isPermanent` defaults to what the kind implies.
    public init(
        _ kind: Kind, message: String, status: Int? = nil, isPermanent: Bool? = nil, retryAfter: Duration? = nil
    ) {
        self.kind = kind
        self.status = status
        self.message = message
        self.retryAfter = retryAfter
        switch kind {
        case .invalidSettings, .unreadableSecret, .rejected, .invalidResponse:
            self.isPermanent = isPermanent ?? true
        case .unreachable, .unavailable, .cancelled:
            self.isPermanent = isPermanent ?? false
        }
    }

    /// The message.
    public var description: String { message }

    /// A request that got no response; `what` names the endpoint, e.g. "organization endpoint".
    static func transport(_ error: HTTPError, what: String, secrets: [String]) -> CredentialError {
        let text = ServerText.scrub(error.description, secrets: secrets)
        if case .cancelled = error {
            return CredentialError(.cancelled, message: "\(what): \(text)")
        }
        return CredentialError(.unreachable, message: "\(what): \(text)", isPermanent: !error.isRetryable)
    }
}
