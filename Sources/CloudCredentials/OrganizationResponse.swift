import FoundationEssentials

/// The organization endpoint's success body:
/// `{"data": {"awsRegion", "iotEndpoint", "credentials": {"accessKeyId", "secretAccessKey", "sessionToken",
/// "expiration"}}}`, checked field by field.
enum OrganizationResponse {
    /// Why a 2xx body is unusable; never quotes a key, secret or token.
    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    static let todo = "the response is not what the organization API documents; check that base_url is that API"

    static func session(from body: [UInt8], now: Date) throws(Problem) -> CloudSession {
        guard let json = JSONValue.parse(body) else {
            throw Problem(description: "the response body (\(body.count) bytes) is not valid JSON; \(todo)")
        }
        guard case .object = json else {
            throw Problem(description: "the response body is \(json.kindName), not a JSON object; \(todo)")
        }
        do throws(FieldProblem) {
            let data = try JSONFields(value: json, path: "").object("data")
            let region = try data.string("awsRegion")
            let endpoint = try data.string("iotEndpoint")
            let credentials = try data.object("credentials")
            let accessKeyID = try secret(credentials, "accessKeyId")
            let secretAccessKey = try secret(credentials, "secretAccessKey")
            let sessionToken = try secret(credentials, "sessionToken")
            let expirationText = try credentials.string("expiration")
            guard isRegion(region) else {
                throw FieldProblem(
                    field: data.name("awsRegion"),
                    problem: "\(ServerText.quoted(region)) is not an AWS region name such as eu-west-1")
            }
            guard isEndpoint(endpoint) else {
                throw FieldProblem(
                    field: data.name("iotEndpoint"),
                    problem: "\(ServerText.quoted(endpoint)) is not a host name (or host:port)")
            }
            let expiration = try Self.expiration(expirationText, field: credentials.name("expiration"), now: now)
            return CloudSession(
                credentials: AWSCredentials(
                    accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, sessionToken: sessionToken,
                    expiration: expiration),
                region: region, iotEndpoint: endpoint)
        } catch {
            let advice = error.saysWhatToDo ? "" : "; \(todo)"
            throw Problem(description: "response field \(error.field) \(error.problem)\(advice)")
        }
    }

    /// A credential string: present, non-empty, one word of visible ASCII. Its value is never quoted.
    static func secret(_ fields: JSONFields, _ key: String) throws(FieldProblem) -> String {
        let value = try fields.string(key)
        guard value.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw FieldProblem(field: fields.name(key), problem: "contains spaces, control or non-ASCII characters")
        }
        return value
    }

    /// A time that parses and lies in the future (by this host's clock).
    static func expiration(_ text: String, field: String, now: Date) throws(FieldProblem) -> Date {
        guard let date = Timestamps.iso8601(text) else {
            throw FieldProblem(
                field: field, problem: "\(ServerText.quoted(text)) is not an ISO-8601 time such as 2024-01-01T00:00:00Z"
            )
        }
        guard date > now else {
            throw FieldProblem(
                field: field,
                problem: "\(ServerText.quoted(text)) is already past (this host's clock says \(isoText(now))): "
                    + "the endpoint handed out expired credentials, or this gateway's clock is wrong",
                saysWhatToDo: true)
        }
        return date
    }

    static func isRegion(_ text: String) -> Bool {
        text.utf8.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }

    static func isEndpoint(_ text: String) -> Bool {
        text.utf8.allSatisfy {
            isLowerAlphanumeric($0) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || $0 == UInt8(ascii: "-")
                || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: ":")
        } && !text.hasPrefix(".") && !text.hasPrefix(":")
    }

    static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

/// ISO-8601 UTC without fractional seconds, for messages.
func isoText(_ date: Date) -> String {
    date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt))
}
