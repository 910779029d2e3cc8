import TestSupport

extension AgentUnderTest {
    /// Writes `gateway-agent.d/<name>.toml` beside the configuration: its keys override the generated ones
    /// (`log_level`, the broker's backoff), which `agent:`/`extra:` can only add to.
    func dropIn(_ name: String, _ toml: String) throws {
        _ = try directory.directory("gateway-agent.d")
        _ = try directory.file("gateway-agent.d/\(name).toml", contents: toml)
    }
}
