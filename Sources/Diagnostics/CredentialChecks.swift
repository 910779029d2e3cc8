import Agent
import AgentConfig
import CloudCredentials
import FoundationEssentials
import GatewayCore

/// `organization` (reachable, token accepted), `clock.organization` and `credentials` (remaining lifetime).
enum CredentialChecks {
    struct Outcome: Sendable {
        var results: [CheckResult] = []
        var session: CloudSession?
        var credentials = CheckFacts.Credentials()
        var skew: ClockSkew?
    }

    /// Fetches once, giving up after `limit` (what is left of `timeout`, the run's limit named in messages).
    static func run(_ configuration: AgentConfiguration, limit: Duration, timeout: Duration) async -> Outcome {
        var outcome = Outcome()
        outcome.credentials.source = configuration.credentials.source.rawValue
        guard let source = CloudCredentialsSetup.source(for: configuration) else { return outcome }
        let timedOut = "timed out: no answer within --timeout \(DurationText.format(timeout))"
        if let organization = source as? OrganizationCredentialSource {
            let name = "organization endpoint \(hostOf(organization.url))"
            guard let exchange = await BoundedWork.run(limit: limit, { await organization.exchange() }) else {
                outcome.results = [
                    CheckResult(
                        "organization", .fail,
                        "\(name): \(timedOut): the endpoint or the network path hangs; check base_url, the network "
                            + "and the proxy"),
                    ClockCheck.notMeasured("clock.organization", server: "organization", why: "no answer"),
                    CheckResult("credentials", .fail, "not obtained: the organization endpoint did not answer"),
                ]
                return outcome
            }
            outcome.skew = exchange.skew
            let clock =
                exchange.skew.map { ClockCheck.result("clock.organization", server: "the organization endpoint", skew: $0) }
                ?? ClockCheck.notMeasured(
                    "clock.organization", server: "organization",
                    why: exchange.status == nil ? "no answer" : "the answer has no Date header")
            switch exchange.session {
            case .success(let session):
                outcome.session = session
                outcome.results = [
                    CheckResult(
                        "organization", .ok,
                        "\(name) answered \(exchange.status ?? 200): token accepted, region \(session.region), "
                            + "iotEndpoint \(session.iotEndpoint ?? "(none)")"),
                    clock,
                ]
            case .failure(let error):
                outcome.results = [CheckResult("organization", .fail, error.description), clock]
                outcome.results.append(CheckResult("credentials", .fail, "not obtained: see the organization line"))
                return outcome
            }
        } else {
            let fetched = await BoundedWork.run(limit: limit) { () async -> Result<CloudSession, CredentialError> in
                do throws(CredentialError) { return .success(try await source.fetch()) } catch { return .failure(error) }
            }
            switch fetched {
            case nil:
                outcome.results = [CheckResult("credentials", .fail, "not obtained: \(timedOut); check the STS endpoint and the network")]
                return outcome
            case .failure(let error)?:
                outcome.results = [CheckResult("credentials", .fail, error.description)]
                return outcome
            case .success(let session)?:
                outcome.session = session
            }
        }
        if let session = outcome.session {
            outcome.results.append(lifetime(session, configuration: configuration, facts: &outcome.credentials))
        }
        return outcome
    }

    static func lifetime(
        _ session: CloudSession, configuration: AgentConfiguration, facts: inout CheckFacts.Credentials
    ) -> CheckResult {
        guard let expiration = session.expiration else {
            return CheckResult("credentials", .ok, "long-term keys: they do not expire")
        }
        let remaining = expiration.timeIntervalSince(Date())
        facts.expiresAt = isoTimestamp(expiration)
        facts.remainingSeconds = remaining.rounded()
        let refreshBefore = CloudCredentialsSetup.timing(for: configuration).refreshBefore
        let text = "expire at \(isoTimestamp(expiration))"
        if remaining <= 0 {
            return CheckResult(
                "credentials", .fail,
                "\(text), \(ClockSkew.size(-remaining)) ago: the source hands out expired credentials, or this "
                    + "gateway's clock is wrong (see the clock lines)")
        }
        let left = "\(text) (in \(ClockSkew.size(remaining)))"
        if Duration.seconds(remaining) < refreshBefore {
            return CheckResult(
                "credentials", .warn,
                "\(left), sooner than refresh_before (\(DurationText.format(refreshBefore))): the agent refreshes "
                    + "at once and often; ask for longer-lived credentials or lower refresh_before")
        }
        return CheckResult("credentials", .ok, left)
    }

    /// `host:port` of `url` (or just the host, without brackets): what the proxy decision looks at.
    static func hostOf(_ url: String, withPort: Bool = true) -> String {
        var rest = Substring(url)
        if let scheme = rest.firstRange(of: "://") { rest = rest[scheme.upperBound...] }
        var authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        guard !withPort else { return String(authority) }
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<close])
        }
        return String(authority.prefix { $0 != ":" })
    }
}
