import Foundation
import Glibc
import TestSupport
import Testing

/// The real binary's commands that need no running agent, and the agent's own refusals.
@Suite("Command line", .serialized, .blockingWaits)
struct AgentCommandLineTests {
    static let repository: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }()

    func run(_ arguments: [String]) throws -> CLIResult {
        let binary = try builtExecutable(named: "gateway-agent")
        let child = try ChildProcess(executable: binary, arguments: arguments, stdout: .capture, stderr: .capture)
        let out = try child.readAllLines()
        var err: [String] = []
        while let line = try child.readErrorLine() { err.append(line) }
        guard case .exited(let code) = child.wait() else { throw ChildProcessError("gateway-agent was killed") }
        return CLIResult(status: code, stdout: out.joined(separator: "\n"), stderr: err.joined(separator: "\n"))
    }

    @Test("check-config accepts the example configuration with a one-line summary")
    func exampleConfig() throws {
        let result = try run(["check-config", "--config", "\(Self.repository)/config/gateway-agent.toml"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.hasPrefix("config OK:"))
        #expect(!result.stdout.contains("\n"))
    }

    @Test("check-config fails on each broken example, naming the file and the key")
    func brokenExamples() throws {
        let expectations = [
            "unknown-key.toml": "", "wrong-type.toml": "", "out-of-range.toml": "", "contradiction.toml": "",
            "bad-duration.toml": "", "missing-required.toml": "",
        ]
        for name in expectations.keys.sorted() {
            let path = "\(Self.repository)/config/examples/broken/\(name)"
            let result = try run(["check-config", "--config", path])
            #expect(result.status == 2, "\(name): \(result)")
            #expect(result.stdout.contains("\(path):"), "\(name) does not name its file: \(result.stdout)")
            let problem = result.stdout.split(separator: "\n").first { $0.hasPrefix("\(path):") } ?? ""
            #expect(problem.dropFirst(path.count + 1).contains(":"), "\(name) does not name a key: \(problem)")
        }
    }

    @Test("check-config --json and version --json print parseable JSON")
    func jsonOutputs() throws {
        let broken = "\(Self.repository)/config/examples/broken/wrong-type.toml"
        let result = try run(["check-config", "--config", broken, "--json"])
        #expect(result.status == 2)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(object?["valid"] as? Bool == false)
        let problems = object?["problems"] as? [[String: Any]] ?? []
        #expect(problems.first?["key"] as? String == "broker.port")
        let version = try JSONSerialization.jsonObject(with: Data(try run(["version", "--json"]).stdout.utf8)) as? [String: String]
        #expect(version?["version"]?.hasPrefix("0.") == true)
    }

    @Test("version prints the version")
    func version() throws {
        let result = try run(["version"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("gateway-agent 0."))
    }

    @Test("without a running agent the CLI says which socket it tried and exits 5")
    func agentNotRunning() throws {
        let directory = try TempDirectory()
        defer { directory.remove() }
        let socket = directory.path("nothing.sock")
        let result = try run(["status", "--socket", socket])
        #expect(result.status == 5)
        #expect(result.stderr.contains(socket))
        #expect(result.stderr.contains("not running") || result.stderr.contains("no agent listens"))
    }

    @Test("bad arguments are usage errors with exit 2 before anything is sent")
    func usage() throws {
        #expect(try run(["identity", "create", "--id", "nope", "--public-key", "-"]).status == 2)
        #expect(try run(["identity", "list", "--state", "sleeping"]).status == 2)
        #expect(try run(["identity", "create", "--id", "6f1c2d3e-0000-4000-8000-000000000001", "--public-key", "x", "--timeout", "soon", "--wait"]).status == 2)
    }
}
