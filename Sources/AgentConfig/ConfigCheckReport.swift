import GatewayCore

/// The outcome of `gateway-agent check-config`: every problem, or a one-line summary of a valid configuration.
public struct ConfigCheckReport: Sendable {
    /// The main file, as an absolute path.
    public let mainFile: String
    /// Drop-ins found beside it, in the order they were merged.
    public let dropIns: [String]
    /// Every problem found; empty when the configuration is valid.
    public let problems: [ConfigProblem]
    /// The loaded configuration when there is no problem.
    public let configuration: AgentConfiguration?

    /// Whether the configuration can be used.
    public var isValid: Bool { problems.isEmpty && configuration != nil }

    /// What to print: the summary line, or one line per problem and a count.
    public var lines: [String] {
        if let configuration, problems.isEmpty {
            return ["config OK: \(mainFile)\(dropInCount): \(configuration.summary)"]
        }
        let count = problems.count == 1 ? "1 problem" : "\(problems.count) problems"
        return problems.map(\.description) + ["config invalid: \(count) in \(mainFile)\(dropInCount)"]
    }

    /// `lines` joined by newlines.
    public var text: String { lines.joined(separator: "\n") }

    private var dropInCount: String {
        switch dropIns.count {
        case 0: return ""
        case 1: return " (+1 drop-in)"
        default: return " (+\(dropIns.count) drop-ins)"
        }
    }
}

extension AgentConfiguration {
    /// `module_id=… transport=… endpoint=… credentials=…`: what an operator checks first. Holds no secret.
    public var summary: String {
        let module = agent.moduleID?.rawValue ?? "(unset)"
        let endpoint = broker.endpoint.isEmpty ? "(from organization endpoint)" : broker.endpoint
        return "module_id=\(module) transport=\(broker.transport.rawValue) endpoint=\(endpoint) "
            + "credentials=\(credentials.source.rawValue)"
    }
}

extension BrokerSection {
    /// `host:port` (IPv6 in brackets), or "" when the host comes from the organization endpoint.
    public var endpoint: String {
        host.isEmpty ? "" : HostPort.format(host: host, port: port)
    }
}
