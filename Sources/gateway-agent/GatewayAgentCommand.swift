import ArgumentParser
import GatewayCore

#if canImport(Glibc)
import Glibc
#endif

/// `gateway-agent`: the service and the operator's command line.
@main
struct GatewayAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway-agent",
        abstract: "Keeps the cloud's registry of the devices behind this gateway in step (Identity v2 over MQTT).",
        discussion: """
            Exit codes: 0 success; 1 other error; 2 invalid input, usage, or refused by the agent;
            3 rejected by the cloud (error ack or parent-failed); 4 no outcome (--timeout passed, or no ack
            after identity.max_attempts); 5 agent not reachable (not running, permission denied on the socket, or
            busy: too many requests of this user at once, retry shortly).

            Examples:
              gateway-agent check-config --config /etc/gateway-agent/gateway-agent.toml
              gateway-agent run
              gateway-agent identity create --id 6f1c… --public-key device.pem --wait
              gateway-agent status --json
            """,
        version: AgentVersion.current,
        subcommands: [RunCommand.self, CheckConfigCommand.self, CheckCommand.self, StatusCommand.self, IdentityCommand.self, VersionCommand.self]
    )

    /// Like argument-parser's own entry point, except that usage errors exit 2 (DESIGN.md §6), not 64.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                printError(fullMessage(for: error))
                Glibc.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// Options every command takes.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Main configuration file; drop-ins are read from gateway-agent.d/ beside it.", valueName: "path"))
    var config: String = "/etc/gateway-agent/gateway-agent.toml"
}

/// Options of commands that talk to the running agent.
struct ClientOptions: ParsableArguments {
    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: ArgumentHelp("Control socket (default: agent.control_socket from the configuration).", valueName: "path"))
    var socket: String?

    @Flag(name: .long, help: "Print JSON for scripts instead of a table.")
    var json = false
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version", abstract: "Print the agent's version.",
        discussion: "Examples:\n  gateway-agent version\n  gateway-agent version --json")

    @OptionGroup var common: CommonOptions

    @Flag(name: .long, help: "Print {\"version\": \"…\"}.")
    var json = false

    func run() {
        if json {
            printJSON(["version": AgentVersion.current])
        } else {
            print("gateway-agent \(AgentVersion.current)")
        }
    }
}
