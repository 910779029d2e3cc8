import Foundation
import Glibc
import TestSupport
import Testing

/// A connection that is dropped as soon as it is up must not flood the log either.
@Suite("Quiet logs while the connection flaps", .blockingWaits)
struct FlappingConnectionTests {
    @Test("two agents with one client id take the session from each other: the drops are summarised, not logged each")
    func duplicateClientID() async throws {
        let broker = try TestBroker()
        let agents = try (0..<2).map { _ in try AgentServiceTests.agent(broker) }
        defer { for agent in agents { agent.remove() } }
        for agent in agents {
            try agent.dropIn("quiet", QuietLogTests.secondsForHours)
            try agent.start()
        }
        let watched = agents[0]
        func drops() -> [Substring] {
            watched.log().split(separator: "\n").filter { $0.contains(" engine: disconnected") }
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while drops().count < 4 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        let log = watched.log().split(separator: "\n")
        let dropLines = log.filter { $0.contains(" engine: disconnected") }
        let summarised = QuietLogTests.repeatCounts(dropLines)
        #expect(summarised.reduce(0, +) >= 10, "the session went back and forth: \(summarised)")
        let gaps = QuietLogTests.gaps(dropLines)
        #expect(gaps.allSatisfy { $0 >= 0.9 }, "one line per second at most: \(gaps)")
        let reconnects = log.filter { $0.contains(" engine: connected") }
        #expect(reconnects.count <= 3, "reconnects after a counted drop are debug lines:\n\(reconnects.joined(separator: "\n"))")
        for agent in agents { #expect(agent.stop() == .exited(0)) }
    }
}
