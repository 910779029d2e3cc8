import FoundationEssentials

/// Version of the line-delimited JSON protocol on the control socket (docs/control-protocol.md).
public let controlProtocolVersion = 1

/// Longest request line the agent reads; longer lines get `too-large` and the connection is closed.
public let maxControlLineBytes = 256 * 1024

/// What a client may ask. `get`, `list` and `status` only read.
public enum ControlVerb: String, Codable, Sendable, CaseIterable {
    case create, update, delete, get, list, retry, dismiss, status

    /// Verbs a member of `agent.readers_group` may use.
    public var isReadOnly: Bool { self == .get || self == .list || self == .status }
}

/// One request line: `{"v":1,"id":"…","verb":"create","args":{…}}`.
public struct ControlRequest: Codable, Sendable, Equatable {
    public var v: Int
    /// Chosen by the client, echoed in every response line.
    public var id: String
    public var verb: ControlVerb
    public var args: ControlArguments

    public init(id: String, verb: ControlVerb, args: ControlArguments = ControlArguments()) {
        self.v = controlProtocolVersion
        self.id = id
        self.verb = verb
        self.args = args
    }
}

/// Arguments of all verbs; each verb reads the ones it needs.
public struct ControlArguments: Codable, Sendable, Equatable {
    public var id: String?
    /// PEM text (the CLI reads `--public-key FILE|-`).
    public var publicKey: String?
    public var parent: String?
    public var target: String?
    public var context: String?
    /// `all` or `none`; absent = `identity.default_ack`.
    public var ack: String?
    public var cascade: Bool?
    /// Stream the outcome after `accepted`.
    public var wait: Bool?
    /// How long the agent waits for the outcome, in milliseconds.
    public var timeoutMs: Int?
    /// `list`: `queued`, `in-flight`, `acked`, `failed`, `dismissed` or `pending`.
    public var state: String?

    public init(
        id: String? = nil, publicKey: String? = nil, parent: String? = nil, target: String? = nil,
        context: String? = nil, ack: String? = nil, cascade: Bool? = nil, wait: Bool? = nil,
        timeoutMs: Int? = nil, state: String? = nil
    ) {
        self.id = id
        self.publicKey = publicKey
        self.parent = parent
        self.target = target
        self.context = context
        self.ack = ack
        self.cascade = cascade
        self.wait = wait
        self.timeoutMs = timeoutMs
        self.state = state
    }
}

/// Error codes of the protocol, each with the CLI exit code it maps to.
public enum ControlErrorCode: String, Codable, Sendable, CaseIterable {
    /// The line is not JSON or not a request.
    case malformed
    /// Longer than `maxControlLineBytes`.
    case tooLarge = "too-large"
    case unsupportedVersion = "unsupported-version"
    /// An argument broke a rule (names the field).
    case invalidInput = "invalid-input"
    /// The agent refused: unknown parent, delete with children without cascade, wrong state.
    case refused
    /// The peer may not use this verb.
    case forbidden
    case notFound = "not-found"
    /// Too many connections or the agent is stopping.
    case unavailable
    /// This client uid already has as many requests in progress (or connections open) as it may: retry shortly.
    case busy
    case `internal`

    /// DESIGN.md §6 exit codes.
    public var exitCode: Int32 {
        switch self {
        case .malformed, .tooLarge, .unsupportedVersion, .invalidInput, .refused, .forbidden, .notFound: 2
        case .unavailable, .busy: 5
        case .internal: 1
        }
    }
}

/// `{"code":"refused","message":"…"}`.
public struct ControlError: Codable, Sendable, Equatable, Error {
    public var code: ControlErrorCode
    public var message: String

    public init(_ code: ControlErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// Which line of a `wait` conversation this is.
public enum ControlEvent: String, Codable, Sendable {
    /// Committed to the store (first line of a request that changes something).
    case accepted
    /// The final state of the waited-for request.
    case outcome
}

/// One response line. `ok` false carries `error`; otherwise `result`.
public struct ControlResponse: Codable, Sendable, Equatable {
    public var v: Int
    public var id: String
    public var ok: Bool
    public var event: ControlEvent?
    public var result: ControlResult?
    public var error: ControlError?

    public static func success(id: String, event: ControlEvent? = nil, _ result: ControlResult) -> ControlResponse {
        ControlResponse(v: controlProtocolVersion, id: id, ok: true, event: event, result: result, error: nil)
    }

    public static func failure(id: String, _ error: ControlError) -> ControlResponse {
        ControlResponse(v: controlProtocolVersion, id: id, ok: false, event: nil, result: nil, error: error)
    }
}

/// The payload of a successful response; each verb fills its part.
public struct ControlResult: Codable, Sendable, Equatable {
    /// create/update/delete/retry/dismiss: the requests accepted or changed (a cascade has several).
    public var requests: [RequestView]?
    /// get.
    public var identity: IdentityView?
    /// list.
    public var identities: [IdentityView]?
    /// status.
    public var status: StatusView?

    public init(
        requests: [RequestView]? = nil, identity: IdentityView? = nil, identities: [IdentityView]? = nil,
        status: StatusView? = nil
    ) {
        self.requests = requests
        self.identity = identity
        self.identities = identities
        self.status = status
    }
}

/// A request as shown to operators.
public struct RequestView: Codable, Sendable, Equatable {
    public var correlationId: String
    public var action: String
    public var identity: String
    public var parent: String?
    public var state: String
    public var attempts: Int
    public var timestamp: String?
    public var acceptedAt: String
    public var lastError: String?
    public var lastErrorMessage: String?

    public init(
        correlationId: String, action: String, identity: String, parent: String?, state: String, attempts: Int,
        timestamp: String?, acceptedAt: String, lastError: String?, lastErrorMessage: String?
    ) {
        self.correlationId = correlationId
        self.action = action
        self.identity = identity
        self.parent = parent
        self.state = state
        self.attempts = attempts
        self.timestamp = timestamp
        self.acceptedAt = acceptedAt
        self.lastError = lastError
        self.lastErrorMessage = lastErrorMessage
    }
}

/// An identity as shown by `get` and `list`.
public struct IdentityView: Codable, Sendable, Equatable {
    public var id: String
    /// nil = the gateway.
    public var parent: String?
    /// State of the identity's latest request.
    public var state: String?
    public var lastError: String?
    /// What the cloud has been told: pending, present, failed, deleting, deleted.
    public var cloudState: String
    public var origin: String?
    public var updatedAt: String
    /// get only.
    public var publicKey: String?
    /// get only, oldest first.
    public var requests: [RequestView]?

    public init(
        id: String, parent: String?, state: String?, lastError: String?, cloudState: String, origin: String?,
        updatedAt: String, publicKey: String? = nil, requests: [RequestView]? = nil
    ) {
        self.id = id
        self.parent = parent
        self.state = state
        self.lastError = lastError
        self.cloudState = cloudState
        self.origin = origin
        self.updatedAt = updatedAt
        self.publicKey = publicKey
        self.requests = requests
    }
}

/// `status`: what an operator needs to see at a glance. Never holds a secret.
public struct StatusView: Codable, Sendable, Equatable {
    /// `connected`, `connecting` or `disconnected`.
    public var connection: String
    public var endpoint: String
    public var transport: String
    public var credentialSource: String
    public var credentialsExpireAt: String?
    public var queued: Int
    public var inFlight: Int
    public var failed: Int
    /// Age of the oldest queued or in-flight request, seconds.
    public var oldestPendingSeconds: Double?
    public var lastError: String?
    public var unknownAcks: Int
    public var malformedAcks: Int
    public var moduleId: String
    public var version: String
    public var uptimeSeconds: Double
    /// `identity.max_queue`: queued + in flight at most. Optional fields below are absent from older agents.
    public var maxQueue: Int?
    /// `identity.max_request_age` in seconds; null = no limit.
    public var maxRequestAgeSeconds: Double?
    /// Connections made after the first one since the agent started.
    public var reconnects: Int?
    public var counters: StatusCounters?
    /// Time from a request's last send to its ack, since the agent started.
    public var ackLatency: LatencyHistogramView?

    public init(
        connection: String, endpoint: String, transport: String, credentialSource: String,
        credentialsExpireAt: String?, queued: Int, inFlight: Int, failed: Int, oldestPendingSeconds: Double?,
        lastError: String?, unknownAcks: Int, malformedAcks: Int, moduleId: String, version: String,
        uptimeSeconds: Double
    ) {
        self.connection = connection
        self.endpoint = endpoint
        self.transport = transport
        self.credentialSource = credentialSource
        self.credentialsExpireAt = credentialsExpireAt
        self.queued = queued
        self.inFlight = inFlight
        self.failed = failed
        self.oldestPendingSeconds = oldestPendingSeconds
        self.lastError = lastError
        self.unknownAcks = unknownAcks
        self.malformedAcks = malformedAcks
        self.moduleId = moduleId
        self.version = version
        self.uptimeSeconds = uptimeSeconds
    }
}

/// Totals of what happened to requests (`status`, and the metrics).
public struct StatusCounters: Codable, Sendable, Equatable {
    /// These seven are kept in the store: totals since it was created, unchanged by restarts.
    public var accepted: Int
    public var published: Int
    public var retried: Int
    public var acked: Int
    public var failed: Int
    public var rejected: Int
    public var expired: Int
    /// Commands refused because the outbox was full, since the agent started (a refusal stores nothing).
    public var refused: Int

    public init(
        accepted: Int, published: Int, retried: Int, acked: Int, failed: Int, rejected: Int, expired: Int, refused: Int
    ) {
        self.accepted = accepted
        self.published = published
        self.retried = retried
        self.acked = acked
        self.failed = failed
        self.rejected = rejected
        self.expired = expired
        self.refused = refused
    }
}

/// A cumulative histogram: `counts[i]` observations were at most `bounds[i]` seconds.
public struct LatencyHistogramView: Codable, Sendable, Equatable {
    public var bounds: [Double]
    public var counts: [Int]
    public var count: Int
    public var sumSeconds: Double

    public init(bounds: [Double], counts: [Int], count: Int, sumSeconds: Double) {
        self.bounds = bounds
        self.counts = counts
        self.count = count
        self.sumSeconds = sumSeconds
    }
}

// Absent values are written as null, not left out: scripts read `parent`, `lastError`,
// `credentialsExpireAt` and the like as fields that are always there (DESIGN.md §6).

extension RequestView {
    enum CodingKeys: String, CodingKey {
        case correlationId, action, identity, parent, state, attempts, timestamp, acceptedAt, lastError, lastErrorMessage
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(correlationId, forKey: .correlationId)
        try c.encode(action, forKey: .action)
        try c.encode(identity, forKey: .identity)
        try c.encode(parent, forKey: .parent)
        try c.encode(state, forKey: .state)
        try c.encode(attempts, forKey: .attempts)
        try c.encode(timestamp, forKey: .timestamp)
        try c.encode(acceptedAt, forKey: .acceptedAt)
        try c.encode(lastError, forKey: .lastError)
        try c.encode(lastErrorMessage, forKey: .lastErrorMessage)
    }
}

extension IdentityView {
    enum CodingKeys: String, CodingKey {
        case id, parent, state, lastError, cloudState, origin, updatedAt, publicKey, requests
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(parent, forKey: .parent)
        try c.encode(state, forKey: .state)
        try c.encode(lastError, forKey: .lastError)
        try c.encode(cloudState, forKey: .cloudState)
        try c.encode(origin, forKey: .origin)
        try c.encode(updatedAt, forKey: .updatedAt)
        // Only `get` fills these two; `list` leaves them out.
        try c.encodeIfPresent(publicKey, forKey: .publicKey)
        try c.encodeIfPresent(requests, forKey: .requests)
    }
}

extension StatusView {
    enum CodingKeys: String, CodingKey {
        case connection, endpoint, transport, credentialSource, credentialsExpireAt, queued, inFlight, failed
        case oldestPendingSeconds, lastError, unknownAcks, malformedAcks, moduleId, version, uptimeSeconds
        case maxQueue, maxRequestAgeSeconds, reconnects, counters, ackLatency
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(connection, forKey: .connection)
        try c.encode(endpoint, forKey: .endpoint)
        try c.encode(transport, forKey: .transport)
        try c.encode(credentialSource, forKey: .credentialSource)
        try c.encode(credentialsExpireAt, forKey: .credentialsExpireAt)
        try c.encode(queued, forKey: .queued)
        try c.encode(inFlight, forKey: .inFlight)
        try c.encode(failed, forKey: .failed)
        try c.encode(oldestPendingSeconds, forKey: .oldestPendingSeconds)
        try c.encode(lastError, forKey: .lastError)
        try c.encode(unknownAcks, forKey: .unknownAcks)
        try c.encode(malformedAcks, forKey: .malformedAcks)
        try c.encode(moduleId, forKey: .moduleId)
        try c.encode(version, forKey: .version)
        try c.encode(uptimeSeconds, forKey: .uptimeSeconds)
        try c.encodeIfPresent(maxQueue, forKey: .maxQueue)
        try c.encode(maxRequestAgeSeconds, forKey: .maxRequestAgeSeconds)
        try c.encodeIfPresent(reconnects, forKey: .reconnects)
        try c.encodeIfPresent(counters, forKey: .counters)
        try c.encodeIfPresent(ackLatency, forKey: .ackLatency)
    }
}
