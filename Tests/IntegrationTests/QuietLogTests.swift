import ControlProtocol
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

    @Test("a cloud sending malformed acks: each kind of problem is logged in full, then counted, one line per interval at most")
    func malformedAcksAreSummarised() async throws {
        let cloud = try CloudHarness(identity: "ack_timeout = \"500ms\"\nmax_attempts = 100", start: false)
        try cloud.agent.dropIn("quiet", Self.secondsForHours)
        try cloud.agent.start()
        // Two kinds of problem, one after the other, each for a few intervals.
        var seen = 0
        for kind in ["json", "encoding"] {
            try await cloud.responder.setBehaviour("{\"mode\":\"malformed\",\"malformed\":\"\(kind)\"}")
            if kind == "json" {
                for n in 0..<10 { #expect(try cloud.create(CloudHarness.id(100 + n), wait: false).status == 0) }
            }
            let phaseEnds = ContinuousClock.now + .milliseconds(3500)
            seen = try await cloud.waitForStatus("malformed acks of kind \(kind)") { $0.malformedAcks >= seen + 20 }.malformedAcks
            try await Task.sleep(until: phaseEnds)
        }
        try await cloud.responder.setBehaviour("{\"mode\":\"success\"}")
        let total = try await cloud.waitForStatus("everything acked") { $0.queued == 0 && $0.inFlight == 0 }.malformedAcks
        let log = cloud.agent.log().split(separator: "\n")
        let lines = log.filter { $0.contains(" engine: malformed ack dropped") }
        for problem in ["payload not JSON", "bad topic property"] {
            // In full when first seen (or back after a quiet interval, as resends slow down), then counted.
            let ofKind = lines.filter { $0.contains(problem) }
            #expect(ofKind.first?.contains(" repeated ") == false, "\(problem) first in full:\n\(lines.joined(separator: "\n"))")
            #expect(ofKind.first?.contains("to/module/gw1/ack/identity/create") == true, "with its topic: \(ofKind)")
            #expect(Self.gaps(ofKind).allSatisfy { $0 >= 0.9 }, "one line per second at most: \(ofKind.joined(separator: "\n"))")
        }
        let counted = lines.filter { !$0.contains(" repeated ") }.count + Self.repeatCounts(lines).reduce(0, +)
        #expect(counted <= total, "the lines never count more than were dropped: \(counted) of \(total)")
        #expect(total >= 40)
        #expect(lines.count * 2 <= total, "few lines for \(total) malformed acks:\n\(lines.joined(separator: "\n"))")
        #expect(cloud.agent.stop() == .exited(0))
    }

    /// Knocks on each new tunnel socket of the agent (argv: its directory, knocks per socket, sockets): prints
    /// "knocked N" once its connections wait in the socket's backlog, then "refused N COUNT" once the tunnel has
    /// closed them.
    static let intruder = """
        import glob, socket, sys, time
        directory, knocks, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        seen = set()
        for round in range(rounds):
            deadline = time.time() + 60
            while True:
                fresh = [p for p in glob.glob(directory + "/tunnel-*.sock") if p not in seen]
                if fresh or time.time() > deadline:
                    break
                time.sleep(0.005)
            path = fresh[0]
            seen.add(path)
            waiting = []
            while len(waiting) < knocks:
                s = socket.socket(socket.AF_UNIX)
                s.settimeout(30)
                try:
                    s.connect(path)  # refused until the tunnel listens, a moment after the file appears
                    waiting.append(s)
                except ConnectionRefusedError:
                    s.close()
                    time.sleep(0.005)
            print("knocked %d" % round, flush=True)
            refused = sum(1 for s in waiting if s.recv(1) == b"")
            print("refused %d %d" % (round, refused), flush=True)
        """

    @Test("another process knocking on the tunnel's socket at every reconnect: one warning, then a count per interval")
    func tunnelIntrudersAreSummarised() async throws {
        let stack = try AWSWebSocketStack()
        try stack.agent.dropIn("quiet", Self.secondsForHours)
        let intruder = try ChildProcess(
            executable: TestExecutables.python3, arguments: ["-c", Self.intruder, stack.agent.stateDir + "/tunnel", "3", "2"],
            stderr: .capture)
        defer { _ = intruder.stop() }
        // While the gateway holds the upgrade's answer back, the tunnel's socket exists and nobody has connected to it.
        try stack.gateway.hold()
        try stack.agent.start(environment: ["HTTPS_PROXY": "", "https_proxy": "", "NO_PROXY": "", "no_proxy": ""])
        for round in 0..<2 {
            #expect(try intruder.readLine(timeout: .seconds(30)) == "knocked \(round)", "\(stack.agent.log().suffix(2000))")
            try stack.gateway.release()
            #expect(try intruder.readLine(timeout: .seconds(30)) == "refused \(round) 3")
            _ = try await stack.waitForStatus("connected after round \(round)") { $0.connection == "connected" }
            // Longer than log_repeat_interval, then a reconnect through a held upgrade again.
            try await Task.sleep(for: .milliseconds(1200))
            if round == 0 {
                try stack.gateway.hold()
                _ = try stack.gateway.drop()
            }
        }
        let lines = stack.agent.log().split(separator: "\n").filter { $0.contains("refused a connection from another process") }
        #expect(lines.count == 2, "the first refusal, then the count of the rest of its round:\n\(lines.joined(separator: "\n"))")
        #expect(lines.first?.contains(" connection: tunnel socket: refused a connection from another process") == true)
        #expect(lines.first?.contains(" repeated ") == false)
        #expect(lines.last?.contains("repeated 2 times in the last ") == true, "\(lines)")
        #expect(stack.agent.stop() == .exited(0))
    }

    /// The state_dir is a tmpfs the test fills (it runs as root, as CI does): requests wait while the broker is
    /// down, then the engine cannot record their sends at every turn until space returns.
    @Test("a full disk holding sends: the first error, a count per interval, and one line when sends are recorded again")
    func heldSendsAreSummarised() async throws {
        let cloud = try CloudHarness(start: false)
        let disk = try StateDisk(at: cloud.agent.stateDir)
        defer { disk.unmount() }
        try cloud.agent.dropIn("quiet", Self.secondsForHours.replacingOccurrences(of: "\"1s\"", with: "\"2s\""))
        cloud.broker.stop()
        try cloud.agent.start()
        for n in 0..<30 { #expect(try cloud.create(CloudHarness.id(200 + n), wait: false).status == 0) }
        try disk.fill()
        try cloud.broker.start()
        _ = try await cloud.waitForStatus("connected") { $0.connection == "connected" }
        let heldFrom = ContinuousClock.now
        while !cloud.agent.log().contains("cannot record sends"), ContinuousClock.now - heldFrom < .seconds(20) {
            try await Task.sleep(for: .milliseconds(100))
        }
        try await Task.sleep(for: .seconds(5))
        disk.free()
        _ = try await cloud.waitForStatus("everything acked") { $0.queued == 0 && $0.inFlight == 0 }
        let log = cloud.agent.log().split(separator: "\n")
        let held = log.filter { $0.contains(" engine: cannot record sends") }
        let recovered = log.filter { $0.contains(" engine: sends recorded again") }
        #expect(held.first?.contains(" error engine: cannot record sends, holding them error=") == true, "\(log.joined(separator: "\n"))")
        #expect(held.first?.contains("disk is full") == true, "\(held)")
        #expect(held.dropFirst().allSatisfy { $0.contains(": repeated ") }, "\(held.joined(separator: "\n"))")
        #expect(Self.gaps(held).allSatisfy { $0 >= 1.8 }, "one line per 2 s at most: \(held.joined(separator: "\n"))")
        #expect(held.count <= 5, "\(held.joined(separator: "\n"))")
        #expect(recovered.count == 1, "\(log.joined(separator: "\n"))")
        let unreported = recovered.first.flatMap { $0.split(separator: "repeats=").last.flatMap { Int($0) } }
        #expect(unreported != nil, "\(recovered)")
        #expect(cloud.agent.stop() == .exited(0))
    }
}
