import AgentConfig
import TestSupport
import Testing

@Suite("Error reporting")
struct ErrorReportingTests {
    @Test("an unknown key names the file and key, suggests the right one and lists the expected keys")
    func unknownKey() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(adding: "keep_alive = \"60s\"\n"))
        let problems = fixture.problems()
        #expect(problems.count == 1)
        let line = try #require(problems.first)
        #expect(line.hasPrefix("\(fixture.mainPath):broker.keep_alive: unknown key (did you mean broker.keepalive?)"))
        #expect(line.contains("expected one of the keys in [broker]: transport, endpoint, port,"))
    }

    @Test("an unknown section is reported once, not key by key")
    func unknownSection() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(adding: "[brokr]\nport = 1\nkeepalive = \"60s\"\n"))
        #expect(fixture.problems() == [
            "\(fixture.mainPath):brokr: unknown section [brokr] (did you mean [broker]?); "
                + "expected one of the sections: agent, credentials, broker, identity, proxy, metrics"
        ])
    }

    @Test("a key written outside its section is pointed to the section it belongs in")
    func keyInWrongSection() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main("log_level = \"debug\"\n" + minimalConfig)
        let line = try #require(fixture.problems().first)
        #expect(line.hasPrefix("\(fixture.mainPath):log_level: unknown key (did you mean agent.log_level?)"))
    }

    @Test("a wrong type is told apart from a missing key")
    func wrongTypeIsNotMissing() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimalConfig.replacingOccurrences("module_id = \"line-3\"", "module_id = 3"))
        let wrongType = fixture.problems()
        #expect(wrongType.count == 1)
        #expect(wrongType.first?.hasPrefix("\(fixture.mainPath):agent.module_id: wrong type: expected a module id") == true)
        #expect(wrongType.first?.hasSuffix("got an integer (3)") == true)

        try fixture.main(minimalConfig.replacingOccurrences("module_id = \"line-3\"", ""))
        let missing = fixture.problems()
        #expect(missing.count == 1)
        #expect(missing.first?.hasPrefix("\(fixture.mainPath):agent.module_id: required key is missing; expected") == true)
    }

    @Test("a section given as a value is a wrong type naming the section")
    func sectionOfWrongType() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main("identity = 5\n" + minimalConfig)
        #expect(fixture.problems() == [
            "\(fixture.mainPath):identity: wrong type: expected a table ([identity]), got an integer (5)"
        ])
    }

    @Test("out-of-range values name the range", arguments: [
        ("[identity]\nmax_inflight = 101\n", "identity.max_inflight: expected an integer from 1 to 100, got 101"),
        ("[identity]\nmax_inflight = 0\n", "identity.max_inflight: expected an integer from 1 to 100, got 0"),
        ("[identity]\nmax_attempts = 0\n", "identity.max_attempts: expected an integer from 1 to 100, got 0"),
        ("[identity]\nmax_publish_rate = -1\n", "identity.max_publish_rate: expected a number of publishes per second, 0 or more (0 = unlimited), got -1.0"),
        ("[identity]\nmax_publish_rate = inf\n", "identity.max_publish_rate: expected a number of publishes per second, 0 or more (0 = unlimited), got inf"),
        ("port = 70000\n", "broker.port: expected an integer from 1 to 65535, got 70000"),
    ])
    func outOfRange(extra: String, expected: String) throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(adding: extra))
        #expect(fixture.problems() == ["\(fixture.mainPath):\(expected)"])
    }

    @Test("bad values name the key and what was expected", arguments: [
        ("[agent]", "module_id = \"line 3\"", "agent.module_id"),
        ("[agent]", "log_level = \"verbose\"", "agent.log_level"),
        ("[agent]", "log_format = \"xml\"", "agent.log_format"),
        ("[agent]", "control_group = \"wheel users\"", "agent.control_group"),
        ("[agent]", "control_socket = \"/run/\(String(repeating: "x", count: 120))/control.sock\"", "agent.control_socket"),
        ("[agent]", "state_dir = \"\"", "agent.state_dir"),
        ("[agent]", "identities_dir = \"~/identities\"", "agent.identities_dir"),
        ("[agent]", "log_repeat_interval = \"500ms\"", "agent.log_repeat_interval"),
        ("[agent]", "log_repeat_interval = \"2d\"", "agent.log_repeat_interval"),
        ("[agent]", "control_max_requests_per_client = 0", "agent.control_max_requests_per_client"),
        ("[agent]", "control_max_requests_per_client = 129", "agent.control_max_requests_per_client"),
        ("[credentials]", "source = \"aws\"", "credentials.source"),
        ("[credentials.organization]", "base_url = \"http://api.example.com\"", "credentials.organization.base_url"),
        ("[credentials.assume_role]", "role_arn = \"my-role\"", "credentials.assume_role.role_arn"),
        ("[credentials.assume_role]", "session_name = \"a b\"", "credentials.assume_role.session_name"),
        ("[credentials.static]", "region = \"Europe\"", "credentials.static.region"),
        ("[broker]", "endpoint = \"mqtts://broker.example\"", "broker.endpoint"),
        ("[broker]", "endpoint = \"broker.example:0\"", "broker.endpoint"),
        ("[broker]", "client_id = \"\(String(repeating: "c", count: 129))\"", "broker.client_id"),
        ("[broker]", "protocol = \"mqtt3\"", "broker.protocol"),
        ("[identity]", "default_ack = \"some\"", "identity.default_ack"),
        ("[proxy]", "url = \"socks5://proxy:1080\"", "proxy.url"),
    ])
    func badValues(section: String, line: String, key: String) throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(setting: line, in: section))
        let problems = fixture.problems()
        #expect(problems.count == 1, "\(problems)")
        #expect(problems.first?.hasPrefix("\(fixture.mainPath):\(key): ") == true, "\(problems)")
        #expect(problems.first?.contains("expected") == true, "\(problems)")
    }

    @Test("a URL with a password is refused without echoing it")
    func urlWithPasswordNotEchoed() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(adding: "[proxy]\nurl = \"http://user:hunter2@proxy.example:3128\"\n"))
        let problems = fixture.problems()
        #expect(problems.count == 1)
        #expect(problems.first?.contains("proxy.url: the URL must not hold a user name or password; put them in proxy.credentials_file") == true)
        #expect(problems.first?.contains("hunter2") == false)
    }

    @Test("every problem is reported at once, in file order")
    func allProblemsAtOnce() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main("""
            [agent]
            module_id = "line 3"
            log_level = 4
            colour = "blue"

            [credentials]
            source = "none"

            [broker]
            transport = "aws-websocket"
            endpoint = "localhost"
            keepalive = "10s"
            reconnect_min = "5m"
            reconnect_max = "1m"

            [identity]
            max_inflight = 1000
            """)
        let dropIn = try fixture.dropIn("50-site.toml", "[proxy]\nurl = \"ftp://proxy\"\n")
        let report = fixture.check()
        #expect(!report.isValid)
        #expect(report.configuration == nil)
        let keys = report.problems.map(\.key)
        #expect(Set(keys) == [
            "agent.module_id", "agent.log_level", "agent.colour", "broker.transport", "broker.keepalive",
            "broker.reconnect_min", "identity.max_inflight", "proxy.url",
        ])
        #expect(report.problems.last?.file == dropIn)
        #expect(report.problems.dropLast().allSatisfy { $0.file == fixture.mainPath })
        #expect(report.lines.last == "config invalid: 8 problems in \(fixture.mainPath) (+1 drop-in)")
        #expect(throws: ConfigErrors.self) { try fixture.load() }
    }

    @Test("load throws every problem as ConfigErrors")
    func loadThrowsAllProblems() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(adding: "[identity]\nmax_attempts = 0\nmax_inflight = 0\n"))
        do {
            _ = try fixture.load()
            Issue.record("expected ConfigErrors")
        } catch {
            #expect(error.problems.map(\.key) == ["identity.max_attempts", "identity.max_inflight"])
            #expect(error.description.split(separator: "\n").count == 2)
        }
    }

    @Test("a TOML syntax error names the file, line and column")
    func syntaxErrorPosition() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main("[agent]\nmodule_id = \"line-3\"\nlog_level = = \"info\"\n")
        let problems = fixture.problems()
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix("\(fixture.mainPath):3:") == true, "\(problems)")
        #expect(problems.first?.contains("TOML syntax error") == true)
        let problem = try #require(fixture.check().problems.first)
        #expect(problem.line == 3)
        #expect(problem.column != nil)
    }

    @Test("syntax errors in several files are all reported, without follow-on errors")
    func syntaxErrorsInSeveralFiles() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main("[agent\n")
        let dropIn = try fixture.dropIn("10-x.toml", "a = \"unterminated\n")
        let problems = fixture.check().problems
        #expect(problems.map(\.file) == [fixture.mainPath, dropIn])
        #expect(problems.allSatisfy { $0.line != nil })
    }

    @Test("a duplicate key is a syntax error")
    func duplicateKey() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main("[agent]\nmodule_id = \"a\"\nmodule_id = \"b\"\n")
        #expect(fixture.check().problems.first?.line == 3)
    }

    @Test("a missing main file says how to fix it")
    func missingMainFile() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        let problems = fixture.problems()
        #expect(problems == [
            "\(fixture.mainPath): cannot read the configuration: it does not exist; create it "
                + "(config/gateway-agent.toml is a documented example) or pass --config PATH"
        ])
    }

    @Test("a main file that is a directory is refused")
    func mainFileIsDirectory() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.directory.directory("gateway-agent.toml")
        #expect(fixture.problems().first?.contains("is a directory") == true)
    }

    @Test("a file that is not UTF-8 is refused")
    func notUTF8() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimalConfig)
        let bad = fixture.directory.path("gateway-agent.d/10-latin1.toml")
        try fixture.dropIn("10-latin1.toml", "")
        try writeBytes([0x61, 0x20, 0x3D, 0x20, 0x22, 0xE9, 0x22, 0x0A], to: bad)
        #expect(fixture.problems() == ["\(bad): is not UTF-8 text, which TOML requires"])
    }

    @Test("values of another type than the key takes are wrong types, not unknown keys", arguments: [
        "prune_identities = \"yes\"", "state_dir = 1", "log_level = [\"info\"]", "module_id = 1979-05-27",
    ])
    func otherTypes(line: String) throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(setting: line, in: "[agent]"))
        let problems = fixture.problems()
        #expect(problems.count == 1, "\(problems)")
        #expect(problems.first?.contains(": wrong type: expected") == true, "\(problems)")
    }
}

extension String {
    /// Plain substring replacement (tests only; FoundationEssentials-free).
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}

@Suite("Error reporting of whole sections")
struct SectionErrorTests {
    @Test("a credentials section of the wrong type gives one error, not a missing key per source")
    func credentialsSectionWrongType() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main("credentials = \"none\"\n[agent]\nmodule_id = \"line-3\"\n[broker]\nendpoint = \"localhost\"\n")
        #expect(fixture.check().problems.map(\.key) == ["credentials"])
    }
}

/// Inputs found by fuzz/run (fuzz-config): TOMLKit's parser aborted the process on each, where a syntax error
/// belongs.
@Suite("Table header names")
struct TableHeaderNameTests {
    @Test(
        "a table header that starts with a character no key starts with is a syntax error, not an abort",
        arguments: [
            ("[=\n", 1, 2), ("[agent]\nmodule_id = \"gw\"\n[\n", 3, 2), ("[[ =x]]\n", 1, 4), ("  [ #x]\n", 1, 5),
            ("[= \"ca.pem\"\nce_id = \"gw-1\"\n", 1, 2), ("\u{FEFF}[@gent]\n", 1, 5),
        ])
    func badHeaderName(toml: String, line: Int, column: Int) throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(toml)
        let problems = fixture.check().problems
        #expect(problems.count == 1)
        let problem = try #require(problems.first)
        #expect(problem.message.contains("TOML syntax error: a table header must start with a key"))
        #expect(problem.line == line)
        #expect(problem.column == column)
    }

    @Test("brackets inside values and multi-line strings are not table headers")
    func bracketsInValues() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(adding: "[agent.notes]\ntext = \"\"\"\n[=\n\"\"\"\nlist = [\n[ {a = 1} ],\n]\n"))
        let problems = fixture.problems()
        #expect(!problems.isEmpty)
        #expect(problems.allSatisfy { !$0.contains("TOML syntax error") }, "\(problems)")
    }
}
