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
    @Test("a wall-clock jump between a send and its resend: the ack timeout fires on time, not early, not late", arguments: [3600, -3600])
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
        let sends = state.records.filter { $0.payload.contains(first) }.map(\.receivedAtMs)
        let gaps = zip(sends.dropFirst(), sends).map { $0 - $1 }
        print("clock jump \(seconds) s: resend gaps \(gaps) ms (expected 2000, 4000)")
        #expect(gaps[0] >= 1900 && gaps[0] <= 4000, "first resend after \(gaps[0]) ms")
        #expect(gaps[1] >= 3900 && gaps[1] <= 6000, "second resend after \(gaps[1]) ms")

        // Timestamps are wall clock: the request accepted after the jump carries the jumped time.
        let timestamps = Dictionary(
            state.records.compactMap { record in record.properties["timestamp"].map { (record.payload, ($0, record.receivedAtMs)) } },
            uniquingKeysWith: { a, _ in a })
        let secondSend = try #require(timestamps.first { $0.key.contains(second) }?.value)
        let stamped = try #require(parseDate(secondSend.0))
        let offset = stamped.timeIntervalSince1970 - Double(secondSend.1) / 1000
        #expect(abs(offset - Double(seconds)) < 30, "timestamp \(secondSend.0) is \(offset) s from real time")
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
