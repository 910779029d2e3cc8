import ControlProtocol
import Foundation
import Glibc
import TestSupport
import Testing

/// The agent killed with SIGKILL at random moments while a stream of creates goes through it, the broker and
/// the responder: in intake, in group commit, mid-publish, between an ack and its record.
@Suite("Faults: agent killed", .serialized, .blockingWaits)
struct AgentKillFaultTests {
    @Test("20 SIGKILLs at random moments in one 5,000-request stream: every accepted request applied once and acked")
    func killedTwentyTimes() async throws {
        let kills = 20 * FaultScale.factor
        let cloud = try CloudHarness(identity: "ack_timeout = \"5s\"\nmax_inflight = 100")
        let ledger = FaultLedger("sigkill-x\(kills)")
        let ids = faultIDs(FaultScale.requests(5000), group: 0x0f01)
        let submission = ledger.startSubmitting(ids, to: cloud.agent.socketPath, answered: false, threads: 4)

        // FAULT_SEED replays a run: the seed is printed.
        let seed = ProcessInfo.processInfo.environment["FAULT_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64.max)
        var random = SeededRandom(seed: seed)
        print("sigkill: seed \(seed)")
        // Most kills at random points of the intake (by requests submitted), the rest while the backlog drains.
        let duringIntake = kills * 17 / 20
        let points = (0..<duringIntake).map { _ in Int.random(in: 0..<ids.count, using: &random) }.sorted()
        for point in points {
            while ledger.submittedCount < point && !submission.isDone { try await Task.sleep(for: .milliseconds(5)) }
            try await kill(cloud, ledger, pause: .milliseconds(Int.random(in: 0...200, using: &random)))
        }
        try await submission.finish()
        for _ in duringIntake..<kills {
            try await Task.sleep(for: .milliseconds(Int.random(in: 50...400, using: &random)))
            try await kill(cloud, ledger, pause: .milliseconds(Int.random(in: 0...200, using: &random)))
        }
        _ = try await cloud.waitForStatus("everything acked", timeout: .seconds(120)) {
            $0.queued == 0 && $0.inFlight == 0
        }
        // A kill can leave a few creates per submitter unanswered: connected (the listen backlog) or read, never answered.
        #expect(ledger.acceptedCount >= ids.count - 10 * kills, "most creates were accepted")
        try ledger.verify(responder: cloud.responder, agent: cloud.agent)
        #expect(try cloud.status().failed == 0)
    }

    /// SIGKILLs the agent, waits `pause`, starts it again.
    func kill(_ cloud: CloudHarness, _ ledger: FaultLedger, pause: Duration) async throws {
        #expect(cloud.agent.stop(signal: SIGKILL, timeout: .seconds(10)) == .signaled(SIGKILL))
        ledger.injected()
        try await Task.sleep(for: pause)
        try cloud.agent.start()
    }
}
