import FoundationEssentials

/// Loads the agent's configuration: the main TOML file plus the drop-ins beside it, merged, then checked.
public enum ConfigLoader {
    /// The main file when `--config` is not given.
    public static let defaultPath = "/etc/gateway-agent/gateway-agent.toml"

    /// Name of the drop-in directory, which sits in the main file's directory.
    public static let dropInDirectoryName = "gateway-agent.d"

    /// Every key path the loader accepts (those of DESIGN.md §5), in the order the sections are read.
    public static let keys: [String] = {
        var builder = ConfigBuilder(root: .emptyTable(file: ""), mainFile: "", environment: [:])
        _ = builder.build()
        return builder.reader.knownKeys
    }()

    /// The drop-in directory for the main file at `path`.
    public static func dropInDirectory(forMainFile path: String) -> String {
        ConfigPaths.directory(of: ConfigPaths.absolute(path)) + "/" + dropInDirectoryName
    }

    /// Reads, merges and checks the configuration whose main file is `path`.
    ///
    /// Drop-ins (`gateway-agent.d/*.toml` beside the main file) are merged in byte order of their names;
    /// tables merge key by key and a later value replaces an earlier one. `environment` supplies
    /// `CREDENTIALS_DIRECTORY` for `credential:NAME` paths.
    /// - Throws: every problem found, each naming the file and key at fault.
    public static func load(
        path: String = defaultPath, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigErrors) -> AgentConfiguration {
        let outcome = evaluate(path: path, environment: environment)
        guard let configuration = outcome.configuration, outcome.problems.isEmpty else {
            throw ConfigErrors(problems: outcome.problems)
        }
        return configuration
    }

    /// What `gateway-agent check-config` reports: every problem, or a one-line summary.
    public static func check(
        path: String = defaultPath, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> ConfigCheckReport {
        let outcome = evaluate(path: path, environment: environment)
        return ConfigCheckReport(
            mainFile: outcome.mainFile, dropIns: outcome.dropIns, problems: outcome.problems,
            configuration: outcome.problems.isEmpty ? outcome.configuration : nil)
    }

    private struct Outcome {
        let mainFile: String
        let dropIns: [String]
        let problems: [ConfigProblem]
        let configuration: AgentConfiguration?
    }

    private static func evaluate(path: String, environment: [String: String]) -> Outcome {
        let mainFile = ConfigPaths.absolute(path)
        var problems: [ConfigProblem] = []
        let dropIns = findDropIns(mainFile: mainFile, problems: &problems)
        var root = ConfigNode.emptyTable(file: mainFile)
        for file in [mainFile] + dropIns {
            switch ConfigFile.parse(file, isMain: file == mainFile) {
            case .success(let tree): root.merge(tree)
            case .failure(let problem): problems.append(problem)
            }
        }
        // A file that could not be parsed would leave its keys at their defaults and flood the report
        // with follow-on errors; the file-level problems are the ones to fix first.
        guard problems.isEmpty else {
            return Outcome(mainFile: mainFile, dropIns: dropIns, problems: problems, configuration: nil)
        }
        var builder = ConfigBuilder(root: root, mainFile: mainFile, environment: environment)
        var (configuration, found) = builder.build()
        configuration.sources = [mainFile] + dropIns
        return Outcome(
            mainFile: mainFile, dropIns: dropIns, problems: inFileOrder(found, files: [mainFile] + dropIns),
            configuration: configuration)
    }

    /// `gateway-agent.d/*.toml` in byte order of their names; a missing directory means none.
    private static func findDropIns(mainFile: String, problems: inout [ConfigProblem]) -> [String] {
        let directory = ConfigPaths.directory(of: mainFile) + "/" + dropInDirectoryName
        switch FileAccess.entries(ofDirectory: directory) {
        case .failure(let error) where error.isMissing:
            return []
        case .failure(let error):
            problems.append(ConfigProblem(file: directory, message: "cannot list drop-in directory: \(error.reason)"))
            return []
        case .success(let names):
            return names.filter { $0.hasSuffix(".toml") && !$0.hasPrefix(".") }
                .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                .map { directory + "/" + $0 }
        }
    }

    /// Stable order: by file (main first, then drop-ins), keeping the order found within a file.
    private static func inFileOrder(_ problems: [ConfigProblem], files: [String]) -> [ConfigProblem] {
        let rank = Dictionary(files.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        return problems.enumerated()
            .sorted { (rank[$0.element.file] ?? files.count, $0.offset) < (rank[$1.element.file] ?? files.count, $1.offset) }
            .map(\.element)
    }
}
