import ControlProtocol
import Foundation
import Glibc
import TestSupport
import Testing

/// 1,000-request backlogs: the in-flight window on the cloud side, the publish rate by the agent's send stamps;
/// broker restarts and agent crashes in the middle, with nothing lost.
@Suite("Backlogs", .serialized, .blockingWaits)
struct BacklogTests {
    static let count = 1000

    /// Accepts `count` creates through the control socket (each committed before it is answered).
    static func submit(_ cloud: CloudHarness, count: Int = count, group: Int) throws -> [String] {
        let started = ContinuousClock.now
        defer { print("accepted \(count) creates one by one over the control socket in \(ContinuousClock.now - started)") }
        var ids: [String] = []
        for n in 0..<count {
            let id = CloudHarness.id(n, group: group)
            let responses = try cloud.submit(.create, ControlArguments(id: id, publicKey: CloudHarness.key))
            guard responses.first?.event == .accepted else { throw ChildProcessError("not accepted: \(responses)") }
            ids.append(id)
        }
        return ids
    }

    /// The most records received within any window of `length` milliseconds.
    static func busiestWindow(_ times: [Int64], length: Int64) -> Int {
        let sorted = times.sorted()
        var best = 0
        var start = 0
        for end in sorted.indices {
            while sorted[end] - sorted[start] >= length { start += 1 }
            best = max(best, end - start + 1)
        }
        return best
    }

    @Test("the in-flight window holds when a 1,000-request backlog becomes due at reconnect")
    func inFlightWindow() async throws {
        let cloud = try CloudHarness(identity: "max_inflight = 25\nack_timeout = \"30s\"")
        // Before the backlog becomes due: the agent starts sending the moment it reconnects, and acks sent at once
        // would open the window faster than the 100 ms this test measures by.
        try await cloud.responder.setBehaviour("{\"mode\":\"late\",\"delayMs\":100}")
        cloud.broker.stop()
        _ = try await cloud.waitForStatus("disconnected") { $0.connection != "connected" }
        _ = try Self.submit(cloud, group: 1)
        try await cloud.responder.waitForState("responder offline") { _ in true }
        try cloud.broker.start()
        try await cloud.responder.waitForState("responder back", timeout: .seconds(15)) { $0.subscribed }
        _ = try await cloud.waitForStatus("backlog drained", timeout: .seconds(60)) { $0.queued == 0 && $0.inFlight == 0 }

        let records = try cloud.responder.state().records
        #expect(Set(records.compactMap { $0.properties["correlationId"] }).count == Self.count)
        // Each ack comes 100 ms after its request; a new request may only go once an ack freed a slot.
        let busiest = Self.busiestWindow(records.map(\.receivedAtMs), length: 100)
        #expect(busiest <= 25, "\(busiest) requests within 100 ms with max_inflight = 25")
        #expect(busiest >= 15, "the window was used: \(busiest)")
        print("in-flight window: busiest 100 ms held \(busiest) requests (max_inflight 25), \(records.count) sends")
    }

    @Test("the publish rate holds for a 1,000-request backlog: no 1-second window above max_publish_rate")
    func publishRate() async throws {
        let cloud = try CloudHarness(identity: "max_publish_rate = 400")
        cloud.broker.stop()
        _ = try await cloud.waitForStatus("disconnected") { $0.connection != "connected" }
        _ = try Self.submit(cloud, group: 2)
        try cloud.broker.start()
        try await cloud.responder.waitForState("responder back", timeout: .seconds(15)) { $0.subscribed }
        let started = ContinuousClock.now
        _ = try await cloud.waitForStatus("backlog drained", timeout: .seconds(60)) { $0.queued == 0 && $0.inFlight == 0 }
        let elapsed = ContinuousClock.now - started

        let records = try cloud.responder.state().records
        // The agent's guarantee, by its send stamps (`timestamp`, set as each request is first published); the
        // cloud's receive stamps add the broker's and the responder's delays, which bunch on a busy machine.
        let sent = records.compactMap { $0.properties["timestamp"].flatMap(parseDate) }
            .map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
        #expect(sent.count == records.count)
        let busiest = Self.busiestWindow(sent, length: 1000)
        let received = Self.busiestWindow(records.map(\.receivedAtMs), length: 1000)
        #expect(busiest <= 400, "\(busiest) publishes within one second with max_publish_rate = 400")
        #expect(received >= 300, "the rate was used: \(received)")
        print("publish rate: busiest second held \(busiest) publishes by the agent's stamps, \(received) on arrival (limit 400); 1,000 acked in \(elapsed)")
    }

    @Test("a broker restart in the middle of 1,000 requests loses nothing")
    func brokerRestart() async throws {
        let cloud = try CloudHarness(identity: "ack_timeout = \"5s\"\nmax_publish_rate = 100")
        let ids = try Self.submit(cloud, group: 3)
        _ = try await cloud.responder.waitForState("some applied", timeout: .seconds(30)) { $0.applied.count >= 100 }
        let before = try cloud.responder.state().applied.count
        #expect(before < Self.count - 100, "restarted in the middle")
        try cloud.broker.restart()
        _ = try await cloud.waitForStatus("all acked", timeout: .seconds(90)) { $0.queued == 0 && $0.inFlight == 0 }
        let state = try cloud.responder.state()
        #expect(Set(state.registry.keys) == Set(ids))
        #expect(state.applied.count == Set(state.applied).count, "no request applied twice")
        #expect(try cloud.status().failed == 0)
        #expect(cloud.agent.log().contains("disconnected"))
    }

    @Test("SIGKILL of the agent in the middle of 1,000 requests: all acked after restart, none lost or doubled")
    func agentKilled() async throws {
        let cloud = try CloudHarness(identity: "ack_timeout = \"5s\"\nmax_publish_rate = 100")
        let ids = try Self.submit(cloud, group: 4)
        _ = try await cloud.responder.waitForState("some applied", timeout: .seconds(30)) { $0.applied.count >= 100 }
        #expect(cloud.agent.stop(signal: SIGKILL) == .signaled(SIGKILL))
        let before = try cloud.responder.state().applied.count
        #expect(before < Self.count - 100, "killed in the middle")
        try cloud.agent.start()
        _ = try await cloud.waitForStatus("all acked", timeout: .seconds(90)) { $0.queued == 0 && $0.inFlight == 0 }
        let state = try cloud.responder.state()
        #expect(Set(state.registry.keys) == Set(ids))
        #expect(state.applied.count == Self.count, "each request applied exactly once")
        #expect(state.applied.count == Set(state.applied).count)
        #expect(try cloud.status().failed == 0)
        // Requests in flight at the kill were resent with their original correlation id.
        let perRequest = state.requestCounts.values
        #expect(perRequest.count == Self.count)
        print("agent killed after \(before) applied; \(perRequest.filter { $0 > 1 }.count) requests resent after restart")
    }
}
