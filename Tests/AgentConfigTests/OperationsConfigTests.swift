import AgentConfig
import Testing

/// `identity.max_queue`, `identity.max_request_age` and `[metrics]`: defaults, accepted values, clear refusals.
@Suite("Operations settings")
struct OperationsConfigTests {
    private func load(_ extra: String) throws -> AgentConfiguration {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimalConfig + extra)
        return try fixture.load()
    }

    private func problems(_ extra: String) throws -> [String] {
        let fixture = try ConfigFixture()
        defer { fixture.remove() }
        try fixture.main(minimalConfig + extra)
        return fixture.problems()
    }

    @Test("defaults: 100,000 requests, 7 days, metrics off")
    func defaults() throws {
        let config = try load("")
        #expect(config.identity.maxQueue == 100_000)
        #expect(config.identity.maxRequestAge == .seconds(7 * 86_400))
        #expect(config.metrics.listen == "")
        #expect(config.metrics.textfile == "")
        #expect(config.metrics.interval == .seconds(15))
    }

    @Test("max_request_age \"0\" means no limit; a duration is taken as written")
    func requestAge() throws {
        #expect(try load("[identity]\nmax_request_age = \"0\"\n").identity.maxRequestAge == nil)
        #expect(try load("[identity]\nmax_request_age = \"36h\"\n").identity.maxRequestAge == .seconds(36 * 3600))
        #expect(try load("[identity]\nmax_queue = 5\n").identity.maxQueue == 5)
    }

    @Test("bad bounds are refused naming the key and what it expects")
    func badBounds() throws {
        let queue = try problems("[identity]\nmax_queue = 0\n")
        #expect(queue.count == 1 && queue[0].contains("identity.max_queue") && queue[0].contains("an integer from 1 to 10000000"))
        let age = try problems("[identity]\nmax_request_age = \"500ms\"\n")
        #expect(age.count == 1 && age[0].contains("identity.max_request_age") && age[0].contains("\"0\" for no limit"), "\(age)")
        let bare = try problems("[identity]\nmax_request_age = 0\n")
        #expect(bare.count == 1 && bare[0].contains("identity.max_request_age") && bare[0].contains("wrong type"), "\(bare)")
    }

    @Test("metrics: listen and textfile are parsed and checked")
    func metrics() throws {
        let config = try load("[metrics]\nlisten = \"127.0.0.1:9464\"\ntextfile = \"/var/lib/node_exporter/gateway-agent.prom\"\ninterval = \"30s\"\n")
        #expect(config.metrics.listen == "127.0.0.1:9464")
        #expect(config.metrics.listenHost == "127.0.0.1" && config.metrics.listenPort == 9464)
        #expect(config.metrics.textfile == "/var/lib/node_exporter/gateway-agent.prom")
        #expect(config.metrics.interval == .seconds(30))
        #expect(try load("[metrics]\nlisten = \"[::1]:9464\"\n").metrics.listenHost == "::1")

        let noPort = try problems("[metrics]\nlisten = \"127.0.0.1\"\n")
        #expect(noPort.count == 1 && noPort[0].contains("metrics.listen"), "\(noPort)")
        let notProm = try problems("[metrics]\ntextfile = \"/tmp/gateway-agent.txt\"\n")
        #expect(notProm.count == 1 && notProm[0].contains("metrics.textfile") && notProm[0].contains(".prom"), "\(notProm)")
        let fast = try problems("[metrics]\ninterval = \"10ms\"\n")
        #expect(fast.count == 1 && fast[0].contains("metrics.interval"), "\(fast)")
    }
}
