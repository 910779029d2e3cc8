/// Something that happened to a stored request; `IdentityStore.apply` records a batch of them at once.
public enum RequestChange: Sendable, Equatable {
    /// Published: the request is `in-flight`; `timestamp` is kept from the first send, `attempts` is the new count.
    case sent(correlationID: String, timestamp: String, attempts: Int)
    /// A publish that did not go out (no connection, broker refused): recorded as `lastError`, state unchanged.
    case sendFailed(correlationID: String, error: String)
    /// The cloud acknowledged success (or PUBACK arrived for `ack=none`): the request is `acked`.
    case acked(correlationID: String)
    /// An error ack, `parent-failed` or `no-ack`: the request is `failed` with `error` and the cloud's `message`.
    case failed(correlationID: String, error: String, message: String?)
    /// An operator's retry of a failed request: `queued` again, attempts 0, error cleared, same correlation id
    /// and timestamp.
    case retried(correlationID: String)
    /// An operator's dismissal of a failed request: `dismissed`, final.
    case dismissed(correlationID: String)

    /// The request this change is about.
    public var correlationID: String {
        switch self {
        case .sent(let id, _, _), .sendFailed(let id, _), .acked(let id), .failed(let id, _, _), .retried(let id),
            .dismissed(let id):
            id
        }
    }
}
