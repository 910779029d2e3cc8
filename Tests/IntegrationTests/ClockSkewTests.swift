import ControlProtocol
import Foundation
import Glibc
import TestSupport
import Testing

/// The real agent against a fake AWS IoT gateway whose clock is 20 minutes ahead of this host's.
@Suite("clock skew on aws-websocket", .blockingWaits)
struct ClockSkewTests {
    @Test("a gateway 20 min ahead refuses the first upgrade; the agent logs the skew once and signs with its time")
    func correctsSigningTime() async throws {
        let stack = try AWSWebSocketStack(gatewayClockOffset: 1200)
        try await stack.start()
        var events = stack.gateway.events
        #expect(stack.gateway.refused.count == 1, "\(events)")
        #expect(stack.gateway.refused.first?.status == 403)
        #expect(stack.gateway.refused.first?.reason?.hasPrefix("signed ") == true, "\(events)")
        #expect(stack.gateway.accepted.count == 1, "\(events)")

        // Later attempts are signed with the corrected time from the start: no second refusal.
        try stack.gateway.drop()
        events = try await stack.gateway.waitForEvents("a second accepted upgrade") {
            $0.filter { $0.kind == "accepted" }.count >= 2
        }
        #expect(events.filter { $0.kind == "refused" }.count == 1, "\(events)")
        _ = try await stack.waitForStatus("reconnected") { $0.connection == "connected" }
        let created = try stack.create(CloudHarness.id(1))
        #expect(created.status == 0, "\(created)")

        let warnings = stack.agent.log().split(separator: "\n").filter { $0.contains("clock skew") }
        #expect(warnings.count == 1, "\(stack.agent.log())")
        #expect(warnings.first?.contains("warning") == true, "\(warnings)")
        // "is 20 min 0 s behind" give or take the Date header's one-second resolution.
        let offset = warnings.first.flatMap { line in
            line.split(separator: " ").first { $0.hasPrefix("offsetSeconds=") }.flatMap { Int($0.dropFirst(14)) }
        }
        #expect((1198...1202).contains(offset ?? 0), "\(warnings)")
        #expect(warnings.first?.contains("behind the broker's") == true, "\(warnings)")
    }
}
