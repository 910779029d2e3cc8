import ControlProtocol
import Foundation
import Glibc
import TestSupport
import Testing

/// agent.control_max_requests_per_client: one local program cannot starve the others.
@Suite("Control socket fairness", .blockingWaits)
struct ControlFairnessTests {
    /// A create that waits for its outcome: with no broker it stays in progress until its timeout.
    static func waitingCreate(_ n: Int) -> [UInt8] {
        ControlCoding.encodeLine(
            ControlRequest(
                id: "wait-\(n)", verb: .create,
                args: ControlArguments(id: CloudHarness.id(n), publicKey: CloudHarness.key, wait: true, timeoutMs: 60_000)))
    }

    static let status = "{\"v\":1,\"id\":\"s\",\"verb\":\"status\",\"args\":{}}\n"

    @Test("a uid over its limit is answered busy (CLI exit 5) while another uid is still served; a freed slot serves it")
    func busyPerClient() async throws {
        let broker = try TestBroker()
        broker.stop()
        let agent = try AgentServiceTests.agent(broker)
        defer { agent.remove() }
        try agent.dropIn(
            "fairness",
            """
                [agent]
                control_max_requests_per_client = 2
                readers_group = "nogroup"
                """)
        try agent.start()
        let uid = getuid()

        var waiting = try (1...2).map { n in
            let socket = try RawUnixSocket(path: agent.socketPath)
            socket.send(Self.waitingCreate(n))
            #expect(socket.readLine()?.contains("\"event\":\"accepted\"") == true)
            return socket
        }
        let third = try RawUnixSocket(path: agent.socketPath)
        third.send(Self.status)
        let busy = try #require(third.readLine())
        #expect(busy.contains("\"code\":\"busy\""), "\(busy)")
        #expect(busy.contains("uid \(uid) already has 2 requests in progress"), "\(busy)")

        let cli = try agent.cli(["status"])
        #expect(cli.status == 5, "\(cli)")
        #expect(cli.stderr.contains("the agent is busy, retry shortly"), "\(cli)")

        if uid == 0 {
            chmod(agent.directory.path, 0o755)
            let other = try ControlSocketTests.runAsNobody(["status"], socket: agent.socketPath)
            #expect(other.status == 0, "another uid is served: \(other)")
        }

        // A client that goes away gives its slot back; the same connection may then try again.
        waiting.removeFirst()
        var answer: String?
        let deadline = ContinuousClock.now + .seconds(10)
        repeat {
            usleep(100_000)
            third.send(Self.status)
            answer = third.readLine()
        } while answer?.contains("\"code\":\"busy\"") == true && ContinuousClock.now < deadline
        #expect(answer?.contains("\"ok\":true") == true, "\(answer ?? "closed")")

        // Connections: twice the request limit, so idle ones cannot take every slot of the server.
        // Each connection is admitted on a thread of its own: one answer each proves these two are in.
        let idle = try (1...2).map { _ in
            let socket = try RawUnixSocket(path: agent.socketPath)
            socket.send(Self.status)
            #expect(socket.readLine()?.contains("\"ok\":true") == true)
            return socket
        }
        let over = try RawUnixSocket(path: agent.socketPath)
        let refused = over.readLine()
        #expect(refused?.contains("uid \(uid) already has 4 connections open") == true, "\(refused ?? "closed")\n\(agent.log())")
        #expect(over.readLine() == nil, "and closed")
        _ = idle

        let warnings = agent.log().split(separator: "\n").filter { $0.contains(" warning control: control client over its limit") }
        // Each kind of refusal once (busy requests, too many connections); the repeats are only counted.
        #expect(warnings.count == 2, "\(warnings.joined(separator: "\n"))")
        #expect(warnings.filter { $0.contains("requests in progress") }.count == 1)
        #expect(agent.stop() == .exited(0))
        _ = waiting
    }
}
