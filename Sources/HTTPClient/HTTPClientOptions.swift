/// How requests are sent: trust, time limits, size limit, proxy.
public struct HTTPClientOptions: Sendable {
    /// PEM file of the CAs to trust instead of the system store; nil trusts the system store.
    public var caFile: String?
    /// Longest wait for the TCP and TLS connection (through the proxy, if any).
    public var connectTimeout: Duration
    /// Longest the whole request may take, connection included.
    public var totalTimeout: Duration
    /// Largest response body accepted; a larger one fails with `HTTPError.responseTooLarge`.
    public var maxResponseBytes: Int
    /// HTTP CONNECT proxy URL (`http://host:port`); nil uses `HTTPS_PROXY`/`https_proxy`/`ALL_PROXY`
    /// from the environment, `""` uses no proxy at all.
    public var proxy: String?
    /// `user:password` for the proxy; never printed.
    public var proxyCredentials: String?
    /// Comma-separated hosts reached without the proxy; nil uses `NO_PROXY`/`no_proxy` from the environment.
    public var noProxy: String?

    public init(
        caFile: String? = nil, connectTimeout: Duration = .seconds(10), totalTimeout: Duration = .seconds(30),
        maxResponseBytes: Int = 1 << 20, proxy: String? = nil, proxyCredentials: String? = nil,
        noProxy: String? = nil
    ) {
        self.caFile = caFile
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
        self.maxResponseBytes = maxResponseBytes
        self.proxy = proxy
        self.proxyCredentials = proxyCredentials
        self.noProxy = noProxy
    }
}

extension HTTPClientOptions: CustomStringConvertible, CustomReflectable {
    public var description: String {
        let proxyText = proxy.map { $0.isEmpty ? "none" : Redaction.userInfo(in: $0) } ?? "environment"
        return "HTTPClientOptions(caFile: \(caFile ?? "system store"), connectTimeout: \(connectTimeout), "
            + "totalTimeout: \(totalTimeout), maxResponseBytes: \(maxResponseBytes), proxy: \(proxyText), "
            + "proxyCredentials: \(proxyCredentials == nil ? "none" : "<redacted>"), "
            + "noProxy: \(noProxy ?? "environment"))"
    }

    /// Keeps `dump()` from printing the proxy credentials.
    public var customMirror: Mirror {
        Mirror(self, children: ["description": description], displayStyle: .struct)
    }
}
