import FoundationEssentials

/// User name and password for an HTTP proxy's Basic authentication; the password never appears in text.
public struct ProxyCredentials: Sendable, Equatable, CustomStringConvertible {
    /// The proxy user name.
    public let user: String
    /// The proxy password.
    public let password: String

    /// Credentials from their two parts.
    public init(user: String, password: String) {
        self.user = user
        self.password = password
    }

    /// Credentials from `user:password` (the content of `proxy.credentials_file`, surrounding whitespace ignored).
    public init(userColonPassword text: String, source: String) throws(TunnelError) {
        let line = text.trimmingWhitespace()
        guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
            throw .invalidProxy("\(source) must hold user:password on one line")
        }
        self.init(user: String(line[..<colon]), password: String(line[line.index(after: colon)...]))
    }

    /// The value of a `Proxy-Authorization` header.
    var basicAuthorization: String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    /// The user name only.
    public var description: String { "\(user):<redacted>" }
}

/// An HTTP proxy the WebSocket connection goes through with `CONNECT`, and the hosts that bypass it.
public struct ProxySettings: Sendable, Equatable, CustomStringConvertible {
    /// The proxy's host name or address.
    public let host: String
    /// The proxy's port (1080 when the URL names none, as curl does).
    public let port: Int
    /// Basic authentication credentials, if the proxy wants them.
    public let credentials: ProxyCredentials?
    /// `NO_PROXY` entries: host names (a leading dot or none both match subdomains), addresses, or `*`.
    public let noProxy: [String]

    /// Settings from a proxy URL such as `http://proxy.example:3128` (scheme optional; `user:pass@` accepted,
    /// but explicit `credentials` win).
    public init(url: String, credentials: ProxyCredentials? = nil, noProxy: [String] = []) throws(TunnelError) {
        var rest = Substring(url.trimmingWhitespace())
        if let schemeEnd = rest.firstRange(of: "://") {
            let scheme = rest[..<schemeEnd.lowerBound].lowercased()
            guard scheme == "http" else {
                throw .invalidProxy(
                    "proxy URL scheme \"\(scheme)\" is not supported: use an http:// proxy (CONNECT is sent in clear)")
            }
            rest = rest[schemeEnd.upperBound...]
        }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        var fromURL: ProxyCredentials?
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let parts = userInfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            fromURL = ProxyCredentials(
                user: percentDecoded(parts[0]),
                password: parts.count > 1 ? percentDecoded(parts[1]) : "")
        }
        let (host, port) = try Self.splitHostPort(rest)
        self.host = host
        self.port = port
        self.credentials = credentials ?? fromURL
        self.noProxy = noProxy.map { $0.trimmingWhitespace().lowercased() }.filter { !$0.isEmpty }
    }

    /// Settings from `HTTPS_PROXY` / `https_proxy` and `NO_PROXY` / `no_proxy`; nil when no proxy is set.
    public static func fromEnvironment(_ environment: [String: String]) throws(TunnelError) -> ProxySettings? {
        let url = [environment["HTTPS_PROXY"], environment["https_proxy"]].compactMap { $0 }.first { !$0.isEmpty }
        guard let url else { return nil }
        let noProxy = environment["NO_PROXY"] ?? environment["no_proxy"] ?? ""
        return try ProxySettings(url: url, noProxy: noProxyList(noProxy))
    }

    /// Splits a comma-separated `NO_PROXY` value into entries.
    public static func noProxyList(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
    }

    /// True when connections to `target` go direct, because an entry of `noProxy` matches it.
    public func isBypassed(for target: String) -> Bool {
        let name = withoutBrackets(target.lowercased())
        for entry in noProxy {
            if entry == "*" { return true }
            var domain = Substring(entry)
            // An entry's port is ignored: the proxy choice is per host.
            if !domain.hasPrefix("["), let colon = domain.lastIndex(of: ":"), domain.filter({ $0 == ":" }).count == 1 {
                domain = domain[..<colon]
            }
            domain = domain.drop { $0 == "." || $0 == "*" }.drop { $0 == "." }
            let bare = withoutBrackets(domain)
            if name == bare || name.hasSuffix("." + bare) { return true }
        }
        return false
    }

    /// `host:port` of the proxy, never its credentials.
    public var description: String { "http proxy \(Self.authority(host: host, port: port))" }

    /// `host:port`, with brackets around IPv6 addresses.
    static func authority(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    private static func splitHostPort(_ text: Substring) throws(TunnelError) -> (String, Int) {
        var host = text
        var portText: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else {
                throw .invalidProxy("proxy address \"\(text)\" has an unclosed [")
            }
            let after = host[host.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() }
            host = host[host.index(after: host.startIndex)..<close]
        } else if let colon = host.lastIndex(of: ":") {
            portText = host[host.index(after: colon)...]
            host = host[..<colon]
        }
        guard !host.isEmpty else { throw .invalidProxy("proxy URL names no host") }
        guard let portText else { return (String(host), 1080) }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw .invalidProxy("proxy port \"\(portText)\" must be a number from 1 to 65535")
        }
        return (String(host), port)
    }
}

/// An IPv6 address without the brackets URLs put around it.
private func withoutBrackets(_ text: some StringProtocol) -> String {
    text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : String(text)
}

/// `%XX` escapes of a URL's user information decoded (as curl does); malformed escapes stay as they are.
private func percentDecoded(_ text: some StringProtocol) -> String {
    var bytes: [UInt8] = []
    var input = Array(text.utf8)[...]
    while let byte = input.popFirst() {
        if byte == UInt8(ascii: "%"), input.count >= 2,
            let value = UInt8(String(decoding: input.prefix(2), as: UTF8.self), radix: 16)
        {
            bytes.append(value)
            input = input.dropFirst(2)
        } else {
            bytes.append(byte)
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}
