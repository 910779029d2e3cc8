import Agent
import AgentConfig
import ArgumentParser

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the agent (what the systemd service starts).",
        discussion: """
            Loads the configuration and the store, listens on the control socket, connects to the broker and
            sends every stored request until the cloud acknowledges it. SIGTERM/SIGINT stop it gracefully
            (exit 0); SIGHUP re-reads the log level and identities.d.
            Example:
              gateway-agent run --config /etc/gateway-agent/gateway-agent.toml
            """)

    @OptionGroup var common: CommonOptions

    func run() throws {
        let code = AgentService.run(configPath: common.config)
        if code != 0 { throw ExitCode(code) }
    }
}

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Check the configuration: print every problem, or a one-line summary.",
        discussion: """
            Reads the main file and its drop-ins (gateway-agent.d/*.toml beside it). Each problem is printed as
            file:key: message. Exits 0 when the configuration is valid, 2 otherwise.
            Example:
              gateway-agent check-config --config /etc/gateway-agent/gateway-agent.toml
            """)

    @OptionGroup var common: CommonOptions

    @Flag(name: .long, help: "Print JSON for scripts: {valid, files, problems: [{file, key, line, column, message}], summary}.")
    var json = false

    func run() throws {
        let report = ConfigLoader.check(path: common.config)
        if json {
            struct Problem: Encodable {
                var file: String
                var key: String
                var line: Int?
                var column: Int?
                var message: String
            }
            struct Output: Encodable {
                var valid: Bool
                var files: [String]
                var problems: [Problem]
                var summary: String?
            }
            printJSON(
                Output(
                    valid: report.isValid, files: [report.mainFile] + report.dropIns,
                    problems: report.problems.map {
                        Problem(file: $0.file, key: $0.key, line: $0.line, column: $0.column, message: $0.message)
                    },
                    summary: report.isValid ? report.text : nil))
        } else {
            print(report.text)
        }
        if !report.isValid { throw ExitCode(2) }
    }
}

/// Finds the control socket for the CLI without needing the agent's secrets.
enum ConfigLookup {
    static let defaultSocket = "/run/gateway-agent/control.sock"

    static func controlSocket(configPath: String) -> String {
        ConfigLoader.check(path: configPath).configuration?.agent.controlSocket ?? defaultSocket
    }
}
