import FoundationEssentials
import GatewayCore

/// Whose children a listing of identities shows.
public enum ParentFilter: Sendable, Equatable {
    /// Every identity.
    case any
    /// Identities whose parent is the gateway itself.
    case gateway
    /// Children of this identity.
    case identity(IdentityID)
}

/// How many requests are in each state that still needs attention (`status`).
public struct RequestCounts: Sendable, Equatable {
    /// Accepted, not sent yet.
    public var queued: Int
    /// Sent, waiting for the ack.
    public var inFlight: Int
    /// Failed and not yet retried or dismissed.
    public var failed: Int

    /// Counts, zero unless given.
    public init(queued: Int = 0, inFlight: Int = 0, failed: Int = 0) {
        self.queued = queued
        self.inFlight = inFlight
        self.failed = failed
    }
}

extension IdentityStore {
    /// Requests still to be sent or acknowledged (`queued` and `in-flight`), in acceptance order.
    public func pendingRequests() throws(StoreError) -> [IdentityRequest] {
        try connection.statement(
            """
            SELECT \(RequestRow.columns) FROM requests WHERE state IN ('queued', 'in-flight') ORDER BY sequence
            """
        ).rows(RequestRow.read)
    }

    /// The request with this correlation id, or nil.
    public func request(correlationID: String) throws(StoreError) -> IdentityRequest? {
        try connection.statement("SELECT \(RequestRow.columns) FROM requests WHERE correlation_id = ?1")
            .bind(.text(correlationID)).firstRow(RequestRow.read)
    }

    /// Every request of an identity, oldest first.
    public func requests(identity: IdentityID) throws(StoreError) -> [IdentityRequest] {
        try connection.statement("SELECT \(RequestRow.columns) FROM requests WHERE identity = ?1 ORDER BY sequence")
            .bind(.text(identity.rawValue)).rows(RequestRow.read)
    }

    /// The identity's most recently accepted request, or nil when it has none.
    public func latestRequest(identity: IdentityID) throws(StoreError) -> IdentityRequest? {
        try connection.statement(
            "SELECT \(RequestRow.columns) FROM requests WHERE identity = ?1 ORDER BY sequence DESC LIMIT 1"
        ).bind(.text(identity.rawValue)).firstRow(RequestRow.read)
    }

    /// The identity's row, or nil when the store never held it.
    public func identity(_ id: IdentityID) throws(StoreError) -> StoredIdentity? {
        try connection.statement("SELECT \(IdentityRow.columns) FROM identities WHERE uuid = ?1")
            .bind(.text(id.rawValue)).firstRow(IdentityRow.read)
    }

    /// Identities under `parent` whose cloud state is one of `cloudStates` (nil: any), oldest first.
    public func identities(
        parent: ParentFilter = .any, cloudStates: Set<IdentityCloudState>? = nil
    ) throws(StoreError) -> [StoredIdentity] {
        var conditions: [String] = []
        var parentValue: SQLValue?
        switch parent {
        case .any: break
        case .gateway: conditions.append("parent IS NULL")
        case .identity(let id):
            conditions.append("parent = ?1")
            parentValue = .text(id.rawValue)
        }
        if let cloudStates {
            // Literals from the enum's raw values, sorted so equal filters share one cached statement.
            let list = cloudStates.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
            conditions.append("cloud_state IN (\(list))")
        }
        let whereClause = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let statement = try connection.statement(
            "SELECT \(IdentityRow.columns) FROM identities\(whereClause) ORDER BY created_at, uuid")
        if let parentValue { try statement.bind(parentValue) }
        return try statement.rows(IdentityRow.read)
    }

    /// Children of `parent` that are not `deleted` (what a delete without `--cascade` refuses), oldest first.
    public func children(of parent: IdentityID) throws(StoreError) -> [StoredIdentity] {
        try connection.statement(
            """
            SELECT \(IdentityRow.columns) FROM identities WHERE parent = ?1 AND cloud_state != 'deleted'
            ORDER BY created_at, uuid
            """
        ).bind(.text(parent.rawValue)).rows(IdentityRow.read)
    }

    /// Identities whose origin starts with `prefix` (e.g. `file:` for identities.d), in any cloud state.
    public func identities(originPrefix prefix: String) throws(StoreError) -> [StoredIdentity] {
        // GLOB is case-sensitive and, with the prefix's wildcards escaped, can use the origin index.
        let escaped = prefix.map { "*?[".contains($0) ? "[\($0)]" : String($0) }.joined()
        return try connection.statement(
            "SELECT \(IdentityRow.columns) FROM identities WHERE origin GLOB ?1 ORDER BY origin, uuid"
        ).bind(.text(escaped + "*")).rows(IdentityRow.read)
    }

    /// Requests queued, in flight and failed.
    public func counts() throws(StoreError) -> RequestCounts {
        let rows = try connection.statement(
            """
            SELECT state, count(*) FROM requests WHERE state IN ('queued', 'in-flight', 'failed') GROUP BY state
            """
        ).rows { ($0.text(0) ?? "", Int($0.int64(1))) }
        var counts = RequestCounts()
        for (state, count) in rows {
            switch RequestState(rawValue: state) {
            case .queued: counts.queued = count
            case .inFlight: counts.inFlight = count
            case .failed: counts.failed = count
            default: break
            }
        }
        return counts
    }

    /// When the oldest request still pending was accepted; nil when nothing is pending.
    public func oldestPendingAcceptedAt() throws(StoreError) -> Date? {
        try connection.statement(
            "SELECT min(accepted_at) FROM requests WHERE state IN ('queued', 'in-flight')"
        ).firstRow { $0.isNull(0) ? nil : StoredTime.date($0.int64(0)) } ?? nil
    }
}
