import ControlProtocol
import Foundation
import Glibc
import TestSupport
import Testing

/// The agent's wall clock jumps (`Tests/Fixtures/WallClockShift`, preloaded; monotonic clocks left alone): its own timers (ack
/// timeouts, backoff, rate) run on the monotonic clock and must neither fire early nor stall; the timestamps it
/// writes (the request's `timestamp`, `acceptedAt`) follow the wall clock.
@Suite("Faults: clock jumps", .serialized, .blockingWaits)
struct ClockJumpFaultTests {
    @Test(
        "a wall-clock jump between a send and its resend: the ack timeout fires on time, not early, not late",
        arguments: [3600, -3600])
    func ackTimeoutAcrossJump(seconds: Int) async throws {
        let cloud = try CloudHarness(identity: "ack_timeout = \"2s\"\nmax_attempts = 4\nmax_inflight = 50", start: false)
        let clock = try WallClockShift(in: cloud.agent.directory)
        try cloud.agent.start(environment: clock.environment)
        let ledger = FaultLedger("clock-jump\(seconds > 0 ? "+" : "-")1h")
        try await cloud.responder.setBehaviour(#"{"mode":"never"}"#)

        let first = CloudHarness.id(0, group: 0x0f50 + (seconds > 0 ? 1 : 2))
        try ledger.submitCreatesAnswered([first], to: cloud.agent.socketPath)
        try await cloud.responder.waitForState("the first send") { $0.records.count == 1 }
        try await Task.sleep(for: .milliseconds(300))
        try clock.jump(by: seconds)
        ledger.injected()
        // The shift is re-read at most every 100 ms: let it take effect before the next request.
        try await Task.sleep(for: .milliseconds(300))
        let second = CloudHarness.id(1, group: 0x0f50 + (seconds > 0 ? 1 : 2))
        try ledger.submitCreatesAnswered([second], to: cloud.agent.socketPath)

        // Sends of the first request: at 0, 2 s (ack timeout) and 6 s (twice as long), whatever the wall clock did.
        let state = try await cloud.responder.waitForState("two resends", timeout: .seconds(20)) { state in
            state.records.filter { $0.payload.contains(first) }.count >= 3
        }
        // Measured where the responder receives them, so each carries some delivery delay: a timer fired by the
        // jump would come seconds early, not a few hundred milliseconds.
        let sends = state.records.filter { $0.payload.contains(first) }.map(\.receivedAtMs)
        let resends = sends.dropFirst().map { $0 - sends[0] }
        print("clock jump \(seconds) s: resends \(resends) ms after the first send (expected 2000, 6000)")
        #expect(resends[0] >= 1750 && resends[0] <= 4000, "first resend after \(resends[0]) ms")
        #expect(resends[1] >= 5750 && resends[1] <= 8000, "second resend after \(resends[1]) ms")

        // Timestamps are wall clock: the request accepted after the jump carries the jumped time.
        let secondSend = try #require(state.records.first { $0.payload.contains(second) })
        let stamp = try #require(secondSend.properties["timestamp"])
        let offset = try #require(parseDate(stamp)).timeIntervalSince1970 - Double(secondSend.receivedAtMs) / 1000
        #expect(abs(offset - Double(seconds)) < 30, "timestamp \(stamp) is \(offset) s from real time")
        let firstStamps = Set(state.records.filter { $0.payload.contains(first) }.compactMap { $0.properties["timestamp"] })
        #expect(firstStamps.count == 1, "a resend keeps the first send's timestamp: \(firstStamps)")

        // Then a stream through the jumped clock, with acks around the ack timeout.
        try await cloud.responder.setBehaviour(#"{"mode":"out-of-order","delayMs":2500}"#)
        try ledger.submitCreatesAnswered(
            faultIDs(FaultScale.requests(200), group: 0x0f50 + (seconds > 0 ? 1 : 2), from: 2), to: cloud.agent.socketPath)
        try clock.jump(by: 0)
        _ = try await cloud.waitForStatus("everything acked", timeout: .seconds(90)) { $0.queued == 0 && $0.inFlight == 0 }
        #expect(try cloud.status().failed == 0)
        try ledger.verify(responder: cloud.responder, agent: cloud.agent)
    }
}

/// `Tests/Fixtures/WallClockShift/wall_clock_shift.c`, built into `directory` with clang (every Swift toolchain has
/// it): `environment` preloads it for the agent, `jump` sets how far the agent's wall clock is from the real one.
struct WallClockShift {
    let file: String
    let library: String

    init(in directory: TempDirectory) throws {
        file = try directory.file("wall-clock-shift", contents: "0\n")
        library = directory.path("wall_clock_shift.so")
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/WallClockShift/wall_clock_shift.c").path
        try ChildProcess.run("/usr/bin/env", ["clang", "-shared", "-fPIC", "-O2", "-o", library, source, "-ldl"]).checked()
    }

    var environment: [String: String] { ["LD_PRELOAD": library, "WALL_CLOCK_SHIFT_FILE": file] }

    /// The agent's wall clock runs `seconds` ahead of (negative: behind) the real one from now on.
    func jump(by seconds: Int) throws {
        let temporary = file + ".tmp"
        try "\(seconds)\n".write(toFile: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary, file) == 0 else { throw ChildProcessError("rename \(temporary): errno \(errno)") }
    }
}
