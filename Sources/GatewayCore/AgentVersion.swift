/// The agent's release version, shown by `gateway-agent version` and in the first log line.
///
/// The file `VERSION` at the top of the repository is the source of truth for packaging; `scripts/test-packaging`
/// fails when this constant says something else.
public enum AgentVersion {
    /// The version, e.g. `0.1.0`.
    public static let current = "0.1.0"
}
