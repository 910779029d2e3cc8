import FoundationEssentials
import GatewayCore

/// Times are stored as integer milliseconds since the Unix epoch (UTC).
enum StoredTime {
    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    static func date(_ milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// `date` at the precision the store keeps, so what `accept` returns equals what queries read back.
    static func truncated(_ date: Date) -> Date { self.date(milliseconds(date)) }
}

/// Column lists and readers for the two tables; a query selects `columns` and reads with `read`.
enum RequestRow {
    static let table = "requests"
    static let columns = """
        sequence, correlation_id, action, identity, parent, public_key, ack, target, context, timestamp, state, \
        attempts, last_error, last_error_message, accepted_at, updated_at
        """

    static func read(_ row: Statement) throws(StoreError) -> IdentityRequest {
        IdentityRequest(
            sequence: row.int64(0),
            correlationID: row.text(1) ?? "",
            action: try row.decode(table, 2, "action", IdentityAction.init(rawValue:)),
            identity: try row.decode(table, 3, "identity", IdentityID.init),
            parent: try row.isNull(4) ? nil : row.decode(table, 4, "parent", IdentityID.init),
            publicKey: row.text(5),
            ack: try row.decode(table, 6, "ack", AckMode.init(rawValue:)),
            target: row.text(7),
            context: row.text(8),
            timestamp: row.text(9),
            state: try row.decode(table, 10, "state", RequestState.init(rawValue:)),
            attempts: Int(row.int64(11)),
            lastError: row.text(12),
            lastErrorMessage: row.text(13),
            acceptedAt: StoredTime.date(row.int64(14)),
            updatedAt: StoredTime.date(row.int64(15)))
    }
}

enum IdentityRow {
    static let table = "identities"
    static let columns = "uuid, parent, public_key, cloud_state, origin, created_at, updated_at"

    static func read(_ row: Statement) throws(StoreError) -> StoredIdentity {
        StoredIdentity(
            id: try row.decode(table, 0, "uuid", IdentityID.init),
            parent: try row.isNull(1) ? nil : row.decode(table, 1, "parent", IdentityID.init),
            publicKey: row.text(2),
            cloudState: try row.decode(table, 3, "cloud_state", IdentityCloudState.init(rawValue:)),
            origin: row.text(4),
            createdAt: StoredTime.date(row.int64(5)),
            updatedAt: StoredTime.date(row.int64(6)))
    }
}

extension Statement {
    /// Parses a text column into a domain value, or names the table, column and value it could not read.
    fileprivate func decode<T>(
        _ table: String, _ column: Int32, _ name: String, _ parse: (String) -> T?
    ) throws(StoreError) -> T {
        let text = self.text(column) ?? ""
        guard let value = parse(text) else { throw StoreError.unreadableRow(table: table, column: name, value: text) }
        return value
    }
}
