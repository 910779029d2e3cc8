import GatewayCore

extension ConfigBuilder {
    /// `[agent]`: identity of the gateway, local paths, groups, logging and control-socket limits.
    mutating func readAgentSection() {
        var agent = AgentSection()
        let moduleExpected = "a module id: 1 to 64 characters of A-Z a-z 0-9 . _ -"
        if let setting = reader.string("agent.module_id", expected: moduleExpected, required: true) {
            do {
                agent.moduleID = try ModuleID(setting.value)
            } catch {
                reader.report(setting.key, file: setting.file, "\(error.rule); expected \(moduleExpected)")
            }
        }
        agent.stateDir = path("agent.state_dir", default: agent.stateDir)
        // sun_path holds 108 bytes including the terminating NUL.
        agent.controlSocket = path("agent.control_socket", default: agent.controlSocket, maximumBytes: 107)
        let groupExpected = "a group name or number (A-Z a-z 0-9 . _ -, at most 32 characters), or \"\" for the default"
        agent.controlGroup = text("agent.control_group", expected: groupExpected, problem: groupNameProblem)
        agent.readersGroup = text("agent.readers_group", expected: groupExpected, problem: groupNameProblem)
        agent.identitiesDir = path("agent.identities_dir", default: agent.identitiesDir)
        agent.pruneIdentities = reader.boolean("agent.prune_identities")?.value ?? agent.pruneIdentities
        agent.logLevel = choice("agent.log_level", default: agent.logLevel)
        agent.logFormat = choice("agent.log_format", default: agent.logFormat)
        agent.logRepeatInterval = duration(
            "agent.log_repeat_interval", default: agent.logRepeatInterval, minimum: .seconds(1), maximum: .seconds(86400))
        agent.controlMaxRequestsPerClient = integer(
            "agent.control_max_requests_per_client", default: agent.controlMaxRequestsPerClient, within: 1...128)
        configuration.agent = agent
    }
}

/// Group names as `getgrnam` takes them; a leading `-` would read as an option in tools.
private func groupNameProblem(_ name: String) -> String? {
    let allowed = name.unicodeScalars.allSatisfy {
        ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
            || $0 == "." || $0 == "_" || $0 == "-"
    }
    if !allowed || name.hasPrefix("-") || name.utf8.count > 32 { return "got \(quoted(name))" }
    return nil
}
