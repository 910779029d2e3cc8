import AgentConfig
import Testing

@Suite("Shipped configuration files")
struct ExampleConfigTests {
    let example = repositoryRoot + "/config/gateway-agent.toml"

    @Test("the example configuration passes check-config as it is")
    func examplePasses() {
        let report = ConfigLoader.check(path: example, environment: [:])
        #expect(report.problems.map(\.description) == [])
        #expect(report.lines == [
            "config OK: \(example): module_id=line-3 transport=mqtt-tls endpoint=localhost:8883 credentials=none"
        ])
    }

    @Test("the example configuration documents every key with its default")
    func exampleDocumentsEveryKey() throws {
        let text = try String(decoding: readAll(example), as: UTF8.self)
        var section = ""
        var documented: Set<String> = []
        for rawLine in text.split(separator: "\n") {
            let line = rawLine.hasPrefix("# ") ? rawLine.dropFirst(2) : rawLine
            if line.hasPrefix("[") && line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast())
            } else if let equals = line.firstRange(of: " = ") {
                documented.insert("\(section).\(line[..<equals.lowerBound])")
            }
        }
        #expect(Set(ConfigLoader.keys).subtracting(documented) == [])
        #expect(text.contains("Default:"))
    }

    @Test("each broken example fails, naming the file and the key", arguments: [
        ("unknown-key", "broker.keep_alive"), ("wrong-type", "broker.port"), ("out-of-range", "identity.max_inflight"),
        ("contradiction", "broker.transport"), ("bad-duration", "broker.connect_timeout"),
        ("missing-required", "agent.module_id"), ("missing-secret", "broker.password_file"),
    ])
    func brokenExampleFails(name: String, key: String) {
        let path = repositoryRoot + "/config/examples/broken/\(name).toml"
        let report = ConfigLoader.check(path: path, environment: [:])
        #expect(!report.isValid)
        #expect(report.problems.map(\.description).allSatisfy { $0.hasPrefix("\(path):\(key): ") }, "\(report.text)")
        #expect(report.problems.count == 1, "\(report.text)")
    }

    @Test("the broken syntax example names its file, line and column")
    func syntaxExampleFails() {
        let path = repositoryRoot + "/config/examples/broken/syntax-error.toml"
        let report = ConfigLoader.check(path: path, environment: [:])
        #expect(report.problems.count == 1)
        #expect(report.problems.first?.description.hasPrefix("\(path):3:") == true, "\(report.text)")
    }

    @Test("every broken example is covered by a test")
    func everyBrokenExampleIsTested() throws {
        let names = try listDirectory(repositoryRoot + "/config/examples/broken")
        #expect(Set(names) == [
            "unknown-key.toml", "wrong-type.toml", "out-of-range.toml", "contradiction.toml", "bad-duration.toml",
            "missing-required.toml", "missing-secret.toml", "syntax-error.toml",
        ])
    }
}
