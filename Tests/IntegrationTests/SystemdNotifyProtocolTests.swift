import Glibc
import TestSupport
import Testing

/// The real agent's sd_notify conversation with a fake NOTIFY_SOCKET.
@Suite("systemd notify protocol", .blockingWaits)
struct SystemdNotifyProtocolTests {
    @Test("READY after the control socket listens, STATUS with the connection, WATCHDOG at half the interval, STOPPING on SIGTERM")
    func conversation() async throws {
        let broker = try TestBroker()
        let listener = try NotifySocketListener()
        let agent = try AgentServiceTests.agent(broker)
        defer { agent.remove() }
        var environment = listener.environment
        environment["WATCHDOG_USEC"] = "1000000"
        try agent.start(waitForSocket: false, environment: environment)

        let ready = await listener.first(assigning: "READY", "1", timeout: .seconds(15))
        #expect(ready != nil, "no READY=1; log:\n\(agent.log())")
        // READY is sent only once the socket listens: it must answer right away.
        #expect(access(agent.socketPath, F_OK) == 0)
        #expect(try agent.cli(["status"]).status == 0)

        let connected = await listener.first(where: { $0.assignments["STATUS"]?.hasPrefix("connected") ?? false }, timeout: .seconds(10))
        #expect(connected != nil, "STATUS lines: \(listener.datagrams.map(\.text))")

        let windowStart = ContinuousClock.now
        let windowEnd = windowStart + .seconds(3)
        // The listener stamps each datagram as it arrives; this task may wake well after the window (busy machine).
        try await Task.sleep(until: windowEnd)
        let pings = listener.datagrams.filter {
            $0.assignments["WATCHDOG"] == "1" && $0.receivedAt >= windowStart && $0.receivedAt < windowEnd
        }
        // WATCHDOG_USEC=1s: a ping every 0.5 s from the working loop, so about 6 in 3 s.
        #expect((4...8).contains(pings.count), "\(pings.count) watchdog pings in 3 s")

        #expect(agent.stop(signal: SIGTERM) == .exited(0))
        let stopping = await listener.first(assigning: "STOPPING", "1", timeout: .seconds(2))
        #expect(stopping != nil)
        if let ready, let stopping { #expect(ready.receivedAt < stopping.receivedAt) }
        listener.stop()
    }
}
