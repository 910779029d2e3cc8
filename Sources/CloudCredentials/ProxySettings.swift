/// The HTTP CONNECT proxy for requests to credential endpoints (`[proxy]` in the configuration).
public struct ProxySettings: Sendable, Equatable {
    /// `http://host:port`; nil uses `HTTPS_PROXY`/`https_proxy` from the environment, `""` uses no proxy.
    public var url: String?
    /// `user:password` for the proxy (the content of `proxy.credentials_file`); never printed.
    public var credentials: String?
    /// Comma-separated hosts reached directly; nil uses `NO_PROXY`/`no_proxy` from the environment.
    public var noProxy: String?

    /// Proxy settings; the defaults follow the environment.
    public init(url: String? = nil, credentials: String? = nil, noProxy: String? = nil) {
        self.url = url
        self.credentials = credentials
        self.noProxy = noProxy
    }
}

extension ProxySettings: CustomStringConvertible {
    /// The URL and no-proxy list; the credentials only as `<redacted>`.
    public var description: String {
        let shownURL = url.map(ServerText.withoutUserInfo) ?? "environment"
        return "ProxySettings(url: \(shownURL), credentials: \(credentials == nil ? "none" : "<redacted>"), "
            + "noProxy: \(noProxy ?? "environment"))"
    }
}
