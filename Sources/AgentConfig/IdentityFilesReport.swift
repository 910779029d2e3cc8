import GatewayCore

/// What `IdentityFiles.load` found in `agent.identities_dir`: the identities to apply and every problem.
public struct IdentityFilesReport: Sendable, Equatable {
    /// The identities of the files that passed every check, in name order of their files.
    public var identities: [DeclaredIdentity]
    /// In name order of the files, each file's problems in the order found; same format as the config loader's.
    public var problems: [ConfigProblem]
    /// Names (inside the directory) of the `*.toml` files skipped for a problem.
    ///
    /// An identity created from one of these must not be pruned: its file is still there, only broken.
    public var skippedFiles: [String]
    /// False when the directory exists but could not be listed: then no identity's absence means anything.
    public var isComplete: Bool

    /// Wraps the outcome of reading the directory.
    public init(identities: [DeclaredIdentity], problems: [ConfigProblem], skippedFiles: [String], isComplete: Bool) {
        self.identities = identities
        self.problems = problems
        self.skippedFiles = skippedFiles
        self.isComplete = isComplete
    }

    /// Whether an identity recorded with `origin` (e.g. `file:sensor-1.toml`) and absent from `identities`
    /// may be deleted by `agent.prune_identities`: only when its file is truly gone, not skipped or unlisted.
    public func mayPrune(origin: String) -> Bool {
        guard isComplete, origin.hasPrefix(Self.originPrefix) else { return false }
        return !skippedFiles.contains(String(origin.dropFirst(Self.originPrefix.count)))
    }

    /// The prefix `DeclaredIdentity.origin` puts before the file name.
    private static let originPrefix = "file:"
}
