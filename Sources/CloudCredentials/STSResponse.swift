import FoundationEssentials
import HTTPClient

/// STS query-API responses: `AssumeRoleResponse/AssumeRoleResult/Credentials` and `ErrorResponse/Error`.
enum STSResponse {
    /// Why a 200 body is unusable; never quotes a key, secret or token.
    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    static func credentials(_ body: [UInt8], now: Date) throws(Problem) -> AWSCredentials {
        guard let text = String(validating: body, as: UTF8.self) else {
            throw Problem(description: "the response is not UTF-8 text")
        }
        guard let credentials = XMLElements(text).element("AssumeRoleResult")?.element("Credentials") else {
            throw Problem(description: "the response has no AssumeRoleResult/Credentials element")
        }
        var values: [String] = []
        for name in ["AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"] {
            guard let value = credentials.text(name), !value.isEmpty else {
                throw Problem(description: "the response's Credentials/\(name) is missing, empty or not plain text")
            }
            if name != "Expiration", !value.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) {
                throw Problem(description: "the response's Credentials/\(name) holds spaces or control characters")
            }
            values.append(value)
        }
        let expiration: Date
        do {
            expiration = try OrganizationResponse.expiration(values[3], field: "Credentials/Expiration", now: now)
        } catch {
            throw Problem(description: "the response's \(error.field) \(error.problem)")
        }
        return AWSCredentials(
            accessKeyID: values[0], secretAccessKey: values[1], sessionToken: values[2], expiration: expiration)
    }

    /// The error STS answered with, with what to do about it.
    static func error(
        _ response: HTTPResponse, what: String, region: String, secrets: [String], now: Date
    ) -> CredentialError {
        let status = response.status
        let retryAfter = RetryAfter.parse(response.header("Retry-After"), now: now)
        let xml = String(validating: response.body, as: UTF8.self).map(XMLElements.init)
        let error = xml?.element("Error")
        let code = error?.text("Code").map { ServerText.clean($0, secrets: secrets) }
        let said =
            error == nil
            ? ErrorBody.summary(response.body, contentType: response.header("Content-Type"), secrets: secrets)
            : error?.text("Message").map { ServerText.clean($0, secrets: secrets) }
        let why =
            "HTTP \(status)"
            + ([code, said].compactMap { $0 }.joined(separator: ": ").nonEmpty
                .map { "; STS says: \($0)" } ?? "")

        func permanent(_ todo: String) -> CredentialError {
            CredentialError(.rejected, message: "\(what): refused (\(why)): \(todo)", status: status)
        }
        func transient() -> CredentialError {
            let wait = retryAfter.map { "; the server asks to wait \($0.briefText)" } ?? ""
            return CredentialError(
                .unavailable, message: "\(what): temporarily unavailable (\(why))\(wait)", status: status,
                retryAfter: retryAfter)
        }
        switch code {
        case "AccessDenied", "AccessDeniedException":
            return permanent(
                "check role_arn and external_id, that the role's trust policy allows the source credentials' "
                    + "user with that external ID, and that the user may call sts:AssumeRole")
        case "InvalidClientTokenId", "UnrecognizedClientException", "InvalidAccessKeyId":
            return permanent(
                "the source access key is unknown to AWS: check credentials.assume_role.access_key_id_file "
                    + "(and session_token_file)")
        case "SignatureDoesNotMatch":
            return permanent(
                "check credentials.assume_role.secret_access_key_file, and that this gateway's clock is right")
        case "ExpiredToken", "ExpiredTokenException":
            return permanent(
                "the source session token has expired: replace credentials.assume_role.session_token_file, "
                    + "or use long-term keys without one")
        case "RegionDisabledException":
            return permanent("activate STS in region \(region) for the account, or set another region")
        case "Throttling", "ThrottlingException", "RequestLimitExceeded", "ServiceUnavailable", "InternalFailure",
            "IDPCommunicationError":
            return transient()
        default:
            if status == 408 || status == 429 || status >= 500 { return transient() }
            return permanent("check role_arn, external_id, session_name, duration and the source credentials")
        }
    }
}

extension String {
    /// Nil for the empty string.
    fileprivate var nonEmpty: String? { isEmpty ? nil : self }
}
