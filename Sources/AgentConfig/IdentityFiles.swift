import GatewayCore

/// Reads the declarative identities directory (`agent.identities_dir`): one TOML file per identity.
///
/// A file with any problem is skipped and the others still apply. Whether a `parent` exists is not
/// checked here: it may name an identity declared elsewhere or created through the CLI.
public enum IdentityFiles {
    /// Largest public key file accepted: a PEM public key is a few KiB; anything bigger is the wrong file.
    public static let publicKeyFileSizeLimit = 64 * 1024

    /// Every key an identity file may hold, in the order the example documents them.
    public static let keys = ["id", "public_key_file", "public_key", "parent", "target", "context"]

    /// Reads every `*.toml` in `directory` (dotfiles skipped) in byte order of their names.
    ///
    /// A missing directory declares no identities and is no problem; one that cannot be listed is one problem.
    /// `publicKeyCheck` decides whether a PEM text is a usable public key (CryptoSupport's check in the agent).
    public static func load(
        directory: String, publicKeyCheck: (String) throws(ValidationError) -> Void
    ) -> IdentityFilesReport {
        let directory = ConfigPaths.normalize(directory)
        let names: [String]
        switch list(directory) {
        case .success(let listed): names = listed
        case .failure(let problem):
            return IdentityFilesReport(identities: [], problems: [problem], skippedFiles: [], isComplete: false)
        }

        var identities: [DeclaredIdentity] = []
        var problems: [ConfigProblem] = []
        var skipped: [String] = []
        var declaredBy: [IdentityID: DeclaredIdentity] = [:]
        for name in names {
            let file = path(of: name, in: directory)
            var reading = IdentityFileReading(file: file, fileName: name)
            guard let identity = reading.read(publicKeyCheck: publicKeyCheck) else {
                problems += reading.problems
                skipped.append(name)
                continue
            }
            if let first = declaredBy[identity.id] {
                let firstFile = path(of: first.fileName, in: directory)
                problems.append(ConfigProblem(file: firstFile, key: "id",
                    message: "\(identity.id) is also declared by \(file), which is skipped; "
                        + "give each identity exactly one file"))
                problems.append(ConfigProblem(file: file, key: "id",
                    message: "\(identity.id) is already declared by \(firstFile); this file is skipped; "
                        + "remove one of the two files"))
                skipped.append(name)
                continue
            }
            declaredBy[identity.id] = identity
            identities.append(identity)
        }
        return IdentityFilesReport(
            identities: identities, problems: inNameOrder(problems, names: names, directory: directory),
            skippedFiles: skipped, isComplete: true)
    }

    /// The `*.toml` names in `directory`, sorted by bytes; none when it does not exist.
    private static func list(_ directory: String) -> Result<[String], ConfigProblem> {
        switch FileAccess.status(directory) {
        case .failure(let error) where error.isMissing:
            return .success([])
        case .failure(let error):
            return .failure(ConfigProblem(file: directory,
                message: "cannot read the identities directory (agent.identities_dir): \(error.reason)"))
        case .success(let status) where !status.isDirectory:
            return .failure(ConfigProblem(file: directory,
                message: "agent.identities_dir names this path, which is not a directory; "
                    + "point it at a directory of one TOML file per identity"))
        case .success:
            break
        }
        switch FileAccess.entries(ofDirectory: directory) {
        case .failure(let error) where error.isMissing:
            return .success([])
        case .failure(let error):
            return .failure(ConfigProblem(file: directory,
                message: "cannot list the identities directory (agent.identities_dir): \(error.reason); "
                    + "the agent's user must be able to read it"))
        case .success(let names):
            return .success(names.filter { $0.hasSuffix(".toml") && !$0.hasPrefix(".") }
                .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        }
    }

    private static func path(of name: String, in directory: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// Stable order by file name, so that a duplicate's report on the earlier file sits with that file.
    private static func inNameOrder(
        _ problems: [ConfigProblem], names: [String], directory: String
    ) -> [ConfigProblem] {
        let rank = Dictionary(
            names.enumerated().map { (path(of: $1, in: directory), $0) }, uniquingKeysWith: { first, _ in first })
        func position(_ entry: (offset: Int, element: ConfigProblem)) -> (Int, Int) {
            (rank[entry.element.file] ?? names.count, entry.offset)
        }
        return problems.enumerated().sorted { position($0) < position($1) }.map(\.element)
    }
}
