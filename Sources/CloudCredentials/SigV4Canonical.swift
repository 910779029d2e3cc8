import CryptoSupport
import GatewayCore

/// The pieces of a SigV4 signature: canonical request, string to sign, signing key.
///
/// Follows "Create a signed AWS API request" (IAM user guide) for every service except S3, whose
/// single-encoded paths we never sign: each path segment is URI-encoded once, query names and values
/// are RFC 3986 encoded then sorted, header values are trimmed with inner runs of spaces collapsed.
struct SigV4Canonical {
    /// Headers left out of the signature because proxies and HTTP stacks may change them on the way
    /// (the same list AWS SDKs use).
    static let unsignedHeaders: Set<String> = ["expect", "transfer-encoding", "user-agent", "x-amzn-trace-id"]

    let method: String
    let path: String
    let query: [(String, String)]
    /// Name (lower case) and canonical value, sorted by name; duplicates already joined with commas.
    let headers: [(String, String)]
    let payloadHash: String

    init(method: String, path: String, query: [(String, String)], headers: [(String, String)], payloadHash: String) {
        self.method = method.uppercased()
        self.path = path
        self.query = query
        self.headers = Self.canonicalHeaders(headers)
        self.payloadHash = payloadHash
    }

    /// `host;x-amz-date`-style list of the signed header names.
    var signedHeaders: String {
        headers.map(\.0).joined(separator: ";")
    }

    var canonicalURI: String {
        guard !path.isEmpty else { return "/" }
        return path.split(separator: "/", omittingEmptySubsequences: false)
            .map { PercentEncoding.encode(String($0)) }
            .joined(separator: "/")
    }

    var canonicalQuery: String {
        Self.canonicalQuery(query)
    }

    var text: String {
        let headerLines = headers.map { "\($0.0):\($0.1)\n" }.joined()
        return [method, canonicalURI, canonicalQuery, headerLines, signedHeaders, payloadHash]
            .joined(separator: "\n")
    }

    /// `name=value` pairs, each RFC 3986 encoded, sorted by name then value, joined with `&`.
    static func canonicalQuery(_ query: [(String, String)]) -> String {
        query.map { (PercentEncoding.encode($0.0), PercentEncoding.encode($0.1)) }
            .sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    static func canonicalHeaders(_ headers: [(String, String)]) -> [(String, String)] {
        var order: [String] = []
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            let key = name.lowercased()
            guard !unsignedHeaders.contains(key) else { continue }
            if values[key] == nil { order.append(key) }
            values[key, default: []].append(canonicalValue(value))
        }
        return order.sorted().map { ($0, values[$0, default: []].joined(separator: ",")) }
    }

    /// Trimmed, with every run of spaces or tabs inside reduced to one space.
    static func canonicalValue(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    /// `yyyymmdd/region/service/aws4_request`.
    static func scope(day: String, region: String, service: String) -> String {
        "\(day)/\(region)/\(service)/aws4_request"
    }

    static func stringToSign(canonicalRequest: String, timestamp: SigV4Timestamp, scope: String) -> String {
        [SigV4.algorithm, timestamp.dateTime, scope, Hex.encode(SHA256.hash(canonicalRequest))]
            .joined(separator: "\n")
    }

    /// The hex HMAC of `stringToSign` under the key derived from the secret, day, region and service.
    static func signature(
        secretAccessKey: String, day: String, region: String, service: String, stringToSign: String
    ) -> String {
        var key = HMACSHA256.authenticate(key: Array("AWS4\(secretAccessKey)".utf8), message: day)
        for part in [region, service, "aws4_request"] {
            key = HMACSHA256.authenticate(key: key, message: part)
        }
        return Hex.encode(HMACSHA256.authenticate(key: key, message: stringToSign))
    }
}
