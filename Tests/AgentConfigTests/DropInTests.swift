import AgentConfig
import GatewayCore
import TestSupport
import Testing

@Suite("Drop-ins")
struct DropInTests {
    @Test("drop-ins are merged in byte order of their names and later keys win")
    func laterDropInsWin() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(adding: "[identity]\nmax_attempts = 1\n"))
        // Byte order: "10-" < "9-" < "A-" < "a-"; the last one that sets a key wins.
        let ten = try fixture.dropIn("10-first.toml", "[identity]\nmax_attempts = 2\nmax_inflight = 10\n")
        let nine = try fixture.dropIn("9-second.toml", "[identity]\nmax_attempts = 3\n")
        let upper = try fixture.dropIn("A-third.toml", "[identity]\nmax_attempts = 4\n")
        let lower = try fixture.dropIn("a-fourth.toml", "[agent]\nlog_level = \"debug\"\n")
        let config = try fixture.load()
        #expect(config.sources == [fixture.mainPath, ten, nine, upper, lower])
        #expect(config.identity.maxAttempts == 4)
        #expect(config.identity.maxInflight == 10)
        #expect(config.agent.logLevel == .debug)
    }

    @Test("tables merge key by key: a drop-in changes one key and keeps the others")
    func tablesMergeDeeply() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(adding: "keepalive = \"90s\"\nusername = \"gw\"\n"))
        try fixture.dropIn("50-broker.toml", "broker.keepalive = \"120s\"\n")
        let config = try fixture.load()
        #expect(config.broker.keepalive == .seconds(120))
        #expect(config.broker.username == "gw")
        #expect(config.broker.host == "localhost")
        #expect(config.agent.moduleID?.rawValue == "line-3")
    }

    @Test("files not ending in .toml and hidden files in the drop-in directory are ignored")
    func onlyTOMLFilesAreDropIns() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimalConfig)
        try fixture.dropIn("20-disabled.toml.bak", "this is not toml")
        try fixture.dropIn(".hidden.toml", "this is not toml either")
        try fixture.dropIn("README", "notes")
        let config = try fixture.load()
        #expect(config.sources == [fixture.mainPath])
    }

    @Test("a problem in a key set by a drop-in names the drop-in, not the main file")
    func problemNamesTheDropIn() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimalConfig)
        let dropIn = try fixture.dropIn("30-tuning.toml", "[identity]\nmax_inflight = 0\nmax_atempts = 3\n")
        let problems = fixture.problems()
        #expect(problems.count == 2)
        #expect(problems.contains { $0.hasPrefix("\(dropIn):identity.max_inflight: ") })
        #expect(problems.contains { $0.hasPrefix("\(dropIn):identity.max_atempts: unknown key") })
    }

    @Test("a drop-in that overrides a bad value of the main file fixes it")
    func dropInOverridesBadValue() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimal(adding: "keepalive = \"5s\"\n"))
        #expect(fixture.problems().count == 1)
        try fixture.dropIn("90-fix.toml", "[broker]\nkeepalive = \"45s\"\n")
        #expect(try fixture.load().broker.keepalive == .seconds(45))
    }

    @Test("the summary counts the drop-ins")
    func summaryCountsDropIns() throws {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimalConfig)
        try fixture.dropIn("10-a.toml", "")
        try fixture.dropIn("20-b.toml", "[agent]\nlog_format = \"json\"\n")
        let report = fixture.check()
        #expect(report.isValid)
        #expect(report.lines == [
            "config OK: \(fixture.mainPath) (+2 drop-ins): module_id=line-3 transport=mqtt-tls "
                + "endpoint=localhost:8883 credentials=none"
        ])
    }

    @Test("the drop-in directory is gateway-agent.d beside the main file")
    func dropInDirectoryIsBesideMainFile() {
        #expect(ConfigLoader.dropInDirectory(forMainFile: "/etc/gateway-agent/gateway-agent.toml")
            == "/etc/gateway-agent/gateway-agent.d")
        #expect(ConfigLoader.defaultPath == "/etc/gateway-agent/gateway-agent.toml")
    }
}
