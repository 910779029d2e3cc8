/// Where the tunnel connects: `wss://host:port/path?query`, how to trust it, and how to reach it.
///
/// `pathAndQuery` holds the presigned query (signature, security token): it never appears in `description`.
public struct WebSocketEndpoint: Sendable, CustomStringConvertible {
    /// The default limit on one inbound WebSocket message.
    public static let defaultMaxMessageBytes = 1 << 20

    /// Server host name or address; the certificate must be valid for it.
    public var host: String
    /// Server port (443 for AWS IoT Core).
    public var port: Int
    /// Request target, e.g. `/mqtt?X-Amz-Algorithm=…`; starts with `/`.
    public var pathAndQuery: String
    /// PEM CA file to trust; nil trusts the system store.
    public var caFile: String?
    /// HTTP proxy to `CONNECT` through, unless its `noProxy` list matches `host`.
    public var proxy: ProxySettings?
    /// Inbound messages larger than this close the tunnel with 1009.
    public var maxMessageBytes: Int

    /// An endpoint; see the properties for each part.
    public init(
        host: String, port: Int = 443, pathAndQuery: String, caFile: String? = nil, proxy: ProxySettings? = nil,
        maxMessageBytes: Int = WebSocketEndpoint.defaultMaxMessageBytes
    ) {
        self.host = host
        self.port = port
        self.pathAndQuery = pathAndQuery
        self.caFile = caFile
        self.proxy = proxy
        self.maxMessageBytes = maxMessageBytes
    }

    /// `wss://host:port/path`, without the query.
    public var description: String {
        let path = pathAndQuery.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return "wss://\(authority)\(path)"
    }

    /// `host:port` with brackets around IPv6 addresses.
    var authority: String { ProxySettings.authority(host: host, port: port) }

    /// The `Host` header: the port is left out when it is the default 443.
    var hostHeader: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return port == 443 ? bracketed : "\(bracketed):\(port)"
    }

    /// The proxy to use for this endpoint, if any.
    var effectiveProxy: ProxySettings? {
        guard let proxy, !proxy.isBypassed(for: host) else { return nil }
        return proxy
    }

    func validate() throws(TunnelError) {
        let forbidden: Set<Character> = [" ", "\t", "\r", "\n", "/", "?", "#", "@"]
        guard !host.isEmpty, !host.contains(where: forbidden.contains) else {
            throw .invalidEndpoint("host \"\(host)\" must be a bare host name or address; check broker.endpoint")
        }
        guard (1...65535).contains(port) else {
            throw .invalidEndpoint("port \(port) must be from 1 to 65535; check broker.endpoint / broker.port")
        }
        guard pathAndQuery.hasPrefix("/"), !pathAndQuery.contains(where: { $0.isWhitespace || $0.isNewline }) else {
            throw .invalidEndpoint("the request path of \(description) must start with / and hold no spaces")
        }
        guard maxMessageBytes > 0 else {
            throw .invalidEndpoint("the message size limit \(maxMessageBytes) must be positive")
        }
    }
}
