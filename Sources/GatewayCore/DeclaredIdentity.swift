/// One identity declared by a file in `agent.identities_dir` (desired state).
public struct DeclaredIdentity: Sendable, Equatable {
    public var id: IdentityID
    public var parent: IdentityID?
    /// PEM SubjectPublicKeyInfo (from `public_key_file` or inline `public_key`).
    public var publicKey: String
    public var target: String?
    public var context: String?
    /// The file's name inside identities.d; stored as origin `file:<name>`.
    public var fileName: String

    public init(
        id: IdentityID, parent: IdentityID?, publicKey: String, target: String?, context: String?, fileName: String
    ) {
        self.id = id
        self.parent = parent
        self.publicKey = publicKey
        self.target = target
        self.context = context
        self.fileName = fileName
    }

    /// The origin recorded for identities created from this file.
    public var origin: String { "file:\(fileName)" }
}

/// The whole of identities.d as read on start or SIGHUP.
public struct DeclaredIdentities: Sendable, Equatable {
    public var identities: [DeclaredIdentity]
    /// `agent.prune_identities`: delete identities created from a file that is gone.
    public var prune: Bool
    /// Files that exist but were skipped for a problem: their identities are never pruned.
    public var skippedFiles: Set<String>
    /// False when the directory could not be listed: then nothing is pruned.
    public var isComplete: Bool

    public init(identities: [DeclaredIdentity], prune: Bool, skippedFiles: Set<String> = [], isComplete: Bool = true) {
        self.identities = identities
        self.prune = prune
        self.skippedFiles = skippedFiles
        self.isComplete = isComplete
    }

    /// True when an identity created from `origin` (`file:<name>`) may be deleted because its file is gone.
    public func mayPrune(origin: String) -> Bool {
        guard prune, isComplete, origin.hasPrefix("file:") else { return false }
        let name = String(origin.dropFirst("file:".count))
        return !skippedFiles.contains(name) && !identities.contains { $0.fileName == name }
    }
}
