import CryptoSupport
import FoundationEssentials
import GatewayCore

/// AWS Signature Version 4: presigned WebSocket URLs for AWS IoT Core and signed headers for API calls.
public enum SigV4 {
    /// The only algorithm SigV4 defines.
    public static let algorithm = "AWS4-HMAC-SHA256"
    /// The signing name of AWS IoT Core's MQTT-over-WebSocket endpoint.
    public static let iotService = "iotdevicegateway"
    /// Hex SHA-256 of an empty body.
    public static let emptyPayloadHash = Hex.encode(SHA256.hash([UInt8]()))

    /// The `wss://` URL that opens an MQTT-over-WebSocket connection to AWS IoT Core.
    ///
    /// The query carries the SigV4 parameters signed over `GET /mqtt` with only `host` as signed header.
    /// `X-Amz-Security-Token` is appended after signing, outside the canonical query, because that is
    /// how AWS IoT verifies it. `port` appears in the URL and in the signed `host` only when it is not 443.
    public static func presignedWebSocketURL(
        host: String, port: Int = 443, region: String, credentials: AWSCredentials, date: Date,
        service: String = iotService
    ) -> String {
        let authority = port == 443 ? host : "\(host):\(port)"
        var query = presignedQuery(
            method: "GET", host: authority, path: "/mqtt", query: [], region: region, service: service,
            credentials: credentials, date: date, expires: nil, payloadHash: emptyPayloadHash)
        if let token = credentials.sessionToken {
            query += "&X-Amz-Security-Token=" + PercentEncoding.encode(token)
        }
        return "wss://\(authority)/mqtt?\(query)"
    }

    /// The headers that authenticate one HTTPS request: `X-Amz-Date`, `X-Amz-Security-Token` (temporary
    /// credentials only, and signed) and `Authorization`, in that order.
    ///
    /// - Parameters:
    ///   - host: the `Host` header the request will carry: the host name, plus `:port` when not 443.
    ///   - path: the path as sent, not yet percent-encoded (`/` for STS); each segment is encoded once.
    ///   - query: query parameters, not yet percent-encoded; the URL must encode them the same way
    ///     (RFC 3986, as `PercentEncoding.encode`).
    ///   - headers: further headers to sign, e.g. `Content-Type`; leave out `Host`, `X-Amz-Date` and `Authorization`.
    public static func sign(
        method: String, host: String, path: String, query: [(String, String)] = [], headers: [(String, String)] = [],
        body: [UInt8] = [], region: String, service: String, credentials: AWSCredentials, date: Date
    ) -> [(String, String)] {
        let timestamp = SigV4Timestamp(date)
        var added = [("X-Amz-Date", timestamp.dateTime)]
        if let token = credentials.sessionToken {
            added.append(("X-Amz-Security-Token", token))
        }
        let reserved: Set<String> = ["host", "x-amz-date", "x-amz-security-token", "authorization"]
        let signed = headers.filter { !reserved.contains($0.0.lowercased()) } + [("Host", host)] + added
        let canonical = SigV4Canonical(
            method: method, path: path, query: query, headers: signed, payloadHash: Hex.encode(SHA256.hash(body)))
        let scope = SigV4Canonical.scope(day: timestamp.day, region: region, service: service)
        let stringToSign = SigV4Canonical.stringToSign(
            canonicalRequest: canonical.text, timestamp: timestamp, scope: scope)
        let signature = SigV4Canonical.signature(
            secretAccessKey: credentials.secretAccessKey, day: timestamp.day, region: region, service: service,
            stringToSign: stringToSign)
        let authorization =
            "\(algorithm) Credential=\(credentials.accessKeyID)/\(scope), "
            + "SignedHeaders=\(canonical.signedHeaders), Signature=\(signature)"
        return added + [("Authorization", authorization)]
    }

    /// The query string of a presigned request: `query` and the `X-Amz-*` parameters in canonical order,
    /// then `X-Amz-Signature`. The session token is not included (callers add it where their service wants it).
    static func presignedQuery(
        method: String, host: String, path: String, query: [(String, String)], region: String, service: String,
        credentials: AWSCredentials, date: Date, expires: Int?, payloadHash: String
    ) -> String {
        let timestamp = SigV4Timestamp(date)
        let scope = SigV4Canonical.scope(day: timestamp.day, region: region, service: service)
        var parameters =
            query + [
                ("X-Amz-Algorithm", algorithm),
                ("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope)"),
                ("X-Amz-Date", timestamp.dateTime),
                ("X-Amz-SignedHeaders", "host"),
            ]
        if let expires {
            parameters.append(("X-Amz-Expires", String(expires)))
        }
        let canonical = SigV4Canonical(
            method: method, path: path, query: parameters, headers: [("host", host)], payloadHash: payloadHash)
        let stringToSign = SigV4Canonical.stringToSign(
            canonicalRequest: canonical.text, timestamp: timestamp, scope: scope)
        let signature = SigV4Canonical.signature(
            secretAccessKey: credentials.secretAccessKey, day: timestamp.day, region: region, service: service,
            stringToSign: stringToSign)
        return canonical.canonicalQuery + "&X-Amz-Signature=" + signature
    }
}
