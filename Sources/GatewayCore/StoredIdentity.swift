import FoundationEssentials

/// What the cloud knows of an identity, as far as the agent has been told.
public enum IdentityCloudState: String, Sendable, Codable, CaseIterable {
    /// Create accepted, not acknowledged yet.
    case pending
    /// Create (or a later update) acknowledged.
    case present
    /// Create failed (error ack, `parent-failed`, `no-ack`).
    case failed
    /// Delete accepted, not acknowledged yet.
    case deleting
    /// Delete acknowledged; kept for history, may be created again.
    case deleted
}

/// One row of the identities table.
public struct StoredIdentity: Sendable, Equatable {
    public var id: IdentityID
    /// nil = the gateway itself.
    public var parent: IdentityID?
    /// Latest accepted PEM.
    public var publicKey: String?
    public var cloudState: IdentityCloudState
    /// Who declared it: nil for the CLI / control socket, `file:<name>` for identities.d.
    public var origin: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: IdentityID, parent: IdentityID?, publicKey: String?, cloudState: IdentityCloudState,
        origin: String?, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.parent = parent
        self.publicKey = publicKey
        self.cloudState = cloudState
        self.origin = origin
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
