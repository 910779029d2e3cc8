import ControlProtocol
import Foundation
import Glibc
import TestSupport
import Testing

/// The network between agent and broker fails while a stream of creates goes through: the broker restarts, or a
/// loopback relay (`Tests/Fixtures/tcp_relay.py`) in front of it stalls, cuts or black-holes the connection.
@Suite("Faults: network", .serialized, .blockingWaits)
struct NetworkFaultTests {
    /// A stream of `count` creates with `fault` injected while it runs; then everything must be acked.
    static func stream(
        _ name: String, count: Int, group: Int,
        identity: String = "ack_timeout = \"1s\"\nmax_inflight = 50\nmax_publish_rate = 150",
        relayed: Bool = true, agentExtra: String = "", fault: (CloudHarness, TCPRelay?, FaultLedger) async throws -> Void
    ) async throws {
        var relay: TCPRelay?
        let cloud = try CloudHarness(identity: identity, agent: agentExtra) { broker in
            guard relayed else { return broker.certificatePort }
            relay = try TCPRelay(targetPort: broker.certificatePort)
            return relay!.port
        }
        let ledger = FaultLedger(name)
        let submission = ledger.startSubmitting(faultIDs(FaultScale.requests(count), group: group), to: cloud.agent.socketPath)
        try await fault(cloud, relay, ledger)
        try await submission.finish()
        _ = try await cloud.waitForStatus("everything acked", timeout: .seconds(120)) {
            $0.connection == "connected" && $0.queued == 0 && $0.inFlight == 0
        }
        try ledger.verify(responder: cloud.responder, agent: cloud.agent)
        #expect(try cloud.status().failed == 0)
    }

    @Test("the broker restarted three times mid-stream: nothing lost, nothing applied twice")
    func brokerRestarts() async throws {
        try await Self.stream("broker-restart", count: 600, group: 0x0f11, relayed: false) { cloud, _, ledger in
            for _ in 0..<3 {
                _ = try await cloud.responder.waitForState("stream flowing", timeout: .seconds(30)) { _ in true }
                try await Task.sleep(for: .milliseconds(700))
                expectMidStream(try cloud.status(), ledger)
                try cloud.broker.restart()
                ledger.injected()
                try await cloud.responder.waitForState("responder back", timeout: .seconds(15)) { $0.subscribed }
            }
        }
    }

    @Test("connections cut (closed) five times mid-stream: the agent reconnects and resends what was not acked")
    func connectionsCut() async throws {
        try await Self.stream("network-cut", count: 1000, group: 0x0f12) { cloud, relay, ledger in
            for _ in 0..<5 {
                try await Task.sleep(for: .milliseconds(300))
                expectMidStream(try cloud.status(), ledger)
                _ = try relay!.command("drop")
                ledger.injected()
                _ = try await cloud.waitForStatus("reconnected") { $0.connection == "connected" }
            }
        }
    }

    @Test("the connection stalls for 3 s (longer than the ack timeout) mid-stream, then flows again")
    func connectionStalls() async throws {
        try await Self.stream("network-stall", count: 600, group: 0x0f13) { cloud, relay, ledger in
            try await Task.sleep(for: .milliseconds(500))
            expectMidStream(try cloud.status(), ledger)
            _ = try relay!.command("pause")
            ledger.injected()
            try await Task.sleep(for: .seconds(3))
            _ = try relay!.command("pass")
        }
    }

    @Test("after a cut, new connections are black-holed (accepted, never answered) for 4 s: the connect times out and is retried")
    func reconnectBlackHoled() async throws {
        try await Self.stream("network-blackhole-connect", count: 600, group: 0x0f14) { cloud, relay, ledger in
            try await Task.sleep(for: .milliseconds(500))
            expectMidStream(try cloud.status(), ledger)
            _ = try relay!.command("blackhole")
            _ = try relay!.command("drop")
            ledger.injected()
            _ = try await cloud.waitForStatus("disconnected") { $0.connection != "connected" }
            try await Task.sleep(for: .seconds(4))
            _ = try relay!.command("pass")
        }
    }

    /// In the long form keepalive (at least 30 s, so about 45 s) must notice the dead connection by itself; the
    /// short form cuts it after 2 s of swallowed traffic, as a NAT that forgot the flow would.
    @Test("an open connection black-holed (everything swallowed): the agent reconnects and loses nothing")
    func openConnectionBlackHoled() async throws {
        try await Self.stream(
            "network-blackhole-open", count: 300, group: 0x0f15,
            identity: "ack_timeout = \"5s\"\nmax_inflight = 50\nmax_publish_rate = 150"
        ) { cloud, relay, ledger in
            try await Task.sleep(for: .milliseconds(500))
            expectMidStream(try cloud.status(), ledger)
            _ = try relay!.command("blackhole")
            ledger.injected()
            if FaultScale.soak {
                _ = try await cloud.waitForStatus("keepalive noticed", timeout: .seconds(120)) { $0.connection != "connected" }
            } else {
                try await Task.sleep(for: .seconds(2))
                _ = try relay!.command("drop")
            }
            _ = try relay!.command("pass")
        }
    }
}

/// The fault is about to hit a stream still going: creates are still being submitted, or requests are queued or
/// in flight (the publish rate spreads the stream over seconds).
func expectMidStream(_ status: StatusView, _ ledger: FaultLedger) {
    #expect(ledger.isSubmitting || status.queued + status.inFlight > 0, "the stream was already drained: \(status)")
}

/// `Tests/Fixtures/tcp_relay.py` in front of a loopback port: `pass`, `pause`, `drop`, `blackhole`.
final class TCPRelay {
    private let fixture: PythonFixture

    init(targetPort: Int) throws {
        fixture = try PythonFixture(script: "tcp_relay.py", arguments: [String(targetPort)])
    }

    /// The relay's own port.
    var port: Int { fixture.port }

    /// Applies `command`; returns the relay's answer ("ok <command> <open connections>").
    @discardableResult
    func command(_ command: String) throws -> String {
        let answer = try fixture.command(command)
        guard answer.hasPrefix("ok ") else { throw ChildProcessError("tcp_relay.py: \(answer)") }
        return answer
    }
}
