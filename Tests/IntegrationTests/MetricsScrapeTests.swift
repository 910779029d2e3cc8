import ControlProtocol
import Foundation
import Glibc
import TestSupport
import Testing

/// `[metrics]` against the real agent: the scrape and the textfile parse as Prometheus text and say what
/// `status --json` says.
@Suite("Metrics", .blockingWaits)
struct MetricsScrapeTests {
    /// Every value the metrics share with `status --json`, checked one by one.
    static func expectMatches(_ metrics: PrometheusExposition, _ status: StatusView) throws {
        let counters = try #require(status.counters)
        let latency = try #require(status.ackLatency)
        let expected: [String: Double] = [
            "gateway_agent_connected": status.connection == "connected" ? 1 : 0,
            "gateway_agent_connection_state{state=\"\(status.connection)\"}": 1,
            "gateway_agent_reconnects_total": Double(status.reconnects ?? -1),
            "gateway_agent_requests_queued": Double(status.queued),
            "gateway_agent_requests_in_flight": Double(status.inFlight),
            "gateway_agent_queue_depth": Double(status.queued + status.inFlight),
            "gateway_agent_queue_limit": Double(status.maxQueue ?? -1),
            "gateway_agent_requests_failed": Double(status.failed),
            "gateway_agent_requests_accepted_total": Double(counters.accepted),
            "gateway_agent_requests_published_total": Double(counters.published),
            "gateway_agent_requests_retried_total": Double(counters.retried),
            "gateway_agent_requests_acked_total": Double(counters.acked),
            "gateway_agent_requests_failed_total": Double(counters.failed),
            "gateway_agent_requests_rejected_total": Double(counters.rejected),
            "gateway_agent_requests_expired_total": Double(counters.expired),
            "gateway_agent_requests_refused_total": Double(counters.refused),
            "gateway_agent_acks_dropped_total{reason=\"unknown\"}": Double(status.unknownAcks),
            "gateway_agent_acks_dropped_total{reason=\"malformed\"}": Double(status.malformedAcks),
            "gateway_agent_ack_latency_seconds_count": Double(latency.count),
            "gateway_agent_ack_latency_seconds_bucket{le=\"+Inf\"}": Double(latency.count),
            "gateway_agent_ack_latency_seconds_bucket{le=\"1\"}": Double(latency.counts[latency.bounds.firstIndex(of: 1)!]),
            "gateway_agent_info{version=\"\(status.version)\",module_id=\"\(status.moduleId)\",transport=\"\(status.transport)\",credential_source=\"\(status.credentialSource)\"}": 1,
        ]
        for (key, value) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(metrics[key] == value, "\(key)")
        }
        #expect(abs((metrics["gateway_agent_ack_latency_seconds_sum"] ?? -1) - latency.sumSeconds) < 1e-9)
    }

    /// `status --json` through the CLI, decoded.
    static func statusJSON(_ cloud: CloudHarness) throws -> StatusView {
        let result = try cloud.agent.cli(["status", "--json"])
        guard result.status == 0 else { throw ChildProcessError("status --json: \(result)") }
        return try JSONDecoder().decode(StatusView.self, from: Data(result.stdout.utf8))
    }

    /// Requests of every outcome, so that no counter is trivially zero; then a quiet agent.
    static func exercise(_ cloud: CloudHarness) async throws {
        #expect(try cloud.create(CloudHarness.id(1)).status == 0)
        try await cloud.responder.setBehaviour("{\"mode\":\"error\",\"error\":\"quota\",\"identities\":[\"\(CloudHarness.id(2))\"]}")
        #expect(try cloud.create(CloudHarness.id(2)).status == 3)
        try cloud.broker.restart()
        _ = try await cloud.waitForStatus("reconnected", timeout: .seconds(20)) { $0.connection == "connected" && $0.reconnects == 1 }
    }

    @Test("GET /metrics parses as Prometheus text and its values are those of status --json")
    func scrapeMatchesStatus() async throws {
        let port = try MQTTTestCommand.freePort()
        let cloud = try CloudHarness(extra: "[metrics]\nlisten = \"127.0.0.1:\(port)\"\n")
        try await Self.exercise(cloud)
        let status = try Self.statusJSON(cloud)
        let scrape = try httpGet(port: port)
        #expect(scrape.status == 200)
        #expect(scrape.head.contains("text/plain; version=0.0.4"))
        let metrics = try PrometheusExposition(scrape.body)
        try Self.expectMatches(metrics, status)
        #expect(metrics.types["gateway_agent_ack_latency_seconds"] == "histogram")
        #expect(status.counters?.rejected == 1 && status.counters?.acked == 1 && status.reconnects == 1)
        #expect(try httpGet(port: port, path: "/").status == 404)
    }

    @Test("a listen address in use stops the start, naming the key and the reason")
    func listenAddressInUse() throws {
        let broker = try TestBroker()
        let cloud = try CloudHarness(extra: "[metrics]\nlisten = \"127.0.0.1:\(broker.certificatePort)\"\n", start: false)
        #expect(throws: ChildProcessError.self) { try cloud.agent.start() }
        #expect(cloud.agent.log().contains("metrics.listen: cannot listen on 127.0.0.1:\(broker.certificatePort): Address already in use"))
        #expect(access(cloud.agent.socketPath, F_OK) != 0, "no control socket left behind")
    }

    @Test("the textfile is rewritten every interval, parses, and matches status --json")
    func textfileMatchesStatus() async throws {
        let directory = try TempDirectory(prefix: "textfile")
        defer { directory.remove() }
        let path = directory.path("gateway-agent.prom")
        let cloud = try CloudHarness(extra: "[metrics]\ntextfile = \"\(path)\"\ninterval = \"1s\"\n")
        try await Self.exercise(cloud)
        let status = try Self.statusJSON(cloud)
        // Wait for a rewrite that shows the reconnect, then for one more (a new inode each time: written by rename).
        var first = stat()
        let deadline = ContinuousClock.now + .seconds(10)
        var metrics: PrometheusExposition?
        while ContinuousClock.now < deadline {
            if stat(path, &first) == 0, let text = try? String(contentsOfFile: path, encoding: .utf8), let parsed = try? PrometheusExposition(text),
                parsed["gateway_agent_reconnects_total"] == 1
            {
                metrics = parsed
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        try Self.expectMatches(try #require(metrics, "no textfile with the reconnect:\n\(cloud.agent.log().suffix(2000))"), status)
        var second = stat()
        let again = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < again, stat(path, &second) == 0, second.st_ino == first.st_ino {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(second.st_ino != first.st_ino, "rewritten by rename within the interval")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(names == ["gateway-agent.prom"], "no temporary file left: \(names)")
    }
}
