import GatewayCore

/// Totals of what happened to requests since the store was created; they survive restarts.
///
/// Each is updated in the transaction that records what it counts, so a total never disagrees with the
/// requests table, even after a crash.
public struct OutboxCounters: Sendable, Equatable {
    /// Requests committed to the outbox (each request of a cascade delete counts).
    public var accepted = 0
    /// Sends recorded: first sends and resends.
    public var published = 0
    /// Resends with the same correlation id (no ack in time, a lost connection, a restart, an operator's retry).
    public var retried = 0
    /// Requests that became `acked`.
    public var acked = 0
    /// Requests that became `failed`, for any reason (`rejected` and `expired` are parts of this).
    public var failed = 0
    /// Failed with an error ack from the cloud.
    public var rejected = 0
    /// Failed because they were older than `identity.max_request_age`.
    public var expired = 0

    public init() {}

    /// The counters by their names in the `counters` table.
    var named: [(name: String, value: Int)] {
        [("accepted", accepted), ("published", published), ("retried", retried), ("acked", acked), ("failed", failed),
         ("rejected", rejected), ("expired", expired)]
    }

    mutating func set(_ name: String, _ value: Int) {
        switch name {
        case "accepted": accepted = value
        case "published": published = value
        case "retried": retried = value
        case "acked": acked = value
        case "failed": failed = value
        case "rejected": rejected = value
        case "expired": expired = value
        default: break
        }
    }

    /// Counts `change` as recorded on `request` (the request as it was before the change).
    mutating func count(_ change: RequestChange, before request: IdentityRequest) {
        switch change {
        case .sent:
            published += 1
            if request.timestamp != nil { retried += 1 }
        case .acked:
            acked += 1
        case .failed(_, let error, _):
            failed += 1
            if error == FailureReason.expired {
                expired += 1
            } else if !FailureReason.decidedByAgent.contains(error) {
                rejected += 1
            }
        case .sendFailed, .retried, .dismissed:
            break
        }
    }
}

extension IdentityStore {
    /// The totals as stored.
    public func counters() throws(StoreError) -> OutboxCounters {
        var counters = OutboxCounters()
        for (name, value) in try connection.statement("SELECT name, value FROM counters").rows({ ($0.text(0) ?? "", Int($0.int64(1))) }) {
            counters.set(name, value)
        }
        return counters
    }

    /// Adds `delta` to the stored totals; called inside the transaction that recorded what it counts.
    func add(_ delta: OutboxCounters) throws(StoreError) {
        guard keepsCounters else { return }
        let update = try connection.statement("UPDATE counters SET value = value + ?2 WHERE name = ?1")
        for (name, value) in delta.named where value != 0 {
            try update.bind(.text(name), .integer(Int64(value))).run()
        }
    }
}
