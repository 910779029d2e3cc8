/// One HTTPS request: always sent over verified TLS, never followed through redirects.
public struct HTTPRequest: Sendable {
    /// `GET`, `POST`, `PUT`, `DELETE`, `HEAD`, … (upper-case token).
    public var method: String
    /// An `https://` URL; every other scheme is refused.
    public var url: String
    /// Header fields in the order sent; values may be secrets (`Authorization`) and are never printed.
    public var headers: [(String, String)]
    /// The request body, or nil for none.
    public var body: [UInt8]?

    public init(method: String = "GET", url: String, headers: [(String, String)] = [], body: [UInt8]? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    /// The `host[:port]` of `url`, without any user information, for messages.
    public var host: String {
        var rest = Substring(url)
        if let scheme = rest.firstRange(of: "://") { rest = rest[scheme.upperBound...] }
        let authority = rest.prefix(while: { $0 != "/" && $0 != "?" && $0 != "#" })
        if let at = authority.lastIndex(of: "@") { return String(authority[authority.index(after: at)...]) }
        return String(authority)
    }
}

extension HTTPRequest: CustomStringConvertible {
    /// Method, host and header names; header values, the body and the query stay out of logs.
    public var description: String {
        let names = headers.map(\.0).joined(separator: ", ")
        return "HTTPRequest(\(method) https://\(host)/…, headers: [\(names)], body: \(body?.count ?? 0) bytes)"
    }
}

/// A complete HTTP response (any status; a 4xx or 5xx is a response, not an `HTTPError`).
public struct HTTPResponse: Sendable {
    /// The status code of the final response, e.g. 200.
    public var status: Int
    /// Header fields in the order received, names lower-cased.
    public var headers: [(String, String)]
    /// The body, at most `HTTPClientOptions.maxResponseBytes` long.
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of header `name` (any case), or nil.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.0 == wanted }?.1
    }
}
