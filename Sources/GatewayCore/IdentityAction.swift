/// The three Identity v2 actions; the raw value is the topic's action word.
public enum IdentityAction: String, Sendable, Codable, CaseIterable {
    case create, update, delete
}

/// The `ack` property of a request: `all` asks the cloud for an ack, `none` ends the request at PUBACK.
public enum AckMode: String, Sendable, Codable, CaseIterable {
    case all, none
}

/// Where a request stands. Only an ack (or an operator) ends one.
public enum RequestState: String, Sendable, Codable, CaseIterable {
    /// Accepted and stored, not sent yet (or waiting for its parent, its turn, or a connection).
    case queued
    /// Published, waiting for the ack (or the PUBACK with `ack=none`).
    case inFlight = "in-flight"
    /// The cloud acknowledged it with success. Final.
    case acked
    /// Error ack, `parent-failed` or `no-ack` after `max_attempts`. Stays visible until retried or dismissed.
    case failed
    /// An operator ended a failed request with `identity dismiss`. Final.
    case dismissed

    /// True for `queued` and `in-flight`: the request still needs work.
    public var isPending: Bool { self == .queued || self == .inFlight }
}
