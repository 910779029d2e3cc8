import AgentConfig

/// `config` (everything `check-config` checks) and `secret` (each secret file present, owner-only, readable).
enum ConfigurationChecks {
    static func config(_ report: ConfigCheckReport) -> [CheckResult] {
        guard report.isValid else {
            return report.problems.map { CheckResult("config", .fail, $0.description) }
                + [CheckResult("config", .fail, "\(report.lines.last ?? "invalid"): fix each problem above")]
        }
        return [CheckResult("config", .ok, report.text)]
    }

    /// One line per secret file the configuration uses; the content is read (as the agent does) but never shown.
    static func secrets(_ configuration: AgentConfiguration) -> [CheckResult] {
        secretFiles(configuration).map { file in
            do {
                _ = try readSecret(file)
                return CheckResult("secret", .ok, "\(file.key): \(file.path) is present and readable by its owner only")
            } catch {
                return CheckResult("secret", .fail, "\(error)")
            }
        }
    }

    /// The `*_file` secrets the configured credential source, broker and proxy use.
    static func secretFiles(_ configuration: AgentConfiguration) -> [SecretFile] {
        let credentials = configuration.credentials
        var files: [SecretFile?] = []
        switch credentials.source {
        case .organization:
            files.append(credentials.organization.tokenFile)
        case .assumeRole:
            let settings = credentials.assumeRole
            files += [settings.accessKeyIDFile, settings.secretAccessKeyFile, settings.sessionTokenFile]
        case .static:
            let settings = credentials.staticKeys
            files += [settings.accessKeyIDFile, settings.secretAccessKeyFile, settings.sessionTokenFile]
        case .none:
            break
        }
        if configuration.broker.transport == .mqttTLS {
            files += [configuration.broker.keyFile, configuration.broker.passwordFile]
        }
        files.append(configuration.proxy.credentialsFile)
        return files.compactMap { $0 }
    }
}
