import FoundationEssentials

/// One Identity v2 request in the outbox: what was asked, and where it stands.
///
/// Everything the wire needs is fixed when the request is accepted (correlation id, properties),
/// except `timestamp`, which is set on the first send and then reused on every retry.
public struct IdentityRequest: Sendable, Equatable {
    /// Order of acceptance (the store's row id); requests of one identity are sent in this order.
    public var sequence: Int64
    /// Fresh UUID per request, reused on every retry.
    public var correlationID: String
    public var action: IdentityAction
    public var identity: IdentityID
    /// nil when the parent is the gateway itself.
    public var parent: IdentityID?
    /// PEM SubjectPublicKeyInfo; nil for delete (and for an update that changes no key).
    public var publicKey: String?
    public var ack: AckMode
    public var target: String?
    public var context: String?
    /// ISO-8601 UTC with milliseconds, set when first sent.
    public var timestamp: String?
    public var state: RequestState
    /// Publishes so far (reset by an operator's retry).
    public var attempts: Int
    /// Why the request failed (`no-ack`, `parent-failed`, the cloud's error code), or the last send error.
    public var lastError: String?
    /// The cloud's message with an error ack.
    public var lastErrorMessage: String?
    public var acceptedAt: Date
    public var updatedAt: Date

    public init(
        sequence: Int64 = 0, correlationID: String = newCorrelationID(), action: IdentityAction,
        identity: IdentityID, parent: IdentityID? = nil, publicKey: String? = nil, ack: AckMode = .all,
        target: String? = nil, context: String? = nil, timestamp: String? = nil, state: RequestState = .queued,
        attempts: Int = 0, lastError: String? = nil, lastErrorMessage: String? = nil,
        acceptedAt: Date = Date(), updatedAt: Date? = nil
    ) {
        self.sequence = sequence
        self.correlationID = correlationID
        self.action = action
        self.identity = identity
        self.parent = parent
        self.publicKey = publicKey
        self.ack = ack
        self.target = target
        self.context = context
        self.timestamp = timestamp
        self.state = state
        self.attempts = attempts
        self.lastError = lastError
        self.lastErrorMessage = lastErrorMessage
        self.acceptedAt = acceptedAt
        self.updatedAt = updatedAt ?? acceptedAt
    }
}

/// Reasons the agent itself writes into `lastError`.
public enum FailureReason {
    /// No ack after `identity.max_attempts` sends.
    public static let noAck = "no-ack"
    /// The parent's create failed, so this request can never be sent.
    public static let parentFailed = "parent-failed"
}

extension FailureReason {
    /// A delete could not go out because a child's delete failed or was dismissed.
    public static let childNotDeleted = "child-not-deleted"
}

extension FailureReason {
    /// Not acknowledged within `identity.max_request_age` of its acceptance.
    public static let expired = "expired"

    /// Reasons the agent decides on itself; any other `lastError` of a failed request came from the cloud.
    public static let decidedByAgent: Set<String> = [noAck, parentFailed, childNotDeleted, expired]
}
