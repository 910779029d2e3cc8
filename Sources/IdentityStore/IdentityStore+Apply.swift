import FoundationEssentials
import GatewayCore

extension IdentityStore {
    /// Records a batch of request changes in one transaction, with their effects on the identities table.
    ///
    /// Returns, for each change in order, the request as it now stands, or nil when the change did not apply:
    /// an unknown correlation id, or a request in a state the change does not leave from (`sent`, `sendFailed`,
    /// `acked` and `failed` need a pending request; `retried` and `dismissed` a failed one). A change that does
    /// not apply changes nothing and does not stop the others: a late or duplicate ack is not an error.
    ///
    /// Identity effects, only while the request is the identity's latest create or delete:
    /// acked create → `present`, failed create → `failed`, retried create → `pending`;
    /// acked delete → `deleted`, failed delete → `present` (the cloud still has it, as far as the agent knows),
    /// retried delete → `deleting`. An acked update turns a
    /// `pending` or `failed` identity `present`.
    @discardableResult
    public func apply(_ changes: [RequestChange], at now: Date = Date()) throws(StoreError) -> [IdentityRequest?] {
        let now = StoredTime.truncated(now)
        return try connection.transaction { () throws(StoreError) in
            var results: [IdentityRequest?] = []
            results.reserveCapacity(changes.count)
            var delta = OutboxCounters()
            for change in changes {
                results.append(try record(change, at: now, counting: &delta))
            }
            try add(delta)
            return results
        }
    }

    private func record(
        _ change: RequestChange, at now: Date, counting delta: inout OutboxCounters
    ) throws(StoreError) -> IdentityRequest? {
        guard var request = try request(correlationID: change.correlationID) else { return nil }
        let before = request
        switch change {
        case .sent(_, let timestamp, let attempts):
            guard request.state.isPending else { return nil }
            request.state = .inFlight
            request.timestamp = request.timestamp ?? timestamp
            request.attempts = attempts
        case .sendFailed(_, let error):
            guard request.state.isPending else { return nil }
            request.lastError = error
            request.lastErrorMessage = nil
        case .acked:
            guard request.state.isPending else { return nil }
            request.state = .acked
            request.lastError = nil
            request.lastErrorMessage = nil
        case .failed(_, let error, let message):
            guard request.state.isPending else { return nil }
            request.state = .failed
            request.lastError = error
            request.lastErrorMessage = message
        case .retried:
            guard request.state == .failed else { return nil }
            request.state = .queued
            request.attempts = 0
            // Accepted again: its age (identity.max_request_age) counts from the retry.
            request.acceptedAt = now
            request.lastError = nil
            request.lastErrorMessage = nil
        case .dismissed:
            guard request.state == .failed else { return nil }
            request.state = .dismissed
        }
        request.updatedAt = now
        delta.count(change, before: before)

        let update = try connection.statement(
            """
            UPDATE requests SET state = ?2, timestamp = ?3, attempts = ?4, last_error = ?5, last_error_message = ?6,
                updated_at = ?7, accepted_at = ?8
            WHERE sequence = ?1
            """)
        try update.bind(
            .integer(request.sequence), .text(request.state.rawValue), .optional(request.timestamp),
            .integer(Int64(request.attempts)), .optional(request.lastError), .optional(request.lastErrorMessage),
            .integer(StoredTime.milliseconds(now)), .integer(StoredTime.milliseconds(request.acceptedAt))
        ).run()
        try updateIdentity(after: request, at: now)
        return request
    }

    private func updateIdentity(after request: IdentityRequest, at now: Date) throws(StoreError) {
        let newState: IdentityCloudState
        var onlyFrom: [IdentityCloudState]? = nil
        switch (request.action, request.state) {
        case (.create, .acked): newState = .present
        case (.create, .failed): newState = .failed
        case (.create, .queued): newState = .pending
        case (.delete, .acked): newState = .deleted
        case (.delete, .failed): newState = .present
        case (.delete, .queued): newState = .deleting
        case (.update, .acked):
            newState = .present
            onlyFrom = [.pending, .failed]
        default: return
        }
        if request.action != .update {
            // A create acked after a later delete was accepted must not bring the identity back, and so on.
            let latest = try connection.statement(
                """
                SELECT max(sequence) FROM requests
                WHERE identity = ?1 AND action IN ('create', 'delete')
                """)
            let latestSequence = try latest.bind(.text(request.identity.rawValue)).firstRow { $0.int64(0) }
            guard latestSequence == request.sequence else { return }
        }
        let states = (onlyFrom ?? IdentityCloudState.allCases).map { "'\($0.rawValue)'" }.joined(separator: ", ")
        try connection.statement(
            "UPDATE identities SET cloud_state = ?2, updated_at = ?3 WHERE uuid = ?1 AND cloud_state IN (\(states))"
        ).bind(.text(request.identity.rawValue), .text(newState.rawValue), .integer(StoredTime.milliseconds(now)))
            .run()
    }
}
