import AgentConfig
import WebSocketTunnel

#if canImport(Glibc)
import Glibc
#endif

/// The WebSocket tunnel's proxy (this file imports only the tunnel's `ProxySettings`, whose name
/// CloudCredentials also uses): `[proxy] url` with `credentials_file`, else `HTTPS_PROXY` / `NO_PROXY`.
public enum TunnelProxy {
    public static func settings(_ proxy: ProxySection) throws -> ProxySettings? {
        if proxy.url.isEmpty {
            return try ProxySettings.fromEnvironment(environment())
        }
        let credentials = try proxy.credentialsFile.map {
            try ProxyCredentials(userColonPassword: try readSecret($0), source: $0.key)
        }
        return try ProxySettings(url: proxy.url, credentials: credentials, noProxy: ProxySettings.noProxyList(proxy.noProxy))
    }

    private static func environment() -> [String: String] {
        var result: [String: String] = [:]
        for name in ["HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"] {
            if let value = getenv(name) { result[name] = String(cString: value) }
        }
        return result
    }
}
