import GatewayCore

/// Builds an `AgentConfiguration` from the merged tree: reads each section, then checks what keys
/// mean together. Values that fail keep their default so that later checks still run; every problem is kept.
struct ConfigBuilder {
    var reader: ConfigReader
    let environment: [String: String]
    var configuration = AgentConfiguration()
    /// The port written in `broker.endpoint`, if any (to catch a different `broker.port`).
    var brokerPortFromEndpoint: Int?

    init(root: ConfigNode, mainFile: String, environment: [String: String]) {
        reader = ConfigReader(root: root, mainFile: mainFile)
        self.environment = environment
    }

    /// Reads every section, runs the cross-field checks and reports unknown keys.
    mutating func build() -> (AgentConfiguration, [ConfigProblem]) {
        readAgentSection()
        readCredentialsSection()
        readBrokerSection()
        readIdentitySection()
        readProxySection()
        readMetricsSection()
        checkConsistency()
        reader.reportUnknownKeys()
        return (configuration, reader.problems)
    }

    // MARK: Value helpers shared by the sections

    /// A duration of at least `minimum` (and at most `maximum`), or `fallback`.
    mutating func duration(
        _ key: String, default fallback: Duration, minimum: Duration = .milliseconds(1), maximum: Duration? = nil,
        wholeSeconds: Bool = false, expectedText: String? = nil
    ) -> Duration {
        let expected: String
        if let expectedText {
            expected = expectedText
        } else if let maximum {
            expected = "a duration from \(quoted(DurationText.format(minimum))) to \(quoted(DurationText.format(maximum)))"
        } else if minimum > .milliseconds(1) {
            expected = "a duration of at least \(quoted(DurationText.format(minimum)))"
        } else {
            expected = DurationText.expected + " (greater than zero)"
        }
        guard let setting = reader.duration(key, expected: expected) else { return fallback }
        let got = quoted(DurationText.format(setting.value))
        if setting.value < minimum || maximum.map({ setting.value > $0 }) == true {
            reader.reject(setting, expected: expected, got: got)
            return fallback
        }
        if wholeSeconds && setting.value.milliseconds % 1000 != 0 {
            reader.reject(setting, expected: "a whole number of seconds", got: got)
            return fallback
        }
        return setting.value
    }

    /// An integer within `range`, or `fallback`.
    mutating func integer(_ key: String, default fallback: Int, within range: ClosedRange<Int>) -> Int {
        let expected = "an integer from \(range.lowerBound) to \(range.upperBound)"
        guard let setting = reader.integer(key, expected: expected) else { return fallback }
        guard range.contains(setting.value) else {
            reader.reject(setting, expected: expected, got: String(setting.value))
            return fallback
        }
        return setting.value
    }

    /// One of `Choice`'s raw values, or `fallback`.
    mutating func choice<Choice: RawRepresentable & CaseIterable>(_ key: String, default fallback: Choice) -> Choice
    where Choice.RawValue == String {
        reader.choice(key, as: Choice.self)?.value ?? fallback
    }

    /// A string that `problem` accepts (it returns why not), or `fallback`. "" is always accepted.
    mutating func text(
        _ key: String, default fallback: String = "", expected: String, problem: (String) -> String? = plainTextProblem
    ) -> String {
        guard let setting = reader.string(key, expected: expected) else { return fallback }
        if !setting.value.isEmpty, let message = problem(setting.value) {
            reader.report(key, file: setting.file, "\(message); expected \(expected)")
            return fallback
        }
        return setting.value
    }

    /// A directory or socket path (not a `*_file` key): required non-empty, relative to the file naming it.
    mutating func path(_ key: String, default fallback: String, maximumBytes: Int? = nil) -> String {
        let expected = "an absolute path, or one relative to the file that sets it"
        guard let setting = reader.string(key, expected: expected) else { return fallback }
        guard !setting.value.isEmpty else {
            reader.reject(setting, expected: expected, got: "\"\"")
            return fallback
        }
        switch ConfigPaths.resolve(setting.value, writtenIn: setting.file, environment: environment, allowCredential: false) {
        case .failure(let problem):
            reader.report(key, file: setting.file, problem.message)
            return fallback
        case .success(let path):
            if let maximumBytes, path.utf8.count > maximumBytes {
                reader.report(key, file: setting.file,
                    "path \(quoted(path)) is \(path.utf8.count) bytes long; expected at most \(maximumBytes) bytes "
                        + "(the limit of a Unix socket path)")
                return fallback
            }
            return path
        }
    }

    /// A secret `*_file` key: "" or absent is nil. When `checkFiles`, the file must exist and be owner-only.
    mutating func secretFile(_ key: String, checkFiles: Bool) -> SecretFile? {
        guard let (setting, path) = resolvedFile(key, checkFiles: checkFiles) else { return nil }
        if checkFiles, let problem = FileChecks.secretProblem(path, origin: origin(setting, path)) {
            reader.report(key, file: setting.file, problem)
        }
        return SecretFile(path: path, key: key)
    }

    /// A certificate or CA `*_file` key (not secret): "" or absent is "". When `checkFiles`, it must be readable.
    mutating func publicFile(_ key: String, checkFiles: Bool) -> String {
        guard let (setting, path) = resolvedFile(key, checkFiles: checkFiles) else { return "" }
        if checkFiles, let problem = FileChecks.publicFileProblem(path, origin: origin(setting, path)) {
            reader.report(key, file: setting.file, problem)
        }
        return path
    }

    private mutating func resolvedFile(_ key: String, checkFiles: Bool) -> (Setting<String>, String)? {
        let expected = "a path to a file (absolute, relative to this file, or credential:NAME)"
        guard let setting = reader.string(key, expected: expected), !setting.value.isEmpty else { return nil }
        switch ConfigPaths.resolve(setting.value, writtenIn: setting.file, environment: environment, allowCredential: true) {
        case .success(let path):
            return (setting, path)
        case .failure(.noCredentialsDirectory(let message)):
            if checkFiles { reader.report(key, file: setting.file, message) }
            return nil
        case .failure(.invalid(let message)):
            reader.report(key, file: setting.file, message)
            return nil
        }
    }

    /// How an error names a file: the path, plus the `credential:` name it came from.
    private func origin(_ setting: Setting<String>, _ path: String) -> String {
        setting.value.hasPrefix(ConfigPaths.credentialPrefix) ? "\(path) (from \(setting.value))" : path
    }
}

/// Rejects control characters, which would garble logs and topics.
func plainTextProblem(_ text: String) -> String? {
    text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        ? "contains control characters" : nil
}
