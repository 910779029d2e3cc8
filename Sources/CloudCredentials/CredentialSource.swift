/// Where the agent's AWS credentials come from: the organization endpoint, STS AssumeRole or fixed keys.
///
/// Every call fetches afresh (reading token and key files again); `CredentialRefresher` decides when to call.
public protocol CredentialSource: Sendable {
    /// Fetches a new session, or says why there is none and whether retrying can help.
    func fetch() async throws(CredentialError) -> CloudSession
}
