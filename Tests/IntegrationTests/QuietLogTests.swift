import Foundation
import Glibc
import TestSupport
import Testing

/// The real agent against a broker that is down: repeated failures must not flood the log.
@Suite("Quiet logs while offline", .blockingWaits)
struct QuietLogTests {
    /// The numbers N of the "repeated N times" summaries in `lines`.
    static func repeatCounts(_ lines: [Substring]) -> [Int] {
        lines.compactMap { line in
            line.split(separator: " ").drop { $0 != "repeated" }.dropFirst().first.flatMap { Int($0) }
        }
    }

    /// A drop-in: at info level, with retries every 20–100 ms and a 1 s interval, seconds stand for hours.
    static let secondsForHours = """
        [agent]
        log_level = "info"
        log_repeat_interval = "1s"
        [broker]
        reconnect_min = "20ms"
        reconnect_max = "100ms"
        """

    /// Seconds since midnight of a text log line's timestamp (`2026-11-23T20:18:27.708Z warning …`).
    static func secondOfDay(_ line: Substring) -> Double? {
        guard let t = line.firstIndex(of: "T"), let z = line.firstIndex(of: "Z"), t < z else { return nil }
        let parts = line[line.index(after: t)..<z].split(separator: ":").compactMap { Double($0) }
        guard parts.count == 3 else { return nil }
        return parts[0] * 3600 + parts[1] * 60 + parts[2]
    }

    /// Seconds between consecutive lines, by their timestamps. A line's timestamp is taken when it is written, a
    /// moment after the decision to write it: compare with 0.9 s for a 1 s interval.
    static func gaps(_ lines: [Substring]) -> [Double] {
        let times = lines.compactMap(secondOfDay)
        return zip(times, times.dropFirst()).map { ($1 - $0 + 86_400).truncatingRemainder(dividingBy: 86_400) }
    }

    @Test("an outage logs its first failure, then one summary per log_repeat_interval; reconnecting is logged at once")
    func outageIsSummarised() async throws {
        let broker = try TestBroker()
        let agent = try AgentServiceTests.agent(broker)
        defer { agent.remove() }
        try agent.dropIn("quiet", Self.secondsForHours)
        broker.stop()
        try agent.start()
        var failures: [Substring] = []
        let outageEnds = ContinuousClock.now + .seconds(60)
        repeat {
            try await Task.sleep(for: .milliseconds(200))
            failures = agent.log().split(separator: "\n").filter { $0.contains(" connection: cannot connect") }
        } while failures.count < 6 && ContinuousClock.now < outageEnds
        let outage = agent.log().split(separator: "\n")
        failures = outage.filter { $0.contains(" connection: cannot connect") }

        #expect(failures.first?.contains("Connection refused") == true, "\(outage.joined(separator: "\n"))")
        // By the agent's own timestamps: never two lines about it within the interval, however slow the machine.
        let gaps = Self.gaps(failures)
        #expect(gaps.count == failures.count - 1)
        #expect(gaps.allSatisfy { $0 >= 0.9 }, "one line per second at most: \(gaps)\n\(failures.joined(separator: "\n"))")
        let summarised = Self.repeatCounts(failures)
        #expect(summarised.count == failures.count - 1)
        #expect(summarised.reduce(0, +) >= 20, "many attempts behind few lines: \(summarised)")
        #expect(outage.count <= failures.count + 10, "nothing else repeats:\n\(outage.joined(separator: "\n"))")

        try broker.start()
        let deadline = ContinuousClock.now + .seconds(20)
        while !agent.log().contains(" engine: connected"), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        let after = agent.log().split(separator: "\n").dropFirst(outage.count)
        let connected = try #require(after.firstIndex { $0.contains(" engine: connected") }, "\(after)")
        let pending = after[..<connected].filter { $0.contains(" connection: cannot connect: repeated ") }
        #expect(pending.count <= 1, "at most a summary that fell due: the outage ends without a line per attempt")
        #expect(agent.stop() == .exited(0))
    }
}
