import AgentConfig
import CloudCredentials
import FoundationEssentials
import Logging

/// Builds the credential source the configuration names, reading secrets only when it fetches
/// (the agent's, and `gateway-agent check`'s, so both reach the endpoint the same way).
public enum CloudCredentialsSetup {
    public static func source(for configuration: AgentConfiguration) -> (any CloudCredentials.CredentialSource)? {
        let credentials = configuration.credentials
        let proxy = CloudCredentials.ProxySettings(
            url: configuration.proxy.url.isEmpty ? nil : configuration.proxy.url,
            credentials: nil, noProxy: configuration.proxy.noProxy.isEmpty ? nil : configuration.proxy.noProxy)
        switch credentials.source {
        case .none:
            return nil
        case .organization:
            let settings = credentials.organization
            let tokenFile = settings.tokenFile!
            return OrganizationCredentialSource(
                baseURL: settings.baseURL, organizationID: settings.organizationID, tokenFile: tokenFile.path,
                readToken: { try readSecret(tokenFile) }, caFile: settings.caFile,
                requestTimeout: settings.requestTimeout, proxy: withProxyCredentials(proxy, configuration))
        case .assumeRole:
            let settings = credentials.assumeRole
            return AssumeRoleCredentialSource(
                roleARN: settings.roleARN, externalID: settings.externalID, sessionName: settings.sessionName,
                duration: settings.duration, region: settings.region, stsEndpoint: settings.stsEndpoint,
                readSourceCredentials: {
                    try readKeys(settings.accessKeyIDFile!, settings.secretAccessKeyFile!, settings.sessionTokenFile)
                },
                proxy: withProxyCredentials(proxy, configuration))
        case .static:
            let settings = credentials.staticKeys
            return StaticCredentialSource(region: settings.region) {
                try readKeys(settings.accessKeyIDFile!, settings.secretAccessKeyFile!, settings.sessionTokenFile)
            }
        }
    }

    /// `refresh_before` of the organization source (the others refresh 5 minutes ahead too).
    public static func timing(for configuration: AgentConfiguration) -> RefreshTiming {
        var timing = RefreshTiming()
        if configuration.credentials.source == .organization {
            timing.refreshBefore = configuration.credentials.organization.refreshBefore
        }
        return timing
    }

    private static func readKeys(_ keyID: SecretFile, _ secret: SecretFile, _ token: SecretFile?) throws -> AWSCredentials {
        AWSCredentials(
            accessKeyID: try readSecret(keyID), secretAccessKey: try readSecret(secret),
            sessionToken: try token.map { try readSecret($0) })
    }

    /// The proxy password is read once at start; it is never logged.
    private static func withProxyCredentials(
        _ proxy: CloudCredentials.ProxySettings, _ configuration: AgentConfiguration
    ) -> CloudCredentials.ProxySettings {
        guard let file = configuration.proxy.credentialsFile, let text = try? readSecret(file) else { return proxy }
        return CloudCredentials.ProxySettings(url: proxy.url, credentials: text, noProxy: proxy.noProxy)
    }
}
