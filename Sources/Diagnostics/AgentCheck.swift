import ControlProtocol

/// `agent`: the running agent, through its control socket: connected or not, and its last error.
enum AgentCheck {
    static func run(socketPath: String) -> ([CheckResult], CheckFacts.Agent) {
        var facts = CheckFacts.Agent()
        do {
            let client = try ControlClient(socketPath: socketPath)
            try client.send(ControlRequest(id: "check", verb: .status, args: ControlArguments()))
            let response = try client.receive()
            guard let status = response.result?.status else {
                facts.running = true
                let why = response.error.map { "\($0)" } ?? "no status in the answer"
                return ([CheckResult("agent", .warn, "the agent on \(socketPath) did not give its status: \(why)")], facts)
            }
            facts.running = true
            facts.connection = status.connection
            facts.endpoint = status.endpoint
            facts.lastError = status.lastError
            let text = "running (\(status.version), up \(Int(status.uptimeSeconds)) s): \(status.connection), endpoint "
                + status.endpoint
            if status.connection == "connected" {
                return ([CheckResult("agent", .ok, text)], facts)
            }
            let last = status.lastError.map { "; last error: \($0)" } ?? ""
            return ([CheckResult("agent", .warn, "\(text)\(last); see the broker lines above for the cause")], facts)
        } catch .notRunning {
            facts.running = false
            return (
                [CheckResult(
                    "agent", .warn,
                    "not running (nothing listens on \(socketPath)): start it with systemctl start gateway-agent")],
                facts
            )
        } catch {
            return ([CheckResult("agent", .warn, error.description)], facts)
        }
    }
}
