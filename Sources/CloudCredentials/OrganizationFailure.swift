import FoundationEssentials
import HTTPClient

/// A non-2xx answer of the organization endpoint, turned into one message that says what to do.
struct OrganizationFailure {
    let error: CredentialError

    init(what: String, response: HTTPResponse, source: OrganizationCredentialSource, secrets: [String], now: Date) {
        let status = response.status
        let said = ErrorBody.summary(response.body, contentType: response.header("Content-Type"), secrets: secrets)
        let why = "HTTP \(status)" + (said.map { "; server says: \($0)" } ?? "")
        let organization = ServerText.quoted(source.organizationID)
        let retryAfter = RetryAfter.parse(response.header("Retry-After"), now: now)
        switch status {
        case 401:
            error = CredentialError(
                .rejected,
                message: "\(what): token rejected (\(why)): replace the token in \(source.tokenFile) "
                    + "(it is read again before every attempt)", status: status)
        case 403:
            error = CredentialError(
                .rejected,
                message: "\(what): organization \(organization) not accessible with this token (\(why)): "
                    + "check organization_id / token permissions", status: status)
        case 422:
            error = CredentialError(
                .rejected,
                message: "\(what): the endpoint rejected the request (\(why)): "
                    + "check organization_id \(organization)", status: status)
        case 404:
            error = CredentialError(
                .rejected,
                message: "\(what): \(ServerText.withoutUserInfo(source.url)) not found (\(why)): "
                    + "check base_url and organization_id \(organization)", status: status)
        case 300..<400:
            let target = response.header("Location").map { " to \(ServerText.clean($0, secrets: secrets))" } ?? ""
            error = CredentialError(
                .invalidResponse,
                message: "\(what): redirected\(target) (\(why)): redirects are not followed; "
                    + "set base_url to the final address", status: status)
        case 408, 429, 500..<600:
            let wait = retryAfter.map { "; the server asks to wait \($0.briefText)" } ?? ""
            error = CredentialError(
                .unavailable, message: "\(what): temporarily unavailable (\(why))\(wait)", status: status,
                retryAfter: retryAfter)
        case 400..<500:
            error = CredentialError(
                .rejected,
                message: "\(what): request refused (\(why)): check base_url, organization_id "
                    + "\(organization) and the token in \(source.tokenFile)", status: status)
        default:
            error = CredentialError(
                .invalidResponse,
                message: "\(what): unexpected status (\(why)): check that base_url is the "
                    + "organization API", status: status)
        }
    }
}

extension Duration {
    /// "250 ms" below a second, else whole seconds rounded up ("31 s"), for messages.
    var briefText: String {
        let (seconds, attoseconds) = components
        if seconds == 0 { return "\(attoseconds / 1_000_000_000_000_000) ms" }
        return "\(seconds + (attoseconds > 0 ? 1 : 0)) s"
    }
}
