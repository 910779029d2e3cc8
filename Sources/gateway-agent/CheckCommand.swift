import ArgumentParser
import Diagnostics
import GatewayCore

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Diagnose this gateway: one ok/warn/fail line per check, with what to do.",
        discussion: """
            Checks the configuration (as check-config), the secret files, the clock against the organization
            endpoint's and the broker's Date header, the organization endpoint and token, the credentials'
            lifetime, the broker (DNS, TCP, TLS with the configured CA, certificate expiry), the proxy, the store
            (read-only, safe while the agent runs) and the running agent. Finishes within --timeout even when an
            endpoint hangs. Never prints a secret.
            Exit codes: 0 no fail (warnings allowed); 1 at least one fail; 2 invalid configuration or usage.
            Examples:
              gateway-agent check
              gateway-agent check --json --timeout 10s
            """)

    @OptionGroup var common: CommonOptions

    @Flag(name: .long, help: "Print JSON for fleet tooling: {status, exitCode, checks: [{check, status, message}], facts, summary}.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Longest the whole check may take.", valueName: "duration"))
    var timeout: String = "20s"

    func validate() throws {
        guard let duration = DurationText.parse(timeout), duration > .zero else {
            throw ValidationError("--timeout: '\(timeout)' is not \(DurationText.expected)")
        }
    }

    func run() async throws {
        let report = await GatewayCheck.run(configPath: common.config, timeout: DurationText.parse(timeout) ?? .seconds(20))
        if json {
            printJSON(report)
        } else {
            print(report.text)
        }
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}
