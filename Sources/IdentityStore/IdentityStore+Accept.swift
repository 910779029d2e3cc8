import CSQLite
import FoundationEssentials
import GatewayCore

extension IdentityStore {
    /// Stores a batch of requests in one transaction (group commit) and returns them with `sequence` assigned.
    ///
    /// A request counts as accepted only once this returns: on any error nothing of the batch is stored.
    /// `origin` is recorded on identities the batch creates: nil for the CLI / control socket,
    /// `file:<name>` for identities.d.
    @discardableResult
    public func accept(_ requests: [IdentityRequest], origin: String? = nil) throws(StoreError) -> [IdentityRequest] {
        try accept(requests.map { (request: $0, origin: origin) })
    }

    /// `accept` for a batch that mixes origins (requests from the CLI and identities.d committed together).
    ///
    /// Effects on the identities table, in the same transaction: create inserts the identity (or revives a
    /// deleted / failed one, keeping its `createdAt`) as `pending` with the request's key, parent and origin;
    /// update sets the public key when the request has one (and the origin when given); delete marks it
    /// `deleting`. Times are kept to the millisecond; the request's `acceptedAt` is the time of record.
    @discardableResult
    public func accept(
        _ entries: [(request: IdentityRequest, origin: String?)]
    ) throws(StoreError) -> [IdentityRequest] {
        try connection.transaction { () throws(StoreError) in
            var accepted: [IdentityRequest] = []
            accepted.reserveCapacity(entries.count)
            for (request, origin) in entries {
                accepted.append(try insert(request, origin: origin))
            }
            var delta = OutboxCounters()
            delta.accepted = accepted.count
            try add(delta)
            return accepted
        }
    }

    private func insert(_ original: IdentityRequest, origin: String?) throws(StoreError) -> IdentityRequest {
        var request = original
        request.acceptedAt = StoredTime.truncated(request.acceptedAt)
        request.updatedAt = request.acceptedAt
        let now = StoredTime.milliseconds(request.acceptedAt)
        let id = request.identity.rawValue

        switch request.action {
        case .create:
            let upsert = try connection.statement(
                """
                INSERT INTO identities (uuid, parent, public_key, cloud_state, origin, created_at, updated_at)
                VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?5)
                ON CONFLICT (uuid) DO UPDATE SET parent = excluded.parent, public_key = excluded.public_key,
                    cloud_state = 'pending', origin = excluded.origin, updated_at = excluded.updated_at
                """)
            try upsert.bind(
                .text(id), .optional(request.parent?.rawValue), .optional(request.publicKey), .optional(origin),
                .integer(now))
            do {
                try upsert.run()
            } catch let error where error.sqliteCode == Int32(GATEWAY_SQLITE_CONSTRAINT_FOREIGNKEY) {
                throw StoreError.unknownIdentity(.parent(request.parent?.rawValue ?? ""))
            }
        case .update:
            let update = try connection.statement(
                """
                UPDATE identities SET public_key = coalesce(?2, public_key), origin = coalesce(?3, origin),
                    updated_at = ?4
                WHERE uuid = ?1
                """)
            try update.bind(.text(id), .optional(request.publicKey), .optional(origin), .integer(now)).run()
            guard try connection.changes() == 1 else { throw StoreError.unknownIdentity(.identity(id)) }
        case .delete:
            let delete = try connection.statement(
                "UPDATE identities SET cloud_state = 'deleting', updated_at = ?2 WHERE uuid = ?1")
            try delete.bind(.text(id), .integer(now)).run()
            guard try connection.changes() == 1 else { throw StoreError.unknownIdentity(.identity(id)) }
        }

        let insert = try connection.statement(
            """
            INSERT INTO requests (correlation_id, action, identity, parent, public_key, ack, target, context,
                timestamp, state, attempts, last_error, last_error_message, accepted_at, updated_at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14)
            """)
        try insert.bind(
            .text(request.correlationID), .text(request.action.rawValue), .text(id),
            .optional(request.parent?.rawValue), .optional(request.publicKey), .text(request.ack.rawValue),
            .optional(request.target), .optional(request.context), .optional(request.timestamp),
            .text(request.state.rawValue), .integer(Int64(request.attempts)), .optional(request.lastError),
            .optional(request.lastErrorMessage), .integer(now))
        do {
            try insert.run()
        } catch let error where error.sqliteCode == Int32(GATEWAY_SQLITE_CONSTRAINT_UNIQUE) {
            throw StoreError.duplicateCorrelationID(request.correlationID)
        }
        request.sequence = try connection.lastInsertRowID()
        return request
    }
}
